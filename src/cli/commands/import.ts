// kvs import FILE: write every key of an export file, in transactions of at most 1000 keys.

import { Option, type Command } from 'commander';
import { yamlFormat } from '../formats/yaml-format.js';
import { formatNames, FormatError } from '../formats/index.js';
import { CliError, action } from './cli-error.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { DEFAULT_BATCH_LIMITS, importBatches, type ImportCounts } from './import-batches.js';
import { chooseFormat, openInput } from './input-file.js';
import { wholeNumber } from './parse-number.js';
import { Progress } from './progress.js';
import { KvsClientError, type TxnOperation } from '../../client/index.js';

interface ImportOptions extends ConnectionOptions {
  readonly format?: string;
  readonly atomic?: boolean;
  readonly batchSize: number;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * The keys per transaction the server said it takes, when it refused a batch of `size` for having
 * more (`batch_too_large` with its `limit`: a server with a lower --max-batch, e.g. 54 on etcd
 * with per-key history); undefined for any other error.
 */
function serverBatchLimit(error: unknown, size: number): number | undefined {
  if (!(error instanceof KvsClientError) || error.code !== 'batch_too_large') return undefined;
  const { limit } = error.details;
  return typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 1 && limit < size ? limit : undefined;
}

export function registerImport(program: Command): void {
  withConnection(program.command('import'))
    .description('write every key of an export file (YAML, JSON or NDJSON) to the server')
    .argument('<file>', "the file ('-' for stdin, read as YAML unless --format says otherwise)")
    .addOption(
      new Option(
        '--format <format>',
        'file format (default: from the file name: .yaml/.yml, .json, .ndjson/.jsonl)',
      ).choices(formatNames),
    )
    .option(
      '--atomic',
      'write everything in one transaction, or refuse before writing anything if the file does not fit in one',
    )
    .addOption(
      new Option('--batch-size <n>', "most keys per transaction (at most the server's --max-batch)")
        .argParser(wholeNumber(1))
        .default(DEFAULT_BATCH_LIMITS.maxKeys),
    )
    .addHelpText(
      'after',
      [
        '',
        'Keys are written in transactions of at most --batch-size keys (and about 1.5 MiB); each',
        'transaction is atomic. A server that takes fewer keys per transaction says so when it',
        'refuses the first batch (nothing of it is written), and the import goes on in batches that',
        'size, saying so once on stderr (not with --atomic). Import is idempotent: every record is',
        'written with its value, content type and expiry, whatever the key held before, so if an',
        'import is interrupted, running the same command again finishes it. Keys whose expiry has',
        'already passed are skipped and counted.',
        'Keys on the server that are not in the file are left alone.',
        '',
        'Examples:',
        '  $ kvs import backup.yaml',
        '  $ kvs import --atomic feature-flags.json',
        '  $ kvs export --format ndjson | ssh other-host kvs import --format ndjson -',
      ].join('\n'),
    )
    .action(
      action(async (file: string, options: ImportOptions) => {
        const format = chooseFormat(
          options.format,
          file === '-' ? undefined : file,
          file === '-' ? yamlFormat : undefined,
        );
        const input = await openInput(file);
        // The audit trail records these writes as via `import` (docs/audit.md).
        const client = clientFor(options, { 'x-kvs-client': 'import' });
        const counts: ImportCounts = { skippedExpired: 0 };
        // Mutable: lowered to the server's own limit when it refuses a batch as too large.
        const limits = { maxKeys: options.batchSize, maxBytes: DEFAULT_BATCH_LIMITS.maxBytes, now: Date.now() };
        const batches = importBatches(format.read(input), limits, counts);
        const progress = new Progress();
        let keys = 0;
        let transactions = 0;
        const summary = () =>
          `imported ${plural(keys, 'key', 'keys')} in ${plural(transactions, 'transaction', 'transactions')}` +
          (counts.skippedExpired > 0
            ? `; skipped ${plural(counts.skippedExpired, 'expired key', 'expired keys')}`
            : '');
        try {
          if (options.atomic) {
            const first = await batches.next();
            const second = await batches.next();
            if (!second.done) {
              throw new CliError(
                'txn_too_large',
                `${file} does not fit in one transaction (more than ${options.batchSize} keys or about ${DEFAULT_BATCH_LIMITS.maxBytes} bytes); nothing was written. Import without --atomic to write it in batches`,
              );
            }
            if (!first.done) {
              await client.txn({ operations: first.value });
              keys += first.value.length;
              transactions++;
            }
          } else {
            const write = async (operations: TxnOperation[]): Promise<void> => {
              try {
                await client.txn({ operations });
              } catch (error) {
                // The refused transaction wrote nothing: it goes again in parts the server takes,
                // and so does the rest of the file.
                const limit = serverBatchLimit(error, operations.length);
                if (limit === undefined) throw error;
                limits.maxKeys = limit;
                progress.clear();
                process.stderr.write(
                  `the server takes at most ${limit} keys per transaction; importing in batches of ${limit}\n`,
                );
                for (let start = 0; start < operations.length; start += limit)
                  await write(operations.slice(start, start + limit));
                return;
              }
              keys += operations.length;
              transactions++;
              progress.update(() => `importing: ${summary().replace(/^imported /, '')}`);
            };
            for await (const operations of batches) await write(operations);
          }
        } catch (error) {
          progress.clear();
          if (transactions > 0 && !(error instanceof CliError)) {
            process.stderr.write(
              `${summary()} before the failure below; run the same import again to finish it (import is idempotent)\n`,
            );
          }
          if (error instanceof FormatError) throw new FormatError(`${file}: ${error.message}`);
          throw error;
        }
        progress.done(summary());
      }),
    );
}
