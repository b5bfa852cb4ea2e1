// An engine that keeps everything in process memory: for unit tests and `--store memory`.
// Same semantics as lmdb (shared txn-plan), no durability.

import type { ChangeEvent } from '../../model/events.js';
import type { CommitResult, Txn } from '../../model/txn.js';
import type { Entry, EntryInfo } from '../../model/entry.js';
import { isExpired } from '../../model/entry.js';
import { type AuditEntry, auditEntryOf } from '../../model/audit.js';
import { decodeAuditEntry, encodeAuditEntry } from '../audit-codec.js';
import { auditOverBounds, auditPageOf } from '../audit-trail.js';
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
import { compareKeys } from '../../model/key-order.js';
import { RecencyList } from '../recency-list.js';
import { MemorySystemStore } from '../memory-system-store.js';
import { type ExpiryEntry, ExpiryQueue } from './expiry-queue.js';
import { planCommit, recordInfo, type StoredRecord } from '../txn-plan.js';
import { indexedFolders, isIndexedFolder, storedKeyDelta } from '../folder-index.js';
import type {
  DeletedKey,
  DeletedKeysPage,
  DeletedKeysQuery,
  KeyHistoryPage,
  KeyHistoryQuery,
  KeyVersion,
} from '../../model/history.js';
import { decodeHistoryEntry } from '../history-codec.js';
import {
  DEFAULT_HISTORY_RETENTION,
  HISTORY_DROP_MAX,
  type HistoryRetention,
  type HistoryWrite,
  historyPageLimit,
  deletedKeyOf,
  deletedPageLimit,
  historyWritesOf,
  KeptWindow,
  keyOverBounds,
} from '../key-history.js';

/** One key's history: its entries in revision order from `head` on (dropped ones are before it). */
interface KeyEntries {
  entries: { readonly revision: number; readonly bytes: Buffer }[];
  head: number;
  bytes: number;
}

export interface MemoryEngineOptions {
  /** How many revisions the change log keeps. */
  readonly logLength: number;
  /** Values up to this size are kept in change events. */
  readonly logValueMax: number;
  /** How much audit trail to keep (DEFAULT_AUDIT_RETENTION when unset). */
  readonly auditRetention?: AuditRetention;
  /** How much per-key history to keep (DEFAULT_HISTORY_RETENTION when unset). */
  readonly historyRetention?: HistoryRetention;
}

export class MemoryEngine implements Engine {
  readonly kind = 'memory';
  readonly expiresNatively = false;
  readonly system = new MemorySystemStore();
  private readonly records = new Map<string, StoredRecord>();
  private sortedKeys: string[] = [];
  /** Keys by last write, for recentlyModified(); one transaction's keys in operation order. */
  private readonly recency = new RecencyList();
  /** Keys by expiry, for expired() (expiry-queue.ts); may hold stale entries. */
  private readonly expiries = new ExpiryQueue();
  private currentRevision = 0;
  private readonly log: { revision: number; events: readonly ChangeEvent[] }[] = [];
  private oldest = 1;
  /** Keys stored under each folder (folder-index.ts); folders with none are left out. */
  private readonly folderSizes = new Map<string, number>();
  private readonly listeners = new Set<ChangeListener>();
  /**
   * The audit trail in revision order from index auditHead on (dropped entries are before it),
   * each kept encoded (audit-codec.ts): a few times smaller than the decoded objects.
   */
  private audits: { revision: number; time: number; bytes: Buffer }[] = [];
  private auditHead = 0;
  /** Bytes of the kept entries, counted as lmdb stores them (audit-codec.ts). */
  private auditBytes = 0;
  private readonly retention: AuditRetention;
  /** Per-key history (docs/history.md), each entry kept encoded (history-codec.ts). */
  private readonly keyEntries = new Map<string, KeyEntries>();
  /** Every kept history entry in revision order from historyHead on, for the store-wide bound. */
  private historyOrder: { readonly revision: number; readonly key: string }[] = [];
  private historyHead = 0;
  private historyBytes = 0;
  private readonly historyRetention: HistoryRetention;
  /** Keys whose newest kept entry is a delete or an expiry, in key order (deletedKeys). */
  private deletedSorted: string[] = [];

  constructor(private readonly options: MemoryEngineOptions) {
    this.retention = options.auditRetention ?? DEFAULT_AUDIT_RETENTION;
    this.historyRetention = options.historyRetention ?? DEFAULT_HISTORY_RETENTION;
  }

  private entry(key: string, now: number): Entry | undefined {
    const record = this.records.get(key);
    if (record === undefined || isExpired(record, now)) return undefined;
    return { key, ...record };
  }

  async get(key: string, now: number): Promise<Entry | undefined> {
    return this.entry(key, now);
  }

  getSync(key: string, now: number): Entry | undefined {
    return this.entry(key, now);
  }

  async getMany(keys: readonly string[], now: number): Promise<(Entry | undefined)[]> {
    return keys.map((key) => this.entry(key, now));
  }

  /** Live records of one page, passing over at most listSkipBound expired ones (engine.ts). */
  private scan(
    options: ListOptions,
    now: number,
  ): { found: [string, StoredRecord][]; resumeAfter: string | undefined } {
    const start =
      options.after !== undefined && compareKeys(options.after, options.prefix) >= 0 ? options.after : options.prefix;
    const low = this.sortedIndex(start);
    const found: [string, StoredRecord][] = [];
    const skipBound = listSkipBound(options);
    let skipped = 0;
    let last: string | undefined;
    for (let index = low; index < this.sortedKeys.length && found.length < options.limit; index++) {
      const key = this.sortedKeys[index]!;
      if (!key.startsWith(options.prefix)) break;
      if (options.after !== undefined && compareKeys(key, options.after) <= 0) continue;
      if (skipped >= skipBound) return { found, resumeAfter: last };
      last = key;
      const record = this.records.get(key)!;
      if (isExpired(record, now)) {
        skipped++;
        continue;
      }
      found.push([key, record]);
    }
    return { found, resumeAfter: undefined };
  }

  async list(options: ListOptions, now: number): Promise<ListPage<EntryInfo>> {
    const { found, resumeAfter } = this.scan(options, now);
    return { items: found.map(([key, record]) => recordInfo(key, record)), resumeAfter };
  }

  async listEntries(options: ListOptions, now: number): Promise<ListPage<Entry>> {
    const { found, resumeAfter } = this.scan(options, now);
    return { items: found.map(([key, record]) => ({ key, ...record })), resumeAfter };
  }

  async count(): Promise<number> {
    return this.records.size;
  }

  async greatestKey(): Promise<string | undefined> {
    return this.sortedKeys.at(-1);
  }

  async folderCounts(folders: readonly string[]): Promise<(number | undefined)[]> {
    return folders.map((folder) => (isIndexedFolder(folder) ? (this.folderSizes.get(folder) ?? 0) : undefined));
  }

  private countFolders(key: string, delta: number): void {
    if (delta === 0) return;
    for (const folder of indexedFolders(key)) {
      const size = (this.folderSizes.get(folder) ?? 0) + delta;
      if (size === 0) this.folderSizes.delete(folder);
      else this.folderSizes.set(folder, size);
    }
  }

  async recentlyModified(limit: number, now: number): Promise<EntryInfo[]> {
    const result: EntryInfo[] = [];
    // Expired keys not yet swept are passed over, at most LIST_SKIP_MAX of them per call (as the
    // lmdb engine's recent index): the index page costs its page, not the store (docs/limits.md).
    let skipped = 0;
    for (const key of this.recency.newestFirst()) {
      if (result.length >= limit || skipped >= LIST_SKIP_MAX) break;
      const record = this.records.get(key)!;
      if (isExpired(record, now)) skipped++;
      else result.push(recordInfo(key, record));
    }
    return result;
  }

  async commit(txn: Txn, now: number): Promise<CommitResult> {
    const plan = planCommit(txn, now, this.currentRevision, (key) => this.records.get(key), this.options.logValueMax);
    if (!plan.ok) return plan;
    if (plan.changed) {
      for (const write of plan.writes) {
        this.countFolders(write.key, storedKeyDelta(this.records.has(write.key), write.record !== null));
        if (write.record === null) {
          this.records.delete(write.key);
          this.removeSorted(write.key);
          this.recency.remove(write.key);
        } else {
          if (!this.records.has(write.key)) this.insertSorted(write.key);
          this.records.set(write.key, write.record);
          this.recency.touch(write.key);
          if (write.record.expires !== null) this.expiries.push({ expires: write.record.expires, key: write.key });
        }
      }
      this.currentRevision = plan.revision;
      this.recordAudit(
        auditEntryOf(
          txn.origin,
          plan.revision,
          now,
          plan.events.map((event) => event.key),
        ),
      );
      this.recordHistory(plan.revision, historyWritesOf(plan.writes, plan.events, now));
      this.log.push({ revision: plan.revision, events: plan.events });
      while (this.log.length > this.options.logLength) {
        this.log.shift();
        this.oldest = this.log[0]!.revision;
      }
      for (const listener of this.listeners) listener(plan.events);
    }
    return { ok: true, revision: plan.revision, puts: plan.puts, deleted: plan.deleted };
  }

  /** Appends a commit's entry, then drops at most AUDIT_DROP_MAX of the oldest past the bounds. */
  private recordAudit(entry: AuditEntry): void {
    const bytes = encodeAuditEntry(entry);
    this.audits.push({ revision: entry.revision, time: entry.time, bytes });
    this.auditBytes += bytes.length;
    for (let dropped = 0; dropped < AUDIT_DROP_MAX && this.auditHead < this.audits.length; dropped++) {
      const oldest = this.audits[this.auditHead]!;
      if (!auditOverBounds(this.retention, this.auditBytes, oldest.time, entry.time)) break;
      this.auditBytes -= oldest.bytes.length;
      this.auditHead++;
    }
    // Dropped entries leave the array once they are half of it: amortized over the commits.
    if (this.auditHead > 1024 && this.auditHead * 2 > this.audits.length) {
      this.audits = this.audits.slice(this.auditHead);
      this.auditHead = 0;
    }
  }

  async audit(query: AuditQuery): Promise<AuditPage> {
    // The first kept entry at or after `before` (binary search over revision order).
    let low = this.auditHead;
    let high = this.audits.length;
    if (query.before !== undefined) {
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (this.audits[middle]!.revision < query.before) low = middle + 1;
        else high = middle;
      }
    }
    const examined: AuditEntry[] = [];
    let index = high - 1;
    for (; index >= this.auditHead && examined.length < query.limit; index--) {
      const { revision, bytes } = this.audits[index]!;
      examined.push(decodeAuditEntry(bytes, revision));
    }
    return auditPageOf(query, examined, index >= this.auditHead);
  }

  /**
   * Appends a commit's history entries, then drops at most HISTORY_DROP_MAX of the oldest past
   * the per-key bounds (of the keys it wrote) and the store-wide bound, never its own entries.
   */
  private recordHistory(revision: number, writes: readonly HistoryWrite[]): void {
    if (this.historyRetention.versions === 0) return;
    for (const write of writes) {
      let held = this.keyEntries.get(write.key);
      if (held === undefined) this.keyEntries.set(write.key, (held = { entries: [], head: 0, bytes: 0 }));
      held.entries.push({ revision, bytes: write.bytes });
      held.bytes += write.bytes.length;
      this.markDeleted(write.key, write.type !== 'put');
      this.historyBytes += write.bytes.length;
      this.historyOrder.push({ revision, key: write.key });
    }
    let budget = HISTORY_DROP_MAX;
    for (const write of writes) {
      const held = this.keyEntries.get(write.key)!;
      while (budget > 0 && keyOverBounds(this.historyRetention, held.entries.length - held.head, held.bytes)) {
        if (held.entries[held.head]!.revision >= revision) break;
        this.dropOldestOf(write.key, held);
        budget--;
      }
    }
    while (
      budget > 0 &&
      this.historyBytes > this.historyRetention.storeBytes &&
      this.historyHead < this.historyOrder.length
    ) {
      const oldest = this.historyOrder[this.historyHead]!;
      if (oldest.revision >= revision) break;
      this.historyHead++;
      budget--;
      const held = this.keyEntries.get(oldest.key);
      // Already dropped by its key's own bounds: only the order entry was left.
      if (held === undefined || held.entries[held.head]?.revision !== oldest.revision) continue;
      this.dropOldestOf(oldest.key, held);
    }
    if (this.historyHead > 1024 && this.historyHead * 2 > this.historyOrder.length) {
      this.historyOrder = this.historyOrder.slice(this.historyHead);
      this.historyHead = 0;
    }
  }

  private dropOldestOf(key: string, held: KeyEntries): void {
    const length = held.entries[held.head]!.bytes.length;
    held.head++;
    held.bytes -= length;
    this.historyBytes -= length;
    if (held.head === held.entries.length) {
      this.keyEntries.delete(key);
      this.markDeleted(key, false);
    } else if (held.head > 16 && held.head * 2 > held.entries.length) {
      held.entries = held.entries.slice(held.head);
      held.head = 0;
    }
  }

  /** A key's kept entries, newest first, within the kept window (KeptWindow); stops when `visit` returns false. */
  private walkKeyHistory(key: string, visit: (revision: number, bytes: Buffer) => boolean): void {
    const held = this.keyEntries.get(key);
    if (held === undefined) return;
    const window = new KeptWindow(this.historyRetention);
    for (let index = held.entries.length - 1; index >= held.head; index--) {
      const { revision, bytes } = held.entries[index]!;
      if (!window.admit(bytes.length) || !visit(revision, bytes)) return;
    }
  }

  async keyHistory(key: string, query: KeyHistoryQuery): Promise<KeyHistoryPage> {
    const limit = historyPageLimit(query);
    const versions: KeyVersion[] = [];
    let more = false;
    this.walkKeyHistory(key, (revision, bytes) => {
      if (query.before !== undefined && revision >= query.before) return true;
      if (versions.length >= limit) {
        more = true;
        return false;
      }
      versions.push(decodeHistoryEntry(bytes, key, revision, query.values));
      return true;
    });
    return { versions, next: more ? versions.at(-1)!.revision : undefined };
  }

  async keyVersion(key: string, revision: number): Promise<KeyVersion | undefined> {
    let found: KeyVersion | undefined;
    this.walkKeyHistory(key, (at, bytes) => {
      if (at === revision) found = decodeHistoryEntry(bytes, key, revision, true);
      return at > revision;
    });
    return found;
  }

  /** Keeps deletedSorted in step with a key's newest entry. */
  private markDeleted(key: string, deleted: boolean): void {
    const index = lowerBound(this.deletedSorted, key);
    const present = this.deletedSorted[index] === key;
    if (deleted && !present) this.deletedSorted.splice(index, 0, key);
    else if (!deleted && present) this.deletedSorted.splice(index, 1);
  }

  async deletedKeys(query: DeletedKeysQuery): Promise<DeletedKeysPage> {
    const limit = deletedPageLimit(query.limit);
    const start = query.after !== undefined && compareKeys(query.after, query.prefix) >= 0 ? query.after : query.prefix;
    const keys: DeletedKey[] = [];
    let index = lowerBound(this.deletedSorted, start);
    if (this.deletedSorted[index] === query.after) index++;
    // Every key walked here is deleted: a page walks at most `limit` + 1 keys (DELETED_SCAN_MAX is lmdb's).
    for (; index < this.deletedSorted.length; index++) {
      const key = this.deletedSorted[index]!;
      if (!key.startsWith(query.prefix)) break;
      if (keys.length === limit) return { keys, next: keys.at(-1)!.key };
      const deleted = deletedKeyOf(key, (visit) => this.walkKeyHistory(key, visit));
      if (deleted !== undefined) keys.push(deleted);
    }
    return { keys, next: undefined };
  }

  /** Index of the first key at or after `key` in byte order (binary search). */
  private sortedIndex(key: string): number {
    let low = 0;
    let high = this.sortedKeys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareKeys(this.sortedKeys[middle]!, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private insertSorted(key: string): void {
    this.sortedKeys.splice(this.sortedIndex(key), 0, key);
  }

  private removeSorted(key: string): void {
    const index = this.sortedIndex(key);
    if (this.sortedKeys[index] === key) this.sortedKeys.splice(index, 1);
  }

  async revision(): Promise<number> {
    return this.currentRevision;
  }

  async oldestRevision(): Promise<number> {
    return this.oldest;
  }

  async history(since: number, limit: number): Promise<HistoryPage> {
    if (since < this.oldest - 1) throw new HistoryCompactedError(this.oldest);
    const events: ChangeEvent[] = [];
    // The log is in revision order: binary search for the first entry after `since`, so a page
    // costs its own size, not the log's length.
    let low = 0;
    let high = this.log.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.log[middle]!.revision <= since) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < this.log.length && index - low < limit; index++)
      events.push(...this.log[index]!.events);
    return { events, revision: this.currentRevision };
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async expired(now: number, limit: number): Promise<{ key: string; modRevision: number }[]> {
    const found: { key: string; modRevision: number }[] = [];
    // Entries still valid go back once read: the sweeper may fail to remove them.
    const kept: ExpiryEntry[] = [];
    const seen = new Set<string>();
    for (let top = this.expiries.peek(); top !== undefined && found.length < limit; top = this.expiries.peek()) {
      if (top.expires > now) break;
      this.expiries.pop();
      const record = this.records.get(top.key);
      // Stale (the key was rewritten or deleted since) or a duplicate: dropped for good.
      if (record === undefined || record.expires !== top.expires || seen.has(top.key)) continue;
      seen.add(top.key);
      kept.push(top);
      if (isExpired(record, now)) found.push({ key: top.key, modRevision: record.modRevision });
    }
    for (const entry of kept) this.expiries.push(entry);
    this.compactExpiries();
    return found;
  }

  /** Stale entries of keys rewritten long before their expiry pile up: rebuilt, amortized over the writes. */
  private compactExpiries(): void {
    if (this.expiries.size <= 2 * this.records.size + 1024) return;
    const entries: ExpiryEntry[] = [];
    for (const [key, record] of this.records)
      if (record.expires !== null) entries.push({ expires: record.expires, key });
    this.expiries.reset(entries);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

/** Index of the first of `sorted` (in byte order) at or after `key`. */
function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareKeys(sorted[middle]!, key) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
