// A kvs transaction as ONE etcd transaction.
//
// Fast path (no read first): the kvs conditions become etcd compares (version, mod_revision;
// absent = version 0), and every key the transaction touches gets the extra compare
// `lease == 0`. A key without a lease is absent or a plain key that never expires, whose etcd
// version and create_revision are its kvs ones, so etcd's compares decide exactly what kvs
// means and a blind put is right. Deletes also compare `version > 0`, so that a transaction
// whose deletes find nothing does not take a revision. Results come from prev_kv.
//
// Planned path: when the fast path's compares fail (or it does not apply), the same etcd
// transaction's failure branch has already read every touched key. The shared transaction
// semantics (txn-plan.ts) then decide on that snapshot, with expired keys counted as absent,
// and the writes go to etcd with compares that pin every touched key's mod_revision to the
// snapshot, so the decision still holds when etcd applies them; if another writer got there
// first, its failure branch is the next snapshot. A put over a key that has expired but that
// etcd has not deleted yet starts a new incarnation through the envelope's incarnation fields
// (envelope.ts), in the same single etcd transaction.
//
// Each changing transaction also writes the commit record (commit-record.ts) as its first
// operation, and its audit entry (docs/audit.md) as its last: a new bookkeeping key whose
// create_revision is the commit's revision, so the entry exists exactly when the commit does.
//
// With per-key history on (docs/history.md), every commit takes the planned path: its snapshot
// also reads its keys' history state, and the same etcd transaction writes their entries
// (etcd-history.ts), with compares that make a concurrent commit on the same key retry.

import {
  EtcdLeaseInvalidError,
  type ICompare,
  type IKeyValue,
  type IRequestOp,
  type IResponseOp,
  type ITxnRequest,
  type KVClient,
} from 'etcd3';
import { randomBytes } from 'node:crypto';
import { AUDIT_KEYS_MAX, auditEntryOf } from '../../model/audit.js';
import type { ChangeEvent } from '../../model/events.js';
import { encodeAuditEntry } from '../audit-codec.js';
import type { CommitResult, Condition, Operation, Txn } from '../../model/txn.js';
import type { EntryInfo } from '../../model/entry.js';
import { EngineUnavailableError, StoreLimitError } from '../errors.js';
import { type HistoryRetention, historyWritesOf } from '../key-history.js';
import { planCommit, type StoredRecord } from '../txn-plan.js';
import { encodeCommitRecord } from './commit-record.js';
import {
  commitBaseBytes,
  contentTypeBytesOf,
  type EtcdLimits,
  keyBytesOf,
  maxWrittenKeys,
  putBytes,
  REQUEST_OVERHEAD,
  snapshotOps,
  touchedKeyBytes,
  writeOpBytes,
} from './commit-bounds.js';
import { encodeEnvelope, recordOf } from './envelope.js';
import type { EtcdCalls } from './etcd-calls.js';
import {
  type CounterShards,
  type HistorySnapshot,
  historyReads,
  historySnapshotOf,
  planHistory,
} from './etcd-history.js';
import type { KeySpace } from './key-space.js';
import type { LeasePool } from './lease-pool.js';

export interface CommitContext {
  readonly space: KeySpace;
  readonly kv: KVClient;
  readonly calls: EtcdCalls;
  readonly leases: LeasePool;
  readonly logValueMax: number;
  readonly limits: EtcdLimits;
  /** Per-key history's bounds; `versions` 0: no history is written. */
  readonly history: HistoryRetention;
  /** The history byte counters this process's commits write (etcd-history.ts). */
  readonly counters: CounterShards;
  /** HistoryReach's `startedAt` as this process opened the namespace (etcd-history.ts). */
  readonly historyStartedAt: () => number;
  /** Every etcd response header revision passes through here. */
  observe(revision: number): void;
}

/** What a commit that wrote history tells the engine, for the store-wide clean-up. */
export interface HistoryOutcome {
  /** The store's history bytes after the commit, as this process knows them (CounterShards). */
  readonly storeBytes: number;
  /** Entries the commit dropped itself (per-key bounds). */
  readonly dropped: number;
}

interface Snapshot {
  readonly revision: number;
  readonly kvs: ReadonlyMap<string, IKeyValue | undefined>;
  /** With history on: the written keys' history state and the store's byte counters. */
  readonly history?: HistorySnapshot | undefined;
}

/** What a snapshot reads for history: the written keys' entry names, and one byte counter or (undefined) all. */
interface HistoryReads {
  readonly keys: readonly string[];
  readonly counter: number | undefined;
}

/** The keys a transaction's operations name, each once: those whose history it may write. */
function writtenKeys(txn: Txn): string[] {
  return [...new Set(txn.operations.map((operation) => operation.key))];
}

type Attempt =
  | { readonly done: true; readonly result: CommitResult }
  | { readonly done: false; readonly snapshot: Snapshot };

const MAX_ATTEMPTS = 100;

export async function commitTxn(
  context: CommitContext,
  txn: Txn,
  now: number,
  onHistory?: (outcome: HistoryOutcome) => void,
): Promise<CommitResult> {
  const touched = touchedKeys(txn);
  checkSize(context, txn, touched);
  if (context.history.versions === 0) return attempts(context, txn, touched, undefined, 0, now, onHistory);
  return context.counters.with((shard) => attempts(context, txn, touched, writtenKeys(txn), shard, now, onHistory));
}

/** The commit's attempts, each on a new snapshot when the previous one lost a race. */
async function attempts(
  context: CommitContext,
  txn: Txn,
  touched: readonly string[],
  written: readonly string[] | undefined,
  shard: number,
  now: number,
  onHistory: ((outcome: HistoryOutcome) => void) | undefined,
): Promise<CommitResult> {
  const historyReads = (): HistoryReads | undefined =>
    written === undefined ? undefined : { keys: written, counter: context.counters.toRead(shard) };
  let snapshot =
    written === undefined && fastPathApplies(txn, touched, context.limits)
      ? undefined
      : await readSnapshot(context, touched, historyReads());
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const leasesUsed = new Set<string>();
    let outcome: Attempt;
    try {
      outcome =
        snapshot === undefined
          ? await tryFast(context, txn, touched, now, leasesUsed)
          : await tryPlanned(context, txn, touched, historyReads(), shard, snapshot, now, leasesUsed, onHistory);
    } catch (error) {
      // A lease expired or was revoked since it was granted: grant new ones and try again.
      if (error instanceof EtcdLeaseInvalidError && attempt < MAX_ATTEMPTS) {
        context.leases.forget(leasesUsed);
        continue;
      }
      throw error;
    }
    if (outcome.done) return outcome.result;
    snapshot = outcome.snapshot;
    // Under heavy contention on one key, spread the retries out a little.
    if (attempt > 3) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, attempt * 2)));
  }
  throw new EngineUnavailableError(`the transaction lost ${MAX_ATTEMPTS} races for its keys in a row; try again`);
}

/** Condition keys, then operation keys, each once, in first-seen order. */
function touchedKeys(txn: Txn): string[] {
  const keys = new Set<string>();
  for (const condition of txn.conditions) keys.add(condition.key);
  for (const operation of txn.operations) keys.add(operation.key);
  return [...keys];
}

function fastPathApplies(txn: Txn, touched: readonly string[], limits: EtcdLimits): boolean {
  const seen = new Set<string>();
  let deletes = 0;
  for (const operation of txn.operations) {
    if (seen.has(operation.key)) return false;
    seen.add(operation.key);
    // keepExpires with a fallback expiry depends on whether the key exists: needs a read.
    if (operation.type === 'put' && operation.keepExpires && operation.expires !== null) return false;
    if (operation.type === 'delete') deletes++;
  }
  return txn.conditions.length + touched.length + deletes <= limits.maxTxnOps;
}

/** Refuses up front what etcd would refuse, with storage errors the core maps to its own (commit-bounds.ts). */
function checkSize(context: CommitContext, txn: Txn, touched: readonly string[]): void {
  const { maxTxnOps, maxRequestBytes } = context.limits;
  const written = new Set(txn.operations.map((operation) => operation.key)).size;
  const withHistory = context.history.versions > 0;
  const maxWritten = maxWrittenKeys(context.limits, withHistory);
  const ops = snapshotOps(touched.length, written, withHistory);
  if (written > maxWritten || ops > maxTxnOps) {
    throw new StoreLimitError(
      'batch_too_large',
      `etcd allows at most ${maxTxnOps} operations in one transaction (its --max-txn-ops); this one touches ${touched.length} keys and writes ${written}, and kvs writes at most ${maxWritten} keys in one${withHistory ? ' while it keeps per-key history' : ''}.`,
      maxWritten,
      Math.max(written, ops),
    );
  }
  const copies = withHistory ? 2 : 1;
  const prefixBytes = context.space.prefix.length;
  let bytes = commitBaseBytes(withHistory);
  for (const operation of txn.operations.slice(0, AUDIT_KEYS_MAX)) bytes += keyBytesOf(operation.key).json;
  for (const key of touched) bytes += touchedKeyBytes(prefixBytes, keyBytesOf(key));
  for (const operation of txn.operations) {
    if (operation.type !== 'put') continue;
    const one = putBytes(
      prefixBytes,
      keyBytesOf(operation.key),
      operation.value.length,
      contentTypeBytesOf(operation.contentType),
      withHistory,
    );
    if (one + REQUEST_OVERHEAD > maxRequestBytes) {
      throw new StoreLimitError(
        'value_too_large',
        `etcd accepts requests of at most ${maxRequestBytes} bytes (its --max-request-bytes); this value needs ${one} with its key and metadata${withHistory ? ', and as much again for its history entry' : ''}.`,
        // With history the value travels twice: in the key and in its history entry.
        Math.floor((maxRequestBytes - REQUEST_OVERHEAD - (one - copies * operation.value.length)) / copies),
        operation.value.length,
      );
    }
    bytes += one;
  }
  if (bytes > maxRequestBytes) throw txnTooLarge(maxRequestBytes, bytes);
}

function txnTooLarge(maxRequestBytes: number, bytes: number): StoreLimitError {
  return new StoreLimitError(
    'txn_too_large',
    `etcd accepts requests of at most ${maxRequestBytes} bytes (its --max-request-bytes); this transaction needs about ${bytes}.`,
    maxRequestBytes,
    bytes,
  );
}

function nativeCompare(space: KeySpace, condition: Condition): ICompare {
  const key = space.dataKey(condition.key);
  switch (condition.kind) {
    case 'version':
      return { key, target: 'Version', result: 'Equal', version: condition.version };
    case 'modRevision':
      return { key, target: 'Mod', result: 'Equal', mod_revision: condition.modRevision };
    case 'absent':
      return { key, target: 'Version', result: 'Equal', version: 0 };
    case 'exists':
      return { key, target: 'Version', result: 'Greater', version: 0 };
  }
}

function readAll(space: KeySpace, keys: readonly string[]): IRequestOp[] {
  return keys.map((key) => ({ request_range: { key: space.dataKey(key) } }));
}

/** The snapshot's reads: every touched key, then (with history) the written keys' history state. */
function snapshotReads(space: KeySpace, keys: readonly string[], written: HistoryReads | undefined): IRequestOp[] {
  return written === undefined
    ? readAll(space, keys)
    : [...readAll(space, keys), ...historyReads(space, written.keys, written.counter)];
}

function snapshotOf(
  keys: readonly string[],
  written: HistoryReads | undefined,
  responses: readonly IResponseOp[],
  revision: number,
): Snapshot {
  const kvs = new Map<string, IKeyValue | undefined>();
  keys.forEach((key, index) => kvs.set(key, responses[index]?.response_range?.kvs[0]));
  const history =
    written === undefined ? undefined : historySnapshotOf(written.keys, written.counter, responses, keys.length);
  return { revision, kvs, history };
}

async function readSnapshot(
  context: CommitContext,
  keys: readonly string[],
  written: HistoryReads | undefined,
): Promise<Snapshot> {
  const request: ITxnRequest = { success: snapshotReads(context.space, keys, written) };
  const response = await context.calls.read('a read', (options) => context.kv.txn(request, options));
  const revision = Number(response.header.revision);
  context.observe(revision);
  return snapshotOf(keys, written, response.responses, revision);
}

/** The commit's audit entry, as a put of a new bookkeeping key (key-space.ts). */
function auditOp(space: KeySpace, txn: Txn, now: number, changedKeys: readonly string[]): IRequestOp {
  const entry = auditEntryOf(txn.origin, 0, now, changedKeys);
  return { request_put: { key: space.auditKey(now, randomBytes(8)), value: encodeAuditEntry(entry) } };
}

function commitRecordOp(space: KeySpace, events: readonly ChangeEvent[] | undefined): IRequestOp {
  return { request_put: { key: space.commitKey, value: encodeCommitRecord(events) } };
}

async function send(
  context: CommitContext,
  request: ITxnRequest,
  keys: readonly string[],
  written?: HistoryReads | undefined,
): Promise<{ revision: number; succeeded: boolean; responses: IResponseOp[] } | Snapshot> {
  const response = await context.calls.write('a transaction', (options) => context.kv.txn(request, options));
  const revision = Number(response.header.revision);
  context.observe(revision);
  if (!response.succeeded) return snapshotOf(keys, written, response.responses, revision);
  return { revision, succeeded: true, responses: response.responses };
}

async function tryFast(
  context: CommitContext,
  txn: Txn,
  touched: readonly string[],
  now: number,
  leasesUsed: Set<string>,
): Promise<Attempt> {
  const { space } = context;
  const compare: ICompare[] = txn.conditions.map((condition) => nativeCompare(space, condition));
  const deleted = new Set(
    txn.operations.filter((operation) => operation.type === 'delete').map((operation) => operation.key),
  );
  for (const key of touched) {
    const etcdKey = space.dataKey(key);
    compare.push({ key: etcdKey, target: 'Lease', result: 'Equal', lease: 0 });
    if (deleted.has(key)) compare.push({ key: etcdKey, target: 'Version', result: 'Greater', version: 0 });
  }
  // A key that passes `lease == 0` is absent or never expires: expire operations do nothing.
  const writes = txn.operations.filter(
    (operation): operation is Exclude<Operation, { type: 'expire' }> => operation.type !== 'expire',
  );
  const success: IRequestOp[] = writes.length > 0 ? [commitRecordOp(space, undefined)] : [];
  for (const operation of writes) {
    const key = space.dataKey(operation.key);
    if (operation.type === 'delete') {
      success.push({ request_delete_range: { key } });
      continue;
    }
    const lease = operation.expires === null ? '0' : await context.leases.forExpiry(operation.expires, now);
    if (lease !== '0') leasesUsed.add(lease);
    const value = encodeEnvelope({
      updated: now,
      expires: operation.expires,
      contentType: operation.contentType,
      versionOffset: 0,
      createRevision: 0,
      value: operation.value,
    });
    success.push({ request_put: { key, value, lease, prev_kv: true } });
  }
  if (writes.length > 0)
    success.push(
      auditOp(
        space,
        txn,
        now,
        writes.map((operation) => operation.key),
      ),
    );
  const sent = await send(context, { compare, success, failure: readAll(space, touched) }, touched);
  if (!('succeeded' in sent)) return { done: false, snapshot: sent };

  const { revision, responses } = sent;
  const puts: EntryInfo[] = [];
  writes.forEach((operation, index) => {
    if (operation.type !== 'put') return;
    const previous = responses[index + 1]?.response_put?.prev_kv;
    puts.push({
      key: operation.key,
      size: operation.value.length,
      createRevision: previous ? Number(previous.create_revision) : revision,
      modRevision: revision,
      version: previous ? Number(previous.version) + 1 : 1,
      updated: now,
      expires: operation.expires,
      contentType: operation.contentType,
    });
  });
  return { done: true, result: { ok: true, revision, puts, deleted: [...deleted] } };
}

async function tryPlanned(
  context: CommitContext,
  txn: Txn,
  touched: readonly string[],
  written: HistoryReads | undefined,
  shard: number,
  snapshot: Snapshot,
  now: number,
  leasesUsed: Set<string>,
  onHistory: ((outcome: HistoryOutcome) => void) | undefined,
): Promise<Attempt> {
  const { space } = context;
  const records = new Map<string, StoredRecord | undefined>();
  for (const [key, kv] of snapshot.kvs) records.set(key, kv === undefined ? undefined : recordOf(kv));
  const plan = planCommit(txn, now, snapshot.revision, (key) => records.get(key), context.logValueMax);
  if (!plan.ok) return { done: true, result: plan };
  if (!plan.changed) return { done: true, result: { ok: true, revision: snapshot.revision, puts: [], deleted: [] } };

  // planCommit numbers the new revision snapshot.revision + 1; etcd decides the real one.
  const placeholder = plan.revision;
  const compare: ICompare[] = touched.map((key) => ({
    key: space.dataKey(key),
    target: 'Mod',
    result: 'Equal',
    mod_revision: snapshot.kvs.get(key)?.mod_revision ?? 0,
  }));

  const writes: IRequestOp[] = [];
  const native: string[] = [];
  for (const write of plan.writes) {
    const kv = snapshot.kvs.get(write.key);
    const key = space.dataKey(write.key);
    if (write.record === null) {
      if (kv !== undefined) {
        writes.push({ request_delete_range: { key } });
        native.push(eventShape('delete', write.key, 0));
      }
      continue;
    }
    const record = write.record;
    const versionOffset = (kv === undefined ? 1 : Number(kv.version) + 1) - record.version;
    const createRevision =
      record.createRevision === placeholder
        ? kv === undefined
          ? 0
          : -1
        : kv !== undefined && Number(kv.create_revision) === record.createRevision
          ? 0
          : record.createRevision;
    let lease = '0';
    if (record.expires !== null) lease = await context.leases.forExpiry(record.expires, now);
    else if (versionOffset !== 0 || createRevision !== 0) lease = await context.leases.pin();
    if (lease !== '0') leasesUsed.add(lease);
    const value = encodeEnvelope({
      updated: record.updated,
      expires: record.expires,
      contentType: record.contentType,
      versionOffset,
      createRevision,
      value: record.value,
    });
    writes.push({ request_put: { key, value, lease } });
    native.push(eventShape('put', write.key, record.version));
  }
  // etcd's own events say what happened unless the transaction did more than one thing to a key
  // or deleted an expired key (an `expire` event); then the commit record carries the events.
  const planned = plan.events.map((event) => eventShape(event.type, event.key, event.version));
  const recorded =
    planned.length === native.length && planned.every((shape, index) => shape === native[index])
      ? undefined
      : plan.events;
  const recordOp = commitRecordOp(space, recorded);
  const recordBytes = recordOp.request_put!.value!.length;
  const history =
    snapshot.history === undefined
      ? undefined
      : planHistory(
          space,
          context.history,
          historyWritesOf(plan.writes, plan.events, now),
          snapshot.history,
          snapshot.revision,
          shard,
          context.historyStartedAt(),
        );
  if (history !== undefined) {
    compare.push(...history.compare);
    writes.push(...history.success);
  }
  if (recordBytes > 0 || history !== undefined) {
    let bytes = REQUEST_OVERHEAD + recordBytes;
    for (const op of writes)
      bytes += writeOpBytes(
        op.request_put?.key?.length ?? op.request_delete_range?.key?.length ?? 0,
        op.request_put?.value?.length ?? 0,
      );
    for (const key of touched) bytes += touchedKeyBytes(space.prefix.length, keyBytesOf(key));
    if (bytes > context.limits.maxRequestBytes) throw txnTooLarge(context.limits.maxRequestBytes, bytes);
  }

  const sent = await send(
    context,
    {
      compare,
      success: [
        recordOp,
        ...writes,
        auditOp(
          space,
          txn,
          now,
          plan.events.map((event) => event.key),
        ),
      ],
      failure: snapshotReads(space, touched, written),
    },
    touched,
    written,
  );
  if (!('succeeded' in sent)) return { done: false, snapshot: sent };
  const revision = sent.revision;
  if (history !== undefined && snapshot.history !== undefined)
    onHistory?.({ storeBytes: context.counters.changed(snapshot.history, history.delta), dropped: history.dropped });
  const actual = (value: number) => (value === placeholder ? revision : value);
  const puts = plan.puts.map((info) => ({
    ...info,
    createRevision: actual(info.createRevision),
    modRevision: actual(info.modRevision),
  }));
  return { done: true, result: { ok: true, revision, puts, deleted: plan.deleted } };
}

function eventShape(type: string, key: string, version: number): string {
  return `${type} ${version} ${key}`;
}
