// kvs diff KEY V1 [V2]: a unified line diff of two kept versions of a key, or of one and the
// current value (GET /v1/kv/{key}?diff; docs/history.md).

import type { Command } from 'commander';
import { action } from './cli-error.js';
import { clientFor, type ConnectionOptions, withConnection } from './connection.js';
import { writeChunk } from './output.js';
import { wholeNumber } from './parse-number.js';

export function registerDiff(program: Command): void {
  withConnection(program.command('diff'))
    .description('a unified diff of version V1 of KEY against version V2 (or the current value)')
    .argument('<key>', 'the key')
    .argument('<v1>', 'the older version number', wholeNumber(1))
    .argument('[v2]', 'the newer version number (default: the current value)', wholeNumber(1))
    .addHelpText(
      'after',
      [
        '',
        'Binary values (not UTF-8) and values over 1 MiB are not diffed: a line says so instead.',
        'Example:',
        '  $ kvs diff config/db 2',
        '  ===================================================================',
        '  --- config/db@2',
        '  +++ config/db@3',
        '  @@ -1,1 +1,1 @@',
        '  -host=old',
        '  +host=new',
      ].join('\n'),
    )
    .action(
      action(async (key: string, from: number, to: number | undefined, options: ConnectionOptions) => {
        const diff = await clientFor(options).diff(key, { from, to });
        await writeChunk(process.stdout, diff.patch ?? `${diff.message ?? 'no diff'}\n`);
      }),
    );
}
