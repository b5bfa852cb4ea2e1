// kvs get KEY: the raw value on stdout.

import type { Command } from 'commander';
import { CliError, action } from './cli-error.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { writeChunk } from './output.js';

export function registerGet(program: Command): void {
  withConnection(program.command('get'))
    .description('print the raw value of KEY on stdout (exit 1 if it does not exist)')
    .argument('<key>', 'the key')
    .addHelpText('after', '\nExample:\n  $ kvs get config/greeting\n  hello')
    .action(
      action(async (key: string, options: ConnectionOptions) => {
        const entry = await clientFor(options).get(key);
        if (entry === undefined) throw new CliError('not_found', `no such key: ${key}`);
        await writeChunk(process.stdout, entry.value);
      }),
    );
}
