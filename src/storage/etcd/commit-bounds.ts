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

/** Bytes a history entry adds to a request besides its value and key names: its header, name and order key's part. */
const HISTORY_ENTRY_OVERHEAD = 256;
/** Room for the request's own framing, the commit record key and the response header. */
export const REQUEST_OVERHEAD = 1024;
const PER_OPERATION = 32;
/** An audit entry's bytes besides its keys: origin, time, framing. */
const AUDIT_OVERHEAD = 512;

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

/** Bytes of a commit before its keys: the request's framing and the audit entry's own. */
export const COMMIT_BASE_BYTES = REQUEST_OVERHEAD + AUDIT_OVERHEAD;

/** Bytes one key the commit touches adds: its compare and its read (plus its name in the audit entry, counted apart). */
export function touchedKeyBytes(prefixBytes: number, keyBytes: number): number {
  return 2 * (prefixBytes + keyBytes + PER_OPERATION);
}

/** Bytes one planned write adds: its key and value, and the operation's own framing. */
export function writeOpBytes(keyBytes: number, valueBytes: number): number {
  return keyBytes + valueBytes + PER_OPERATION;
}

/** Bytes one put adds: the key with its envelope, and with history its entry (the value again). */
export function putBytes(
  prefixBytes: number,
  keyBytes: number,
  valueBytes: number,
  contentTypeBytes: number,
  withHistory: boolean,
): number {
  const entry = withHistory ? valueBytes + 3 * (prefixBytes + keyBytes) + HISTORY_ENTRY_OVERHEAD : 0;
  return prefixBytes + keyBytes + envelopeBytes(valueBytes, contentTypeBytes) + PER_OPERATION + entry;
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
 * the largest value one put can carry with the longest key and content type the server accepts.
 * maxValueBytes is 0 or less when not even an empty value fits.
 */
export function etcdWriteBounds(setup: EtcdWriteSetup): EtcdWriteBounds {
  const limits = setup.limits ?? DEFAULT_ETCD_LIMITS;
  const prefixBytes = Buffer.byteLength(setup.prefix, 'utf8');
  let maxBatch = maxWrittenKeys(limits, setup.withHistory);
  // A request of n keys may touch n keys and write all of them (bounded: at most maxTxnOps steps).
  while (maxBatch > 0 && snapshotOps(maxBatch, maxBatch, setup.withHistory) > limits.maxTxnOps) maxBatch--;
  const copies = setup.withHistory ? 2 : 1;
  const emptyPut =
    COMMIT_BASE_BYTES +
    setup.maxKeyBytes +
    touchedKeyBytes(prefixBytes, setup.maxKeyBytes) +
    putBytes(prefixBytes, setup.maxKeyBytes, 0, setup.maxContentTypeBytes, setup.withHistory);
  return { maxBatch, maxValueBytes: Math.floor((limits.maxRequestBytes - emptyPut) / copies) };
}
