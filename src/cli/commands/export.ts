// kvs export: every key under a prefix, with values and metadata, as YAML, JSON or NDJSON; with
// --audit, the audit trail instead (docs/audit.md), as NDJSON or JSON.

import { Option, type Command } from 'commander';
import type { WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { KvsClient, ListItem, SnapshotItem } from '../../client/index.js';
import { formatNames, type KvRecord } from '../formats/index.js';
import { yamlFormat } from '../formats/yaml-format.js';
import { CliError, action } from './cli-error.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { chooseFormat } from './input-file.js';
import { writeChunk } from './output.js';
import { auditEntries, auditJson } from './audit.js';
import { Progress } from './progress.js';

interface ExportOptions extends ConnectionOptions {
  readonly format?: string;
  readonly prefix: string;
  readonly output?: string;
  readonly audit?: boolean;
  readonly at?: string;
}

/** The audit trail's format: NDJSON, or one JSON array with --format json or an --output ending in .json. */
function auditFormat(options: ExportOptions): 'ndjson' | 'json' {
  const format = options.format ?? (options.output?.endsWith('.json') ? 'json' : 'ndjson');
  if (format !== 'json' && format !== 'ndjson')
    throw new CliError('usage', `--audit writes ndjson or json, not ${format}; give --format ndjson or json`);
  return format;
}

/** Writes every audit entry, newest first; returns how many. */
async function writeAudit(
  out: NodeJS.WritableStream,
  client: KvsClient,
  format: 'ndjson' | 'json',
  progress: Progress,
): Promise<number> {
  let count = 0;
  if (format === 'json') await writeChunk(out, '[');
  for await (const entry of auditEntries(client, { limit: Number.MAX_SAFE_INTEGER })) {
    const json = JSON.stringify(auditJson(entry));
    await writeChunk(out, format === 'json' ? `${count === 0 ? '\n' : ',\n'}${json}` : `${json}\n`);
    count++;
    progress.update(() => `exporting: ${count} audit entries`);
  }
  if (format === 'json') await writeChunk(out, count === 0 ? ']\n' : '\n]\n');
  return count;
}

const MAX_PAGE_KEYS = 1000;
const MIN_PAGE_KEYS = 10;
/** Bytes of values to aim for per page, so pages of large values stay small responses. */
const PAGE_VALUE_BYTES = 4 * 1024 * 1024;

/** One page of a walk in key order: its items (with their values' sizes) and the next cursor. */
interface SizedPage<T> {
  readonly items: readonly T[];
  readonly next: string | null;
}

/** Every item of a walk, in pages sized from the values seen so far (about PAGE_VALUE_BYTES each). */
async function* pagesSizedByValues<T extends { readonly size: number }>(
  read: (after: string | undefined, limit: number) => Promise<SizedPage<T>>,
): AsyncGenerator<T, void, undefined> {
  let after: string | undefined;
  let limit = MAX_PAGE_KEYS / 10;
  for (;;) {
    const page = await read(after, limit);
    yield* page.items;
    // A page may be empty and still have a cursor: the server passes over a bounded number of
    // expired keys per page (docs/limits.md). A cursor that does not move ends the walk.
    if (page.next === null || page.next === after) return;
    after = page.next;
    if (page.items.length === 0) continue;
    const averageBytes = page.items.reduce((sum, item) => sum + item.size, 0) / page.items.length;
    limit = Math.max(MIN_PAGE_KEYS, Math.min(MAX_PAGE_KEYS, Math.floor(PAGE_VALUE_BYTES / Math.max(averageBytes, 1))));
  }
}

/** Every key with its value. */
function pagesOfValues(client: KvsClient, prefix: string): AsyncGenerator<ListItem, void, undefined> {
  return pagesSizedByValues((after, limit) => client.list({ prefix, after, limit, values: true }));
}

/** Every key as it was at a point in time (docs/history.md, "Point in time"). */
function pagesAt(client: KvsClient, prefix: string, at: string): AsyncGenerator<SnapshotItem, void, undefined> {
  return pagesSizedByValues(async (after, limit) => {
    const page = await client.snapshot({ at, prefix, after, limit, values: true });
    // The first page turns a time into a revision; the next ones ask for that revision, so every
    // page reads the same point.
    at = String(page.at.revision);
    return page;
  });
}

function outputFailure(path: string, error: unknown): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const advice =
    code === 'ENOENT' ? 'create its directory first, or choose another --output' : 'choose another --output';
  return new CliError(
    'output_failed',
    `cannot write ${path}: ${typeof code === 'string' ? code : error instanceof Error ? error.message : String(error)}; ${advice}`,
  );
}

/** The temporary file, opened before anything is read, so a bad --output fails at once. */
async function openOutput(path: string, temporary: string): Promise<WriteStream> {
  try {
    const handle = await open(temporary, 'wx', 0o600);
    const stream = handle.createWriteStream();
    // Write errors surface through writeChunk and finished(); without a listener they would crash.
    stream.on('error', () => {});
    return stream;
  } catch (error) {
    throw outputFailure(path, error);
  }
}

export function registerExport(program: Command): void {
  withConnection(program.command('export'))
    .description('write every key (values, content types, expiries) to stdout or a file')
    .addOption(
      new Option(
        '--format <format>',
        "yaml (default; the seed's format), json or ndjson (default: from the --output name)",
      ).choices(formatNames),
    )
    .option('--prefix <prefix>', 'only keys starting with this prefix', '')
    .option('-o, --output <file>', 'write to this file (replaced only once the export is complete) instead of stdout')
    .option('--audit', 'write the audit trail (who changed what; admin token on every key) instead of the keys')
    .option(
      '--at <revision|time>',
      'write the keys as they were at this revision or ISO 8601 time, from the history kept (docs/history.md)',
    )
    .addHelpText(
      'after',
      [
        '',
        'The export is read page by page while the server keeps serving, so keys written during it',
        'may or may not be included. Versions and revisions are not exported; import assigns new ones.',
        'Examples:',
        '  $ kvs export > backup.yaml',
        '  $ kvs export --format ndjson --prefix users/ --output users.ndjson',
        '  $ kvs export --audit --output audit.ndjson',
        '  $ kvs export --at 2026-11-30T08:00:00Z --output before-the-incident.yaml',
      ].join('\n'),
    )
    .action(
      action(async (options: ExportOptions) => {
        const audit = options.audit === true ? auditFormat(options) : undefined;
        if (audit !== undefined && options.at !== undefined)
          throw new CliError('usage', '--at exports keys, not the audit trail; give one of --at and --audit');
        const format = chooseFormat(audit === undefined ? options.format : 'ndjson', options.output, yamlFormat);
        const client = clientFor(options);
        const temporary = options.output === undefined ? undefined : `${options.output}.partial-${process.pid}`;
        const out = temporary === undefined ? process.stdout : await openOutput(options.output!, temporary);
        const writer = format.createWriter();
        const progress = new Progress();
        let count = 0;
        try {
          if (audit !== undefined) count = await writeAudit(out, client, audit, progress);
          else await writeChunk(out, writer.begin());
          const items: AsyncIterable<ListItem | SnapshotItem> | [] =
            audit !== undefined
              ? []
              : options.at !== undefined
                ? pagesAt(client, options.prefix, options.at)
                : pagesOfValues(client, options.prefix);
          for await (const item of items) {
            const record: KvRecord = {
              key: item.key,
              value: item.value ?? Buffer.alloc(0),
              contentType: item.contentType,
              expires: item.expires === null ? null : item.expires.getTime(),
            };
            await writeChunk(out, writer.write(record));
            count++;
            progress.update(() => `exporting: ${count} keys`);
          }
          if (audit === undefined) await writeChunk(out, writer.end());
          if (temporary !== undefined && options.output !== undefined) {
            out.end();
            await finished(out);
            await rename(temporary, options.output).catch((error: unknown) => {
              throw outputFailure(options.output!, error);
            });
          }
        } catch (error) {
          progress.clear();
          if (temporary !== undefined) {
            (out as WriteStream).destroy();
            await rm(temporary, { force: true });
          }
          throw error;
        }
        const what = audit !== undefined ? 'audit entries' : 'keys';
        progress.done(
          `exported ${count} ${count === 1 ? what.replace(/ies$/, 'y').replace(/s$/, '') : what}${options.output === undefined ? '' : ` to ${options.output}`}`,
        );
      }),
    );
}
