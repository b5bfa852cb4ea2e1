// kvs restore --to REV|TIME: brings the keys under a prefix back to a point in time as one new
// transaction (POST /v1/restore; docs/history.md, "Point in time"), or with --dry-run lists what
// it would change. The restore is itself a commit: audited (via restore), watched, in history.

import type { Command } from 'commander';
import type { RestoreChange, RestoreResult } from '../../client/index.js';
import { action } from './cli-error.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { printable, writeChunk } from './output.js';

interface RestoreOptions extends ConnectionOptions {
  readonly to: string;
  readonly prefix: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

function changeLine(change: RestoreChange): string {
  const then = change.restoredRevision === null ? 'absent' : `revision ${change.restoredRevision}`;
  const now = change.currentRevision === null ? 'absent' : `revision ${change.currentRevision}`;
  return `${change.action === 'put' ? 'put   ' : 'delete'}  ${printable(change.key)}  (now ${now}, then ${then})\n`;
}

function summary(result: RestoreResult): string {
  const point = `revision ${result.to.revision}${result.to.time === null ? '' : ` (${result.to.time.toISOString()})`}`;
  const count = `${result.changes.length} ${result.changes.length === 1 ? 'key' : 'keys'}`;
  if (result.changes.length === 0) return `nothing to restore: the keys are as they were at ${point}\n`;
  if (result.dryRun) return `would restore ${count} to ${point} (dry run: nothing written)\n`;
  return `restored ${count} to ${point} in revision ${result.revision}\n`;
}

export function registerRestore(program: Command): void {
  withConnection(program.command('restore'))
    .description('bring keys back to their state at a revision or a time, as one new transaction')
    .requiredOption(
      '--to <revision|time>',
      'the point: a revision, or an ISO 8601 time (the newest commit at or before it)',
    )
    .option('--prefix <prefix>', 'only keys starting with this prefix (the token must cover it)', '')
    .option('--dry-run', 'list what would change, write nothing')
    .option('--json', 'the answer as one JSON document instead of text')
    .addHelpText(
      'after',
      [
        '',
        'Every key under the prefix whose state differs from its state then is written back (or',
        "deleted) in one transaction, guarded by each key's current revision: a write meanwhile makes",
        'it fail with txn_check_failed, and nothing is written. The restore is audited (via restore)',
        'and kept in history, so it can be undone with another restore. It reaches as far back as',
        'the history kept (docs/history.md); older points answer history_not_kept naming the oldest.',
        'Examples:',
        '  $ kvs restore --to 2026-11-30T08:00:00Z --prefix config/ --dry-run',
        '  $ kvs restore --to 9412 --prefix config/',
      ].join('\n'),
    )
    .action(
      action(async (options: RestoreOptions) => {
        const result = await clientFor(options).restore({
          to: options.to,
          prefix: options.prefix,
          dryRun: options.dryRun === true,
        });
        if (options.json) {
          await writeChunk(
            process.stdout,
            `${JSON.stringify({ ...result, to: { revision: result.to.revision, time: result.to.time?.toISOString() ?? null } })}\n`,
          );
          return;
        }
        for (const change of result.changes) await writeChunk(process.stdout, changeLine(change));
        await writeChunk(process.stdout, summary(result));
      }),
    );
}
