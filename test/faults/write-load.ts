// Writes for the fault tests: each one a fresh set of distinct keys with unique values, sent over
// one of the three write paths (REST PUT, seed POST form, POST /v1/txn), with its outcome recorded.
//
// Every value starts with a unique token (`val-` + 16 hex digits) so that the store's pages in a
// syscall trace, or the store's contents after a crash, can be matched back to the write.

export type WriteKind = 'put' | 'form' | 'txn';

export interface Pair {
  readonly key: string;
  readonly value: string;
}

/**
 * pending: sent, no answer yet. acked: a 2xx answer arrived. rejected: a non-2xx answer arrived
 * (the server promises nothing was saved). unknown: the connection failed without an answer.
 */
export type WriteStatus = 'pending' | 'acked' | 'rejected' | 'unknown';

export interface WriteRecord {
  readonly id: number;
  readonly round: number;
  readonly client: number;
  readonly kind: WriteKind;
  readonly pairs: readonly Pair[];
  status: WriteStatus;
  httpStatus?: number;
  /** The reply's Kvs-Revision (the revision that committed the write). */
  revision?: number;
  error?: string;
  /** Set when the answer arrived after the server was sent SIGKILL. */
  afterKill?: boolean;
}

export const VALUE_TOKEN = /val-[0-9a-f]{16}/gu;

import { Random } from '../helpers/random.js';

export { Random };

export function seedFromEnv(): number {
  const given = process.env.KVS_FAULT_SEED;
  return given !== undefined && given !== '' ? Number(given) : Math.floor(Math.random() * 2 ** 31);
}

export interface WritePlanner {
  /** The next write of this client, with keys no write has used before. */
  next(client: number, kind?: WriteKind): WriteRecord;
}

/** Plans writes: 60% PUT, 20% seed forms of 2-5 pairs, 20% txns of 2-4 puts. Keys: r<round>/c<client>/<n>-<suffix>. */
export function writePlanner(round: number, random: Random, maxPadding: number): WritePlanner {
  let id = 0;
  const sequence = new Map<number, number>();
  const pair = (client: number): Pair => {
    const n = (sequence.get(client) ?? 0) + 1;
    sequence.set(client, n);
    const key = `r${round}/c${client}/${String(n).padStart(6, '0')}-${random.hex(4)}`;
    const value = `val-${random.hex(16)}.${'abcdefghij'.repeat(Math.ceil(maxPadding / 10)).slice(0, random.int(0, maxPadding))}`;
    return { key, value };
  };
  return {
    next(client, kind) {
      const roll = random.next();
      const chosen: WriteKind = kind ?? (roll < 0.6 ? 'put' : roll < 0.8 ? 'form' : 'txn');
      const count = chosen === 'put' ? 1 : chosen === 'form' ? random.int(2, 5) : random.int(2, 4);
      const pairs = Array.from({ length: count }, () => pair(client));
      return { id: ++id, round, client, kind: chosen, pairs, status: 'pending' };
    },
  };
}

/** Sends one write and records its outcome in `record` (never throws). */
export async function sendWrite(
  baseUrl: string,
  token: string,
  record: WriteRecord,
  isKilled: () => boolean = () => false,
): Promise<void> {
  const authorization = `Bearer ${token}`;
  let request: { path: string; method: string; contentType: string; body: string };
  if (record.kind === 'put') {
    const { key, value } = record.pairs[0]!;
    request = { path: `/v1/kv/${key}`, method: 'PUT', contentType: 'text/plain', body: value };
  } else if (record.kind === 'form') {
    const form = new URLSearchParams(record.pairs.map(({ key, value }): [string, string] => [key, value]));
    request = { path: '/', method: 'POST', contentType: 'application/x-www-form-urlencoded', body: form.toString() };
  } else {
    const document = {
      checks: [{ key: record.pairs[0]!.key, absent: true }],
      operations: record.pairs.map(({ key, value }) => ({ op: 'put', key, value })),
    };
    request = { path: '/v1/txn', method: 'POST', contentType: 'application/json', body: JSON.stringify(document) };
  }
  try {
    const response = await fetch(`${baseUrl}${request.path}`, {
      method: request.method,
      headers: { authorization, 'content-type': request.contentType },
      body: request.body,
      signal: AbortSignal.timeout(60_000),
    });
    // The status line and headers are the acknowledgement; the body is read only to reuse the connection.
    record.httpStatus = response.status;
    record.afterKill = isKilled();
    if (response.ok) {
      record.status = 'acked';
      record.revision = Number(response.headers.get('kvs-revision'));
    } else {
      record.status = 'rejected';
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) record.error = text.slice(0, 300);
  } catch (error) {
    record.status = 'unknown';
    record.error = describeError(error);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
