// kvs set KEY [VALUE]: write a value (from stdin when VALUE is omitted).

import { Option, type Command } from 'commander';
import { action } from './cli-error.js';
import { explainConditionFailure } from './condition-failure.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { wholeNumber } from './parse-number.js';

interface SetOptions extends ConnectionOptions {
  readonly ttl?: number;
  readonly keepTtl?: boolean;
  readonly contentType?: string;
  readonly ifVersion?: number;
  readonly ifAbsent?: boolean;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function registerSet(program: Command): void {
  withConnection(program.command('set'))
    .description('write VALUE (or all of stdin, byte for byte, when VALUE is omitted) to KEY')
    .argument('<key>', 'the key')
    .argument('[value]', 'the value; read from stdin when omitted')
    .addOption(
      new Option(
        '--ttl <seconds>',
        'expire the key after this many seconds (without --ttl or --keep-ttl, a write removes any expiry)',
      ).argParser(wholeNumber(1)),
    )
    .addOption(new Option('--keep-ttl', "keep the key's current expiry").conflicts('ttl'))
    .option('--content-type <type>', 'content type stored with the value and served on reads')
    .addOption(
      new Option(
        '--if-version <n>',
        'write only if the key is at this version (0 = absent): compare-and-swap',
      ).argParser(wholeNumber(0)),
    )
    .addOption(new Option('--if-absent', 'write only if the key does not exist').conflicts('ifVersion'))
    .addHelpText(
      'after',
      [
        '',
        "Prints the key's new version and the revision of the write.",
        'Examples:',
        '  $ kvs set config/greeting hello',
        '  $ kvs set --ttl 60 session/abc "$(cat token.txt)"',
        '  $ kvs set --content-type image/png avatars/ann < ann.png',
        '  $ kvs set --if-version 3 counter 42',
      ].join('\n'),
    )
    .action(
      action(async (key: string, value: string | undefined, options: SetOptions) => {
        const body = value ?? (await readStdin());
        const result = await clientFor(options)
          .put(key, body, {
            ttl: options.ttl,
            keepTtl: options.keepTtl,
            contentType: options.contentType,
            ifVersion: options.ifVersion,
            ifAbsent: options.ifAbsent,
          })
          .catch((error: unknown) => {
            throw explainConditionFailure(error, key, { command: 'set', ...options });
          });
        process.stdout.write(`version ${result.version} (revision ${result.modRevision})\n`);
      }),
    );
}
