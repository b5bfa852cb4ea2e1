// The etcd engine: kvs over an etcd cluster, so that several stateless kvs processes on several
// machines share one store. Everything maps onto etcd's own mechanisms:
//
// - Keys live under a configurable prefix (key-space.ts); one etcd can hold several namespaces.
// - Revisions ARE etcd revisions, and createRevision/modRevision/version come from etcd's key
//   metadata. etcd's revision is cluster-wide: writes outside the prefix (other namespaces,
//   other applications, lease revocations) advance it too, so a namespace's revisions increase
//   but have gaps. revision() is the etcd header revision.
// - Values carry the rest of the kvs metadata in a binary envelope (envelope.ts).
// - A kvs transaction is one etcd transaction with compares on version/mod_revision
//   (etcd-commit.ts); expired keys count as absent.
// - Expiry uses leases (lease-pool.ts): etcd deletes expired keys itself, so the core runs no
//   sweeper. Reads hide a key from its `expires` on; etcd deletes it up to a second or so later
//   (longer for far expiries: lease-pool.ts), and those deletes become `expire` events.
// - Single-key reads asked for at the same time share one etcd call (read-batcher.ts): each etcd
//   call costs kvs far more CPU than it costs etcd.
// - history() and subscribe() are etcd watches from a revision (watch-streams.ts); etcd's
//   compaction is the history limit (HistoryCompactedError carries it). With `logLength` the
//   engine compacts etcd itself to keep that many revisions (etcd compaction is cluster-wide).
// - Every etcd call has a deadline; an etcd without quorum or out of reach gives
//   EngineUnavailableError (503) instead of a hang (etcd-calls.ts).
// - etcd's limits (--max-txn-ops, --max-request-bytes) are checked before sending.
// - The audit trail (docs/audit.md): each commit puts its entry as a bookkeeping key in the same
//   etcd transaction (etcd-commit.ts); its create_revision is the commit's revision. Entries
//   past the age bound are deleted after later commits, at most AUDIT_DROP_MAX at a time, and
//   at most one such clean-up per second per process.
// - Per-key history (docs/history.md): bookkeeping keys written in the commit's own etcd
//   transaction (etcd-history.ts), never etcd's MVCC revisions, so etcd's compaction leaves it.

import { isIndexedFolder } from '../folder-index.js';
import { GRPCOutOfRangeError, type Etcd3, type IKeyValue, type IRangeRequest, type IRangeResponse } from 'etcd3';
import type { EtcdStoreConfig } from '../config.js';
import type { AuditEntry } from '../../model/audit.js';
import type { CommitResult, Txn } from '../../model/txn.js';
import type {
  DeletedKeysPage,
  DeletedKeysQuery,
  KeyHistoryPage,
  KeyHistoryQuery,
  KeyVersion,
} from '../../model/history.js';
import {
  DEFAULT_HISTORY_RETENTION,
  HISTORY_DROP_MAX,
  type HistoryReach,
  type HistoryRetention,
} from '../key-history.js';
import { decodeAuditEntry } from '../audit-codec.js';
import { auditPageOf } from '../audit-trail.js';
import type { Entry, EntryInfo } from '../../model/entry.js';
import { isExpired } from '../../model/entry.js';
import {
  AUDIT_DROP_MAX,
  type AuditPage,
  type AuditQuery,
  type AuditRetention,
  type ChangeListener,
  DEFAULT_AUDIT_RETENTION,
  type Engine,
  type HistoryPage,
  LIST_SKIP_MAX,
  listSkipBound,
  type ListOptions,
  type ListPage,
} from '../engine.js';
import { HistoryCompactedError } from '../errors.js';
import { recordInfo, type StoredRecord } from '../txn-plan.js';
import { recordOf } from './envelope.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdCalls } from './etcd-calls.js';
import { DEFAULT_ETCD_LIMITS, type EtcdLimits } from './commit-bounds.js';
import { commitTxn, type CommitContext, type HistoryOutcome } from './etcd-commit.js';
import { CounterShards, EtcdKeyHistory } from './etcd-history.js';
import { KeySpace } from './key-space.js';
import { EtcdSystemStore } from './etcd-system-store.js';
import { LeasePool } from './lease-pool.js';
import { ReadBatcher } from './read-batcher.js';
import { ChangeFeed, probeCompactRevision, readHistory } from './watch-streams.js';

export interface EtcdEngineOptions {
  /** Values up to this many bytes are carried in change events. */
  readonly logValueMax: number;
  /**
   * Revisions of history to keep: the engine compacts etcd (cluster-wide) to that many behind
   * the current revision. Undefined: the engine never compacts (etcd's own
   * --auto-compaction-* settings, or the operator, must).
   */
  readonly logLength?: number | undefined;
  /** Longest time one engine call spends on etcd before EngineUnavailableError (default 3000). */
  readonly requestTimeoutMs?: number;
  /** Extra lease lifetime past a key's expiry before etcd deletes it (default 1 s). */
  readonly leaseMarginSeconds?: number;
  /** etcd's --max-txn-ops and --max-request-bytes, if the cluster does not use the defaults. */
  readonly maxTxnOps?: number;
  readonly maxRequestBytes?: number;
  readonly log?: (message: string) => void;
  /** How much audit trail to keep (DEFAULT_AUDIT_RETENTION when unset; etcd applies the age bound). */
  readonly auditRetention?: AuditRetention;
  /** How much per-key history to keep (DEFAULT_HISTORY_RETENTION when unset). */
  readonly historyRetention?: HistoryRetention;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 3_000;
/** Audit clean-ups start at most this often (by commit time): one etcd read per second, not per commit. */
const AUDIT_TRIM_INTERVAL_MS = 1000;

export async function openEtcdEngine(store: EtcdStoreConfig, options: EtcdEngineOptions): Promise<Engine> {
  const engine = new EtcdEngine(store, options);
  try {
    await engine.revision();
    await engine.system.open();
    await engine.startHistory();
  } catch (error) {
    await engine.close();
    throw error;
  }
  return engine;
}

export class EtcdEngine implements Engine {
  readonly kind = 'etcd';
  readonly expiresNatively = true;
  readonly system: EtcdSystemStore;
  private readonly client: Etcd3;
  private readonly space: KeySpace;
  private readonly calls: EtcdCalls;
  private readonly feed: ChangeFeed;
  private readonly commits: CommitContext;
  private readonly limits: EtcdLimits;
  /** get() goes through here: concurrent reads share etcd calls (read-batcher.ts). */
  private readonly reads: ReadBatcher;
  private readonly timeoutMs: number;
  private readonly log: (message: string) => void;
  /** Newest revision seen in any etcd response. */
  private known = 0;
  /** Revision this engine last compacted etcd to. */
  private compactedTo = 0;
  private compaction: Promise<void> | undefined;
  /** The clean-up of audit entries past their age, when one is running (trimAudit). */
  private auditTrim: Promise<void> | undefined;
  private auditTrimmedAt = Number.NEGATIVE_INFINITY;
  private readonly keyHistories: EtcdKeyHistory;
  private readonly historyRetention: HistoryRetention;
  /** HistoryReach's `startedAt` as this process found or set it at open (startHistory). */
  private historyStartedAt = 0;
  /** The store-wide history clean-up, when one is running (commit). */
  private historyTrim: Promise<void> | undefined;
  private closed = false;

  constructor(
    store: EtcdStoreConfig,
    private readonly options: EtcdEngineOptions,
  ) {
    this.client = createEtcdClient(store);
    this.space = new KeySpace(store.prefix);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.historyRetention = options.historyRetention ?? DEFAULT_HISTORY_RETENTION;
    this.calls = new EtcdCalls(
      { requestTimeoutMs: this.timeoutMs, attemptTimeoutMs: Math.max(250, Math.floor(this.timeoutMs / 2)) },
      store.endpoints,
    );
    this.limits = {
      maxTxnOps: options.maxTxnOps ?? DEFAULT_ETCD_LIMITS.maxTxnOps,
      maxRequestBytes: options.maxRequestBytes ?? DEFAULT_ETCD_LIMITS.maxRequestBytes,
    };
    this.log = options.log ?? ((message) => process.stderr.write(`kvs: etcd engine: ${message}\n`));
    // Half of etcd's request limit leaves ample room for the transaction's own framing.
    this.reads = new ReadBatcher(
      (keys) => this.readKeys(keys),
      this.limits.maxTxnOps,
      Math.floor(this.limits.maxRequestBytes / 2),
    );
    const leases = new LeasePool(
      {
        grant: async (ttlSeconds, id) => {
          const response = await this.calls.write('a lease grant', (call) =>
            this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id ?? 0 }, call),
          );
          return response.ID;
        },
      },
      store.prefix,
      options.leaseMarginSeconds ?? 1,
    );
    this.commits = {
      space: this.space,
      kv: this.client.kv,
      calls: this.calls,
      leases,
      logValueMax: options.logValueMax,
      limits: this.limits,
      history: this.historyRetention,
      counters: new CounterShards(),
      historyStartedAt: () => this.historyStartedAt,
      observe: (revision) => this.observe(revision),
    };
    this.keyHistories = new EtcdKeyHistory(
      {
        space: this.space,
        range: (request) => this.range(request),
        readRanges: (ranges) => this.readRanges('a history read', ranges),
        write: async (request) => {
          const response = await this.calls.write('a history clean-up', (call) => this.client.kv.txn(request, call));
          this.observe(response.header.revision);
          return response.succeeded;
        },
      },
      this.historyRetention,
    );
    this.system = new EtcdSystemStore(this.client, this.calls, this.space, this.log);
    this.feed = new ChangeFeed({
      watch: this.client.watchClient,
      space: this.space,
      logValueMax: options.logValueMax,
      knownRevision: () => this.known,
      log: this.log,
    });
  }

  private observe(revision: number | string): void {
    const value = Number(revision);
    if (value > this.known) this.known = value;
  }

  private async range(request: IRangeRequest): Promise<IRangeResponse> {
    const response = await this.calls.read('a read', (call) => this.client.kv.range(request, call));
    this.observe(response.header.revision);
    return response;
  }

  private entry(key: string, kv: IKeyValue, now: number): Entry | undefined {
    const record = recordOf(kv);
    return isExpired(record, now) ? undefined : { key, ...record };
  }

  async get(key: string, now: number): Promise<Entry | undefined> {
    const kv = await this.reads.read(this.space.dataKey(key));
    return kv === undefined ? undefined : this.entry(key, kv, now);
  }

  async getMany(keys: readonly string[], now: number): Promise<(Entry | undefined)[]> {
    const distinct = [...new Set(keys)];
    const found = new Map<string, Entry | undefined>();
    // One read per chunk: each chunk is one consistent snapshot.
    for (let start = 0; start < distinct.length; start += this.limits.maxTxnOps) {
      const chunk = distinct.slice(start, start + this.limits.maxTxnOps);
      const kvs = await this.readKeys(chunk.map((key) => this.space.dataKey(key)));
      chunk.forEach((key, index) => {
        const kv = kvs[index];
        found.set(key, kv === undefined ? undefined : this.entry(key, kv, now));
      });
    }
    return keys.map((key) => found.get(key));
  }

  /** etcd keys in one snapshot: a Range for one key, a read-only transaction for several. */
  private async readKeys(keys: readonly Buffer[]): Promise<(IKeyValue | undefined)[]> {
    if (keys.length === 1) return [(await this.range({ key: keys[0]! })).kvs[0]];
    const responses = await this.readRanges(
      'a read',
      keys.map((key) => ({ key })),
    );
    return responses.map((response) => response?.kvs[0]);
  }

  /** Several ranges in one snapshot: one read-only etcd transaction. */
  private async readRanges(what: string, ranges: readonly IRangeRequest[]): Promise<(IRangeResponse | undefined)[]> {
    const request = { success: ranges.map((range) => ({ request_range: range })) };
    const response = await this.calls.read(what, (call) => this.client.kv.txn(request, call));
    this.observe(response.header.revision);
    return ranges.map((_, index) => response.responses[index]?.response_range);
  }

  /**
   * Live records in key order, skipping expired ones without counting them against the limit,
   * but passing over at most listSkipBound of them (engine.ts): then it stops with `resumeAfter`.
   */
  private async scan(
    options: ListOptions,
    now: number,
  ): Promise<{ found: [string, StoredRecord][]; resumeAfter: string | undefined }> {
    const range = this.space.dataRange(options.prefix, options.after);
    const found: [string, StoredRecord][] = [];
    if (range === undefined || options.limit <= 0) return { found, resumeAfter: undefined };
    let start = range.start;
    const skipBound = listSkipBound(options);
    let skipped = 0;
    let last: string | undefined;
    while (found.length < options.limit) {
      // Ask for the page, plus as many keys again as were expired so far (bounded by the skip budget).
      const remaining = options.limit - found.length;
      const limit = remaining + Math.min(skipped, skipBound - skipped);
      const response = await this.range({ key: start, range_end: range.end, limit });
      for (const kv of response.kvs) {
        const key = this.space.keyOf(kv.key);
        if (key === undefined) continue;
        if (found.length >= options.limit) break;
        if (skipped >= skipBound) return { found, resumeAfter: last };
        last = key;
        const record = recordOf(kv);
        if (isExpired(record, now)) skipped++;
        else found.push([key, record]);
      }
      const lastKv = response.kvs[response.kvs.length - 1];
      if (!response.more || lastKv === undefined) break;
      start = Buffer.concat([lastKv.key, Buffer.from([0])]);
    }
    return { found, resumeAfter: undefined };
  }

  async list(options: ListOptions, now: number): Promise<ListPage<EntryInfo>> {
    const { found, resumeAfter } = await this.scan(options, now);
    return { items: found.map(([key, record]) => recordInfo(key, record)), resumeAfter };
  }

  async listEntries(options: ListOptions, now: number): Promise<ListPage<Entry>> {
    const { found, resumeAfter } = await this.scan(options, now);
    return { items: found.map(([key, record]) => ({ key, ...record })), resumeAfter };
  }

  async count(): Promise<number> {
    const range = this.space.allData();
    const response = await this.range({ key: range.start, range_end: range.end, count_only: true });
    return Number(response.count);
  }

  async greatestKey(): Promise<string | undefined> {
    const range = this.space.allData();
    const response = await this.range({
      key: range.start,
      range_end: range.end,
      sort_order: 'Descend',
      sort_target: 'Key',
      limit: 1,
      keys_only: true,
    });
    const kv = response.kvs[0];
    return kv === undefined ? undefined : this.space.keyOf(kv.key);
  }

  /**
   * etcd keeps the index: each folder is one count_only range (etcd counts the range in its
   * in-memory key index and sends no key), all of one answer in one read-only transaction. kvs
   * keeps no count of its own here because several kvs servers may write one etcd.
   */
  async folderCounts(folders: readonly string[]): Promise<(number | undefined)[]> {
    const counts: (number | undefined)[] = folders.map(() => undefined);
    const asked = folders.flatMap((folder, index) => (isIndexedFolder(folder) ? [index] : []));
    for (let start = 0; start < asked.length; start += this.limits.maxTxnOps) {
      const chunk = asked.slice(start, start + this.limits.maxTxnOps);
      const responses = await this.readRanges(
        'a folder count',
        chunk.map((index) => {
          const range = this.space.dataRange(folders[index]!)!;
          return { key: range.start, range_end: range.end, count_only: true };
        }),
      );
      chunk.forEach((index, at) => {
        counts[index] = Number(responses[at]?.count ?? 0);
      });
    }
    return counts;
  }

  async recentlyModified(limit: number, now: number): Promise<EntryInfo[]> {
    if (limit <= 0) return [];
    const range = this.space.allData();
    // etcd sorts the whole range and returns the first `limit` (that sort is etcd's work, not
    // this process's: docs/limits.md); ask for more when expired keys (not yet deleted by their
    // lease) take places, up to LIST_SKIP_MAX of them, as the lmdb engine's recent index does.
    for (let asked = limit; ; asked = Math.min(asked * 2, limit + LIST_SKIP_MAX)) {
      const response = await this.range({
        key: range.start,
        range_end: range.end,
        sort_order: 'Descend',
        sort_target: 'Mod',
        limit: asked,
      });
      const live: EntryInfo[] = [];
      for (const kv of response.kvs) {
        const key = this.space.keyOf(kv.key);
        if (key === undefined) continue;
        const record = recordOf(kv);
        if (!isExpired(record, now)) live.push(recordInfo(key, record));
      }
      if (live.length >= limit || !response.more || asked >= limit + LIST_SKIP_MAX) return live.slice(0, limit);
    }
  }

  async commit(txn: Txn, now: number): Promise<CommitResult> {
    let history: HistoryOutcome | undefined;
    const result = await commitTxn(this.commits, txn, now, (outcome) => {
      history = outcome;
    });
    if (result.ok) this.compactIfDue(result.revision);
    if (result.ok && result.revision > 0) this.trimAudit(now);
    if (result.ok && history !== undefined && history.storeBytes > this.historyRetention.storeBytes)
      await this.trimHistory(HISTORY_DROP_MAX - history.dropped, result.revision);
    return result;
  }

  /**
   * Drops the store's oldest history entries past --history-max-bytes after a commit (at most
   * HISTORY_DROP_MAX with the commit's own drops), one clean-up at a time per process. Awaited by
   * the commit, so the store-wide bound lags by what concurrent commits add; a failed clean-up is
   * logged and the next commit past the bound tries again.
   */
  private async trimHistory(budget: number, revision: number): Promise<void> {
    if (this.historyTrim !== undefined) return this.historyTrim;
    this.historyTrim = this.keyHistories
      .trimStore(budget, revision, this.commits.counters)
      .then(
        () => undefined,
        (error: unknown) =>
          this.log(`history clean-up failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        this.historyTrim = undefined;
      });
    return this.historyTrim;
  }

  keyHistory(key: string, query: KeyHistoryQuery): Promise<KeyHistoryPage> {
    return this.keyHistories.keyHistory(key, query);
  }

  keyVersion(key: string, revision: number): Promise<KeyVersion | undefined> {
    return this.keyHistories.keyVersion(key, revision);
  }

  /**
   * HistoryReach's `startedAt` (etcd-history.ts): the first open with history sets it to the
   * namespace's revision then (only if no server set it: a compare on its creation), an open
   * without history removes it, so the next one starts again after the gap.
   */
  async startHistory(): Promise<void> {
    const key = this.space.historyStartedKey();
    if (this.historyRetention.versions === 0) {
      await this.calls.write('a history start', (call) => this.client.kv.deleteRange({ key }, call));
      return;
    }
    const now = await this.revision();
    const response = await this.calls.write('a history start', (call) =>
      this.client.kv.txn(
        {
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key, value: Buffer.from(String(now + 1), 'latin1') } }],
          failure: [{ request_range: { key } }],
        },
        call,
      ),
    );
    this.observe(response.header.revision);
    // The put's own revision: the namespace then is as it was at `now` (the key is bookkeeping).
    const held = response.succeeded ? undefined : response.responses[0]?.response_range?.kvs[0];
    this.historyStartedAt =
      held === undefined ? Number(response.header.revision) : Number(held.value.toString('latin1'));
  }

  async historyReach(): Promise<HistoryReach | undefined> {
    if (this.historyRetention.versions === 0) return undefined;
    const reach = await this.keyHistories.historyReach();
    return { ...reach, startedAt: Math.max(reach.startedAt, this.historyStartedAt) };
  }

  keyEntryAt(key: string, revision: number): Promise<KeyVersion | undefined> {
    return this.keyHistories.keyEntryAt(key, revision, this.historyStartedAt);
  }

  deletedKeys(query: DeletedKeysQuery): Promise<DeletedKeysPage> {
    return this.keyHistories.deletedKeys(query);
  }

  async audit(query: AuditQuery): Promise<AuditPage> {
    if (query.before !== undefined && query.before <= 1) return { entries: [], before: undefined };
    const range = this.space.auditRange();
    // etcd sorts the range by create_revision itself (its work, like recentlyModified's).
    const response = await this.range({
      key: range.start,
      range_end: range.end,
      sort_order: 'Descend',
      sort_target: 'Create',
      limit: query.limit + 1,
      ...(query.before !== undefined && { max_create_revision: Math.max(1, query.before - 1) }),
    });
    const examined: AuditEntry[] = [];
    for (const kv of response.kvs.slice(0, query.limit))
      examined.push(decodeAuditEntry(kv.value, Number(kv.create_revision)));
    return auditPageOf(query, examined, response.kvs.length > query.limit);
  }

  /**
   * Deletes at most AUDIT_DROP_MAX entries older than the age bound, after a commit, one
   * clean-up at a time: entry keys start with their time (key-space.ts), so they are the first
   * keys of the range. A backlog drains over the commits that follow.
   */
  private trimAudit(now: number): void {
    if (this.auditTrim !== undefined || this.closed || now - this.auditTrimmedAt < AUDIT_TRIM_INTERVAL_MS) return;
    this.auditTrimmedAt = now;
    const maxAgeMs = (this.options.auditRetention ?? DEFAULT_AUDIT_RETENTION).maxAgeMs;
    const range = this.space.auditRange(now - maxAgeMs);
    this.auditTrim = (async () => {
      const old = await this.range({ key: range.start, range_end: range.end, keys_only: true, limit: AUDIT_DROP_MAX });
      if (old.kvs.length === 0) return;
      await this.calls.write('an audit clean-up', (call) =>
        this.client.kv.txn({ success: old.kvs.map((kv) => ({ request_delete_range: { key: kv.key } })) }, call),
      );
    })()
      .catch((error: unknown) =>
        this.log(`audit clean-up failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        this.auditTrim = undefined;
      });
  }

  async revision(): Promise<number> {
    const response = await this.range({ key: this.space.commitKey, count_only: true });
    return Number(response.header.revision);
  }

  async oldestRevision(): Promise<number> {
    await this.compaction;
    return (await this.compactRevisionBefore(1)) + 1;
  }

  /**
   * etcd's compaction point if `revision` is older than it (0 otherwise): a read at a compacted
   * revision is refused, and only a watch reports where the compaction point is.
   */
  private async compactRevisionBefore(revision: number): Promise<number> {
    try {
      await this.range({ key: this.space.commitKey, count_only: true, revision: Math.max(1, revision) });
      return 0;
    } catch (error) {
      if (!(error instanceof GRPCOutOfRangeError) || !error.message.includes('compacted')) throw error;
      return probeCompactRevision(this.client.watchClient, this.space.commitKey, this.timeoutMs);
    }
  }

  async history(since: number, limit: number): Promise<HistoryPage> {
    await this.compaction;
    const head = await this.range({ key: this.space.commitKey, keys_only: true });
    const revision = Number(head.header.revision);
    if (since >= revision) return { events: [], revision };
    const compacted = await this.compactRevisionBefore(since);
    if (compacted > 0) throw new HistoryCompactedError(compacted + 1);
    if (limit <= 0) return { events: [], revision };
    const lastCommit = Number(head.kvs[0]?.mod_revision ?? 0);
    const events = await readHistory({
      watch: this.client.watchClient,
      space: this.space,
      logValueMax: this.options.logValueMax,
      since,
      limit,
      revision,
      lastCommit,
      nothingAfter: (received) => this.nothingBetween(received, revision),
      timeoutMs: this.timeoutMs * 2,
    });
    return { events, revision };
  }

  /**
   * Whether no namespace key changed in (from, to], when no kvs commit did: then only lease
   * revocations could have, and they only delete, so the key count tells.
   */
  private async nothingBetween(from: number, to: number): Promise<boolean> {
    const range = this.space.allData();
    const request = {
      success: [
        { request_range: { key: range.start, range_end: range.end, count_only: true, revision: from } },
        { request_range: { key: range.start, range_end: range.end, count_only: true, revision: to } },
        {
          request_range: {
            key: range.start,
            range_end: range.end,
            revision: to,
            sort_order: 'Descend' as const,
            sort_target: 'Mod' as const,
            limit: 1,
            keys_only: true,
          },
        },
      ],
    };
    try {
      const response = await this.calls.read('a read', (call) => this.client.kv.txn(request, call));
      const [before, after, newest] = response.responses.map((item) => item.response_range);
      const newestChange = Number(newest?.kvs[0]?.mod_revision ?? 0);
      return before !== undefined && after !== undefined && before.count === after.count && newestChange <= from;
    } catch (error) {
      if (error instanceof GRPCOutOfRangeError) return false;
      throw error;
    }
  }

  subscribe(listener: ChangeListener): () => void {
    return this.feed.subscribe(listener);
  }

  async expired(now: number, limit: number): Promise<{ key: string; modRevision: number }[]> {
    const found: { key: string; modRevision: number; expires: number }[] = [];
    const range = this.space.allData();
    let start = range.start;
    for (;;) {
      const response = await this.range({ key: start, range_end: range.end, limit: 1000 });
      for (const kv of response.kvs) {
        const key = this.space.keyOf(kv.key);
        if (key === undefined) continue;
        const record = recordOf(kv);
        if (isExpired(record, now)) found.push({ key, modRevision: record.modRevision, expires: record.expires! });
      }
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || last === undefined) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    found.sort((a, b) => a.expires - b.expires || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return found.slice(0, limit).map(({ key, modRevision }) => ({ key, modRevision }));
  }

  /** Keeps `logLength` revisions of history: compacts in steps of a tenth of that. */
  private compactIfDue(revision: number): void {
    const keep = this.options.logLength;
    if (keep === undefined || this.compaction !== undefined || this.closed) return;
    const target = revision - keep;
    if (target - this.compactedTo < Math.max(1, Math.floor(keep / 10))) return;
    this.compaction = this.calls
      .write('a compaction', (call) => this.client.kv.compact({ revision: target }, call))
      .then(
        () => {
          this.compactedTo = target;
        },
        (error: unknown) => {
          // Already compacted further (by another kvs process, or etcd's auto-compaction).
          if (error instanceof GRPCOutOfRangeError) this.compactedTo = target;
          else
            this.log(
              `compaction to revision ${target} failed: ${error instanceof Error ? error.message : String(error)}`,
            );
        },
      )
      .finally(() => {
        this.compaction = undefined;
      });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.feed.close();
    this.system.close();
    await this.compaction;
    await this.auditTrim;
    await this.historyTrim;
    this.client.close();
  }
}
