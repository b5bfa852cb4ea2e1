// kvs revert KEY V: writes a kept version's value back as the key's next version, or restores a
// deleted key (POST /v1/kv/{key}?revert=V; docs/history.md).

import type { Command } from 'commander';
import { action } from './cli-error.js';
import { clientFor, type ConnectionOptions, withConnection } from './connection.js';
import { printable, writeChunk } from './output.js';
import { wholeNumber } from './parse-number.js';

interface RevertOptions extends ConnectionOptions {
  readonly ifMatch?: number;
}

export function registerRevert(program: Command): void {
  withConnection(program.command('revert'))
    .description(
      'write version V of KEY back as its next version (its value and content type, no expiry); restores a deleted key',
    )
    .argument('<key>', 'the key')
    .argument('<version>', 'the version number to bring back (the newest kept entry with it)', wholeNumber(1))
    .option('--if-match <version>', 'revert only if the key is at this version now (0: absent)', wholeNumber(0))
    .addHelpText(
      'after',
      '\nExample:\n  $ kvs revert config/db 2 --if-match 3\n  config/db: version 2 written back as version 4 (revision 9413)',
    )
    .action(
      action(async (key: string, version: number, options: RevertOptions) => {
        const written = await clientFor(options).revert(key, version, { ifMatch: options.ifMatch });
        await writeChunk(
          process.stdout,
          `${printable(key)}: version ${version} written back as version ${written.version} (revision ${written.modRevision})\n`,
        );
      }),
    );
}
