// kvs audit: who changed what, newest first (GET /v1/audit, admin tokens on every key;
// docs/audit.md). Pages through the trail up to --limit entries.

import type { Command } from 'commander';
import type { AuditRecord, KvsClient } from '../../client/index.js';
import { action } from './cli-error.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { printable, writeChunk } from './output.js';
import { wholeNumber } from './parse-number.js';

interface AuditOptions extends ConnectionOptions {
  readonly key?: string;
  readonly prefix?: string;
  readonly tokenId?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit: number;
  readonly json?: boolean;
}

/** Entries the server gives per answer at most. */
const PAGE_MAX = 1000;
/** Answers one `kvs audit` asks for at most: each examines a bounded part of the trail (docs/limits.md). */
const ANSWERS_MAX = 1000;

/** The trail's entries matching the query, newest first, at most `limit`, page by page. */
export async function* auditEntries(
  client: KvsClient,
  query: Omit<AuditOptions, keyof ConnectionOptions | 'json'>,
): AsyncGenerator<AuditRecord, void, undefined> {
  let before: number | undefined;
  let given = 0;
  for (let answer = 0; answer < ANSWERS_MAX && given < query.limit; answer++) {
    const page = await client.audit({
      key: query.key,
      prefix: query.prefix,
      tokenId: query.tokenId,
      since: query.since,
      until: query.until,
      before,
      limit: Math.min(PAGE_MAX, query.limit - given),
    });
    for (const entry of page.entries) {
      yield entry;
      given++;
    }
    if (page.next === null) return;
    before = page.next;
  }
}

/** One entry as JSON (the shape of GET /v1/audit's entries). */
export function auditJson(entry: AuditRecord): Record<string, unknown> {
  return {
    revision: entry.revision,
    time: entry.time.toISOString(),
    timeMs: entry.time.getTime(),
    tokenId: entry.tokenId,
    label: entry.label,
    via: entry.via,
    address: entry.address,
    keys: entry.keys,
    keyCount: entry.keyCount,
  };
}

function line(entry: AuditRecord): string {
  const who = entry.tokenId === null ? '-' : `${entry.tokenId} (${printable(entry.label ?? '')})`;
  const more = entry.keyCount > entry.keys.length ? ` (+${entry.keyCount - entry.keys.length} more)` : '';
  const keys = entry.keys.map(printable).join(' ');
  return `${entry.revision}  ${entry.time.toISOString()}  ${entry.via.padEnd(6)}  ${who}  ${entry.address ?? '-'}  ${keys}${more}\n`;
}

export function registerAudit(program: Command): void {
  withConnection(program.command('audit'))
    .description('who changed what: the audit trail, newest first (admin token on every key)')
    .option('--key <key>', 'only commits that changed this key')
    .option('--prefix <prefix>', 'only commits that changed a key starting with this prefix')
    .option('--token-id <id>', 'only commits of this token id (tok_… or file:…; never the secret)')
    .option('--since <time>', 'committed at or after: an ISO 8601 time or ms since the epoch')
    .option('--until <time>', 'committed at or before: an ISO 8601 time or ms since the epoch')
    .option('--limit <n>', 'entries to show at most', wholeNumber(1), 100)
    .option('--json', 'one JSON document per line (NDJSON) instead of text')
    .addHelpText(
      'after',
      [
        '',
        'Each line: revision, time, front end (seed, v1, txn, resp, ui, expiry, import, revert), token id and label,',
        'client address, and the keys the commit changed.',
        'Examples:',
        '  $ kvs audit --key config/db',
        '  9412  2026-11-30T07:02:11.201Z  v1      tok_3f9a0c1d2e4b5a6c (deploy bot)  10.0.0.7  config/db',
        '  $ kvs audit --token-id file:5e884898da28 --since 2026-11-30T00:00:00Z --json',
      ].join('\n'),
    )
    .action(
      action(async (options: AuditOptions) => {
        const client = clientFor(options);
        for await (const entry of auditEntries(client, options))
          await writeChunk(process.stdout, options.json ? `${JSON.stringify(auditJson(entry))}\n` : line(entry));
      }),
    );
}
