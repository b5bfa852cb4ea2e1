// Groups import records into transactions: at most `maxKeys` keys and about `maxBytes` of
// request body each, so every batch passes the server's limits and commits atomically.
// Records that already expired are skipped (and counted); a key repeated within one batch keeps
// its last record, which is what writing the records one by one would leave.

import { isUtf8 } from 'node:buffer';
import type { TxnOperation } from '../../client/index.js';
import type { KvRecord } from '../formats/index.js';

export interface BatchLimits {
  /**
   * Most keys per transaction (the server's --max-batch, 1000 by default). Read at every record:
   * the import lowers it when the server refuses a batch as too large (import.ts).
   */
  readonly maxKeys: number;
  /** Most bytes of JSON request body per transaction (the server allows 2 MiB by default). */
  readonly maxBytes: number;
  /** Records expiring at or before this time (ms) are skipped. */
  readonly now: number;
}

export const DEFAULT_BATCH_LIMITS = { maxKeys: 1000, maxBytes: 1536 * 1024 } as const;

export interface ImportCounts {
  skippedExpired: number;
}

interface Planned {
  readonly operation: TxnOperation;
  readonly bytes: number;
}

/** The put for a record, its value as text when that is shorter in JSON than base64. */
export function plan(record: KvRecord): Planned {
  const base64Bytes = Math.ceil(record.value.length / 3) * 4 + 2;
  let value: string | Buffer = record.value;
  let valueBytes = base64Bytes;
  if (isUtf8(record.value)) {
    const text = record.value.toString('utf8');
    const textBytes = Buffer.byteLength(JSON.stringify(text));
    if (textBytes <= base64Bytes) {
      value = text;
      valueBytes = textBytes;
    }
  }
  const operation: TxnOperation = {
    op: 'put',
    key: record.key,
    value,
    contentType: record.contentType,
    expires: record.expires === null ? undefined : new Date(record.expires),
  };
  // Field names, quotes, the encoding and expiry take well under 128 bytes per operation.
  const bytes =
    128 +
    Buffer.byteLength(JSON.stringify(record.key)) +
    valueBytes +
    (record.contentType === null ? 0 : Buffer.byteLength(JSON.stringify(record.contentType)));
  return { operation, bytes };
}

export async function* importBatches(
  records: AsyncIterable<KvRecord>,
  limits: BatchLimits,
  counts: ImportCounts,
): AsyncGenerator<TxnOperation[], void, undefined> {
  let batch: Planned[] = [];
  let positions = new Map<string, number>();
  let bytes = 0;
  for await (const record of records) {
    if (record.expires !== null && record.expires <= limits.now) {
      counts.skippedExpired++;
      continue;
    }
    const planned = plan(record);
    const earlier = positions.get(record.key);
    if (earlier !== undefined) {
      bytes += planned.bytes - batch[earlier]!.bytes;
      batch[earlier] = planned;
      continue;
    }
    if (batch.length > 0 && (batch.length >= limits.maxKeys || bytes + planned.bytes > limits.maxBytes)) {
      yield batch.map((item) => item.operation);
      batch = [];
      positions = new Map();
      bytes = 0;
    }
    positions.set(record.key, batch.length);
    batch.push(planned);
    bytes += planned.bytes;
  }
  if (batch.length > 0) yield batch.map((item) => item.operation);
}
