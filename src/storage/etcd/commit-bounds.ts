// What one kvs commit may hold on etcd: a commit is one etcd transaction, bounded by etcd's
// --max-txn-ops and --max-request-bytes, and with per-key history it also carries each written
// key's history entry (a copy of its value) and the history bookkeeping (etcd-history.ts).
//
// The engine counts a commit's operations and bytes here before sending it (etcd-commit.ts,
// checkSize), and the server derives its --max-batch and --max-value-bytes on etcd from the same
// counts (etcdWriteBounds; docs/limits.md), so the two cannot drift apart.

import { HISTORY_DROP_MAX } from '../key-history.js';
import { envelopeBytes } from './envelope.js';
import { HISTORY_FIXED_OPS, HISTORY_OPS_PER_KEY } from './etcd-history.js';

export interface EtcdLimits {
  /** etcd's --max-txn-ops (128 by default): compares, success ops and failure ops each. */
  readonly maxTxnOps: number;
  /** etcd's --max-request-bytes (1.5 MiB by default). */
  readonly maxRequestBytes: number;
}

/** etcd's own defaults, which the engine assumes unless told otherwise. */
export const DEFAULT_ETCD_LIMITS: EtcdLimits = { maxTxnOps: 128, maxRequestBytes: 1_572_864 };

/** Room for the request's own framing, the commit record key and the response header. */
export const REQUEST_OVERHEAD = 1024;
const PER_OPERATION = 32;
/** An audit entry's bytes besides its keys: origin, time, framing. */
const AUDIT_OVERHEAD = 512;
/**
 * A commit's history bookkeeping besides its entries: the order key (its name and framing) and
 * the byte counter it writes, compares and reads back on failure.
 */
const HISTORY_COMMIT_BYTES = 256;
/**
 * An entry's bytes besides its key and value, in each place they travel: the rest of its name
 * (the history prefix, the commit id, sizes and type: KeySpace.historyEntryKey), its encoded
 * header without the content type (history-codec.ts), and its line in the order key's listing.
 */
const ENTRY_NAME_EXTRA = 48;
const ENTRY_HEADER_BYTES = 96;
const ORDER_LINE_BYTES = 48;

/**
 * The bytes a key takes where a commit carries it: as is (its etcd key, compares, reads), in
 * history entry names (each 0x00 written twice: key-space.ts, historyKeyPart) and as JSON (the
 * order key's listing and the audit entry: control characters take six bytes there).
 */
export interface KeyBytes {
  readonly raw: number;
  readonly named: number;
  readonly json: number;
}

export function keyBytesOf(key: string): KeyBytes {
  const raw = Buffer.byteLength(key, 'utf8');
  let nul = 0;
  for (let at = key.indexOf('\u0000'); at !== -1; at = key.indexOf('\u0000', at + 1)) nul++;
  return { raw, named: raw + nul, json: Buffer.byteLength(JSON.stringify(key), 'utf8') - 2 };
}

/** The most any key of `maxKeyBytes` can take: all of it 0x00 in names, control characters in JSON. */
export function longestKeyBytes(maxKeyBytes: number): KeyBytes {
  return { raw: maxKeyBytes, named: 2 * maxKeyBytes, json: 6 * maxKeyBytes };
}

/** A content type's bytes as stored, and as JSON in a history entry's header (printable ASCII: `"` and `\` take two). */
export interface ContentTypeBytes {
  readonly raw: number;
  readonly json: number;
}

export function contentTypeBytesOf(contentType: string | null): ContentTypeBytes {
  if (contentType === null) return { raw: 0, json: 4 };
  return {
    raw: Buffer.byteLength(contentType, 'latin1'),
    json: Buffer.byteLength(JSON.stringify(contentType), 'utf8'),
  };
}

export function longestContentTypeBytes(maxContentTypeBytes: number): ContentTypeBytes {
  return { raw: maxContentTypeBytes, json: 2 * maxContentTypeBytes + 2 };
}

/** Keys one commit may write: two etcd operations are kvs's own, and history takes more (docs/limits.md). */
export function maxWrittenKeys(limits: EtcdLimits, withHistory: boolean): number {
  return withHistory ? Math.floor((limits.maxTxnOps - HISTORY_FIXED_OPS) / HISTORY_OPS_PER_KEY) : limits.maxTxnOps - 2;
}

/**
 * The most etcd operations of the commit's snapshot read and of its compares: with history the
 * snapshot also reads each written key's entry names and the store's byte counters, and the
 * compares pin the counter and the entries the commit drops.
 */
export function snapshotOps(touched: number, written: number, withHistory: boolean): number {
  const reads = withHistory ? touched + written + 1 : touched;
  const compares = withHistory ? touched + HISTORY_DROP_MAX + 1 : touched;
  return Math.max(reads, compares);
}

/** Bytes of a commit before its keys: the request's framing, the audit entry's own and with history its bookkeeping. */
export function commitBaseBytes(withHistory: boolean): number {
  return REQUEST_OVERHEAD + AUDIT_OVERHEAD + (withHistory ? HISTORY_COMMIT_BYTES : 0);
}

/** Bytes one key the commit touches adds: its compare and its read (plus its name in the audit entry, counted apart). */
export function touchedKeyBytes(prefixBytes: number, key: KeyBytes): number {
  return 2 * (prefixBytes + key.raw + PER_OPERATION);
}

/** Bytes one planned write adds: its key and value, and the operation's own framing. */
export function writeOpBytes(keyBytes: number, valueBytes: number): number {
  return keyBytes + valueBytes + PER_OPERATION;
}

/**
 * Bytes one put adds: the key with its envelope and, with history, its entry (the value again,
 * under a name that holds the key), the key's line in the order key's listing, the read of its
 * entry names on failure (a range: two names) and the drop of its oldest entry, as at its
 * version bound (a delete and its compare). A commit that drops several entries of a key at
 * once (its bounds were lowered) takes more; etcd refuses it, answered as txn_too_large.
 */
export function putBytes(
  prefixBytes: number,
  key: KeyBytes,
  valueBytes: number,
  contentType: ContentTypeBytes,
  withHistory: boolean,
): number {
  const stored = prefixBytes + key.raw + envelopeBytes(valueBytes, contentType.raw) + PER_OPERATION;
  if (!withHistory) return stored;
  const name = prefixBytes + key.named + ENTRY_NAME_EXTRA;
  const entry = name + ENTRY_HEADER_BYTES + contentType.json + valueBytes + PER_OPERATION;
  const namesRead = 2 * name + PER_OPERATION;
  const drop = 2 * (name + PER_OPERATION);
  return stored + entry + key.json + ORDER_LINE_BYTES + namesRead + drop;
}

/** How a kvs server on etcd is set up, for etcdWriteBounds. */
export interface EtcdWriteSetup {
  /** The namespace's prefix (--etcd-prefix). */
  readonly prefix: string;
  /** Whether commits write per-key history (--history-versions above 0). */
  readonly withHistory: boolean;
  /** The longest key and content type the server accepts, in bytes. */
  readonly maxKeyBytes: number;
  readonly maxContentTypeBytes: number;
  /** etcd's limits; DEFAULT_ETCD_LIMITS when unset. */
  readonly limits?: EtcdLimits;
}

export interface EtcdWriteBounds {
  /** The most keys one request may touch: every commit of that many distinct keys fits in one etcd transaction. */
  readonly maxBatch: number;
  /** The largest value: a commit of one put of it fits, whatever its key and content type. */
  readonly maxValueBytes: number;
}

/**
 * What one commit can hold on this etcd, as the engine counts it (checkSize): the most keys, and
 * the largest value one put can carry with any key and content type the server accepts (the
 * longest, of the characters that take the most room).
 * maxValueBytes is 0 or less when not even an empty value fits.
 */
export function etcdWriteBounds(setup: EtcdWriteSetup): EtcdWriteBounds {
  const limits = setup.limits ?? DEFAULT_ETCD_LIMITS;
  const prefixBytes = Buffer.byteLength(setup.prefix, 'utf8');
  let maxBatch = maxWrittenKeys(limits, setup.withHistory);
  // A request of n keys may touch n keys and write all of them (bounded: at most maxTxnOps steps).
  while (maxBatch > 0 && snapshotOps(maxBatch, maxBatch, setup.withHistory) > limits.maxTxnOps) maxBatch--;
  const copies = setup.withHistory ? 2 : 1;
  const key = longestKeyBytes(setup.maxKeyBytes);
  const emptyPut =
    commitBaseBytes(setup.withHistory) +
    key.json +
    touchedKeyBytes(prefixBytes, key) +
    putBytes(prefixBytes, key, 0, longestContentTypeBytes(setup.maxContentTypeBytes), setup.withHistory);
  return { maxBatch, maxValueBytes: Math.floor((limits.maxRequestBytes - emptyPut) / copies) };
}
