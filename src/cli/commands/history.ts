// kvs history KEY and kvs deleted: a key's kept versions, newest first (GET /v1/kv/{key}?history),
// and the deleted keys that can be restored (GET /v1/deleted); docs/history.md. Each pages
// through the server's answers up to --limit.

import { isUtf8 } from 'node:buffer';
import type { Command } from 'commander';
import type { DeletedKeyRecord, KeyVersionRecord, KvsClient } from '../../client/index.js';
import { action } from './cli-error.js';
import { clientFor, type ConnectionOptions, withConnection } from './connection.js';
import { printable, writeChunk } from './output.js';
import { wholeNumber } from './parse-number.js';

interface HistoryOptions extends ConnectionOptions {
  readonly limit: number;
  readonly values?: boolean;
  readonly json?: boolean;
}

interface DeletedOptions extends ConnectionOptions {
  readonly prefix?: string;
  readonly limit: number;
  readonly json?: boolean;
}

/** Entries or keys the server gives per answer at most. */
const PAGE_MAX = 1000;
/** Answers one command asks for at most. */
const ANSWERS_MAX = 1000;

/** A key's entries, newest first, at most `limit`, page by page. */
async function* versionsOf(
  client: KvsClient,
  key: string,
  limit: number,
  values: boolean,
): AsyncGenerator<KeyVersionRecord, void, undefined> {
  let before: number | undefined;
  let given = 0;
  for (let answer = 0; answer < ANSWERS_MAX && given < limit; answer++) {
    const page = await client.history(key, { before, limit: Math.min(PAGE_MAX, limit - given), values });
    for (const version of page.versions) {
      yield version;
      given++;
    }
    if (page.next === null) return;
    before = page.next;
  }
}

/** The deleted keys under `prefix`, in key order, at most `limit`, page by page. */
async function* deletedKeys(
  client: KvsClient,
  prefix: string | undefined,
  limit: number,
): AsyncGenerator<DeletedKeyRecord, void, undefined> {
  let after: string | undefined;
  let given = 0;
  for (let answer = 0; answer < ANSWERS_MAX && given < limit; answer++) {
    const page = await client.deleted({ prefix, after, limit: Math.min(PAGE_MAX, limit - given) });
    for (const deleted of page.keys) {
      yield deleted;
      given++;
    }
    if (page.next === null) return;
    after = page.next;
  }
}

/** One entry as JSON (the shape of GET /v1/kv/{key}?history's entries). */
function versionJson(entry: KeyVersionRecord): Record<string, unknown> {
  return {
    revision: entry.revision,
    version: entry.version,
    type: entry.type,
    time: entry.time.toISOString(),
    size: entry.size,
    contentType: entry.contentType,
    expires: entry.expires === null ? null : entry.expires.toISOString(),
    who:
      entry.who === null
        ? null
        : { token: entry.who.tokenId, label: entry.who.label, via: entry.who.via, address: entry.who.address },
    ...(entry.value !== undefined && { value: entry.value.toString('base64') }),
  };
}

function valueText(value: Buffer): string {
  return isUtf8(value) ? printable(value.toString('utf8')) : `(${value.length} bytes, not UTF-8)`;
}

function versionLine(entry: KeyVersionRecord): string {
  const who =
    entry.who === null
      ? '-'
      : `${entry.who.via} ${entry.who.tokenId === null ? '-' : `${entry.who.tokenId} (${printable(entry.who.label ?? '')})`}`;
  const what = entry.type === 'put' ? `v${entry.version}  ${entry.size} bytes` : entry.type;
  const value = entry.value === undefined ? '' : `  ${valueText(entry.value)}`;
  return `${entry.revision}  ${entry.time.toISOString()}  ${what}  ${who}${value}\n`;
}

function deletedLine(entry: DeletedKeyRecord): string {
  const lastPut =
    entry.lastPut === null
      ? 'no kept version'
      : `last v${entry.lastPut.version} at revision ${entry.lastPut.revision}, ${entry.lastPut.size} bytes`;
  return `${printable(entry.key)}  ${entry.type} at revision ${entry.revision}  ${entry.time.toISOString()}  ${lastPut}\n`;
}

export function registerHistory(program: Command): void {
  withConnection(program.command('history'))
    .description("a key's kept versions, newest first: revision, time, version and size, and who wrote each")
    .argument('<key>', 'the key')
    .option('--limit <n>', 'entries to show at most', wholeNumber(1), 100)
    .option('--values', 'show each version’s value too (UTF-8 text; binary values by their size)')
    .option('--json', 'one JSON document per line (NDJSON) instead of text')
    .addHelpText(
      'after',
      [
        '',
        'Each line: revision, time, vVERSION and size (or delete / expire), front end, token id and label.',
        'Example:',
        '  $ kvs history config/db --limit 2',
        '  9412  2026-11-30T07:02:11.201Z  v3  14 bytes  v1 tok_3f9a0c1d2e4b5a6c (deploy bot)',
        '  9107  2026-11-29T18:40:02.733Z  delete  resp file:5e884898da28 (token#2(write))',
      ].join('\n'),
    )
    .action(
      action(async (key: string, options: HistoryOptions) => {
        const client = clientFor(options);
        for await (const entry of versionsOf(client, key, options.limit, options.values === true))
          await writeChunk(
            process.stdout,
            options.json ? `${JSON.stringify(versionJson(entry))}\n` : versionLine(entry),
          );
      }),
    );

  withConnection(program.command('deleted'))
    .description('deleted keys that can be restored (kvs revert), in key order, with their last kept version')
    .option('--prefix <prefix>', 'only keys starting with this prefix')
    .option('--limit <n>', 'keys to show at most', wholeNumber(1), 100)
    .option('--json', 'one JSON document per line (NDJSON) instead of text')
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  $ kvs deleted --prefix config/',
        '  config/old  delete at revision 9500  2026-11-30T08:00:00.000Z  last v3 at revision 9412, 14 bytes',
      ].join('\n'),
    )
    .action(
      action(async (options: DeletedOptions) => {
        const client = clientFor(options);
        for await (const entry of deletedKeys(client, options.prefix, options.limit)) {
          const json = { ...entry, time: entry.time.toISOString() };
          await writeChunk(process.stdout, options.json ? `${JSON.stringify(json)}\n` : deletedLine(entry));
        }
      }),
    );
}
