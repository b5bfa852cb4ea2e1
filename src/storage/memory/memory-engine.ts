// An engine that keeps everything in process memory: for unit tests and `--store memory`.
// Same semantics as lmdb (shared txn-plan), no durability.

import type { ChangeEvent } from '../../model/events.js';
import type { CommitResult, Txn } from '../../model/txn.js';
import type { Entry, EntryInfo } from '../../model/entry.js';
import { isExpired } from '../../model/entry.js';
import {
  type ChangeListener,
  type Engine,
  type HistoryPage,
  LIST_SKIP_MAX,
  type ListOptions,
  type ListPage,
} from '../engine.js';
import { HistoryCompactedError } from '../errors.js';
import { compareKeys } from '../../model/key-order.js';
import { RecencyList } from '../recency-list.js';
import { planCommit, recordInfo, type StoredRecord } from '../txn-plan.js';

export interface MemoryEngineOptions {
  /** How many revisions the change log keeps. */
  readonly logLength: number;
  /** Values up to this size are kept in change events. */
  readonly logValueMax: number;
}

export class MemoryEngine implements Engine {
  readonly kind = 'memory';
  readonly expiresNatively = false;
  private readonly records = new Map<string, StoredRecord>();
  private sortedKeys: string[] = [];
  /** Keys by last write, for recentlyModified(); one transaction's keys in operation order. */
  private readonly recency = new RecencyList();
  private currentRevision = 0;
  private readonly log: { revision: number; events: readonly ChangeEvent[] }[] = [];
  private oldest = 1;
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly options: MemoryEngineOptions) {}

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

  /** Live records of one page, passing over at most LIST_SKIP_MAX expired ones (engine.ts). */
  private scan(
    options: ListOptions,
    now: number,
  ): { found: [string, StoredRecord][]; resumeAfter: string | undefined } {
    const start =
      options.after !== undefined && compareKeys(options.after, options.prefix) >= 0 ? options.after : options.prefix;
    let low = 0;
    let high = this.sortedKeys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareKeys(this.sortedKeys[middle]!, start) < 0) low = middle + 1;
      else high = middle;
    }
    const found: [string, StoredRecord][] = [];
    let skipped = 0;
    let last: string | undefined;
    for (let index = low; index < this.sortedKeys.length && found.length < options.limit; index++) {
      const key = this.sortedKeys[index]!;
      if (!key.startsWith(options.prefix)) break;
      if (options.after !== undefined && compareKeys(key, options.after) <= 0) continue;
      if (skipped >= LIST_SKIP_MAX) return { found, resumeAfter: last };
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

  async recentlyModified(limit: number, now: number): Promise<EntryInfo[]> {
    const result: EntryInfo[] = [];
    for (const key of this.recency.newestFirst()) {
      if (result.length >= limit) break;
      const record = this.records.get(key)!;
      if (!isExpired(record, now)) result.push(recordInfo(key, record));
    }
    return result;
  }

  async commit(txn: Txn, now: number): Promise<CommitResult> {
    const plan = planCommit(txn, now, this.currentRevision, (key) => this.records.get(key), this.options.logValueMax);
    if (!plan.ok) return plan;
    if (plan.changed) {
      for (const write of plan.writes) {
        if (write.record === null) {
          this.records.delete(write.key);
          this.removeSorted(write.key);
          this.recency.remove(write.key);
        } else {
          if (!this.records.has(write.key)) this.insertSorted(write.key);
          this.records.set(write.key, write.record);
          this.recency.touch(write.key);
        }
      }
      this.currentRevision = plan.revision;
      this.log.push({ revision: plan.revision, events: plan.events });
      while (this.log.length > this.options.logLength) {
        this.log.shift();
        this.oldest = this.log[0]!.revision;
      }
      for (const listener of this.listeners) listener(plan.events);
    }
    return { ok: true, revision: plan.revision, puts: plan.puts, deleted: plan.deleted };
  }

  private insertSorted(key: string): void {
    let low = 0;
    let high = this.sortedKeys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareKeys(this.sortedKeys[middle]!, key) < 0) low = middle + 1;
      else high = middle;
    }
    this.sortedKeys.splice(low, 0, key);
  }

  private removeSorted(key: string): void {
    const index = this.sortedKeys.indexOf(key);
    if (index >= 0) this.sortedKeys.splice(index, 1);
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
    let revisions = 0;
    for (const item of this.log) {
      if (item.revision <= since) continue;
      if (revisions++ >= limit) break;
      events.push(...item.events);
    }
    return { events, revision: this.currentRevision };
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async expired(now: number, limit: number): Promise<{ key: string; modRevision: number }[]> {
    const found: { key: string; modRevision: number; expires: number }[] = [];
    for (const [key, record] of this.records) {
      if (isExpired(record, now)) found.push({ key, modRevision: record.modRevision, expires: record.expires! });
    }
    found.sort((a, b) => a.expires - b.expires);
    return found.slice(0, limit).map(({ key, modRevision }) => ({ key, modRevision }));
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
