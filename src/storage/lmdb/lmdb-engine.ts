// The embedded default engine, on lmdb-js.
//
// Writes: each kvs transaction is one lmdb-js `transaction()` callback. lmdb-js runs every
// callback queued in one event turn inside a single LMDB write transaction (group commit), so
// many concurrent requests share one commit and one fsync. The callback reads the store-wide
// revision, checks conditions and applies the writes with reads that see earlier callbacks'
// writes, so transactions are serializable. LMDB's write lock is shared across processes, which
// makes the same code correct for `--workers N`.
//
// Durability: lmdb-js resolves a transaction when it is committed (visible), not when it is
// flushed (overlappingSync). commit() therefore also awaits `flushed` before resolving; the
// strace test in test/faults/ checks that the flush syscall precedes every reply.
//
// Sub-databases: kv (key -> record), meta (revision, oldest log revision), log (revision ->
// events), expiry ([expires, key] -> key index for the sweeper).

import { open, type Database, type RootDatabase } from 'lmdb';
import type { ChangeEvent, CommitResult, Entry, EntryInfo, Txn } from '../../core/model.js';
import { isExpired } from '../../core/model.js';
import type { ChangeListener, Engine, HistoryPage, ListOptions } from '../engine.js';
import { HistoryCompactedError } from '../engine.js';
import { compareKeys } from '../key-order.js';
import { planCommit, recordInfo, type StoredRecord } from '../txn-plan.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import { utf8KeyEncoder } from './utf8-key-encoder.js';

export interface LmdbEngineOptions {
  /** Directory of the store. */
  readonly path: string;
  /** 'strict' acknowledges after fsync; 'relaxed' after commit only. */
  readonly durability: 'strict' | 'relaxed';
  /** How many revisions the change log keeps. */
  readonly logLength: number;
  /** Values up to this size are kept in change events. */
  readonly logValueMax: number;
  /** How often (ms) to look for commits made by other processes, for subscribers. */
  readonly pollInterval?: number;
}

const REVISION = 'revision';
const OLDEST = 'oldest';

export class LmdbEngine implements Engine {
  readonly kind = 'lmdb';
  readonly expiresNatively = false;
  private readonly root: RootDatabase;
  private readonly kv: Database<Buffer, string>;
  private readonly meta: Database<number, string>;
  private readonly log: Database<ChangeEvent[], number>;
  private readonly expiry: Database<string, [number, string]>;
  private readonly listeners = new Set<ChangeListener>();
  private lastPublished: number;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: LmdbEngineOptions) {
    this.root = open({ path: options.path, maxDbs: 8, compression: false });
    // lmdb's typings list keyEncoder for the root database only; openDB reads it too (open.js).
    const kvOptions = { name: 'kv', encoding: 'binary' as const, keyEncoder: utf8KeyEncoder };
    this.kv = this.root.openDB<Buffer, string>(kvOptions);
    this.meta = this.root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' });
    this.log = this.root.openDB<ChangeEvent[], number>({ name: 'log', encoding: 'msgpack' });
    this.expiry = this.root.openDB<string, [number, string]>({ name: 'expiry', encoding: 'msgpack' });
    this.lastPublished = this.readRevision();
  }

  private readRevision(): number {
    return this.meta.get(REVISION) ?? 0;
  }

  private readRecord(key: string): StoredRecord | undefined {
    const buffer = this.kv.getBinary(key);
    return buffer === undefined ? undefined : decodeRecord(buffer);
  }

  async get(key: string, now: number): Promise<Entry | undefined> {
    return this.getSync(key, now);
  }

  /** Synchronous read for the HTTP hot path (lmdb reads are memory-mapped, no I/O wait). */
  getSync(key: string, now: number): Entry | undefined {
    const record = this.readRecord(key);
    if (record === undefined || isExpired(record, now)) return undefined;
    return { key, ...record };
  }

  async getMany(keys: readonly string[], now: number): Promise<(Entry | undefined)[]> {
    return keys.map((key) => this.getSync(key, now));
  }

  private *scan(options: ListOptions, now: number): Generator<[string, StoredRecord]> {
    // Byte order, not UTF-16 order, decides which bound is higher. No `end`: keys under the prefix
    // are contiguous and the loop stops at the first one outside it (an `end` of prefix + U+10FFFF
    // would cut off keys that continue with U+10FFFF).
    const start = options.after !== undefined && compareKeys(options.after, options.prefix) >= 0 ? options.after : options.prefix;
    const range = this.kv.getRange({ start });
    let produced = 0;
    for (const { key, value } of range) {
      if (produced >= options.limit) break;
      if (!key.startsWith(options.prefix)) break;
      if (options.after !== undefined && key === options.after) continue;
      const record = decodeRecord(value);
      if (isExpired(record, now)) continue;
      produced++;
      yield [key, record];
    }
  }

  async list(options: ListOptions, now: number): Promise<EntryInfo[]> {
    return [...this.scan(options, now)].map(([key, record]) => recordInfo(key, record));
  }

  async listEntries(options: ListOptions, now: number): Promise<Entry[]> {
    return [...this.scan(options, now)].map(([key, record]) => ({ key, ...record, value: Buffer.from(record.value) }));
  }

  async count(): Promise<number> {
    return (this.kv.getStats() as { entryCount: number }).entryCount;
  }

  async recentlyModified(limit: number, now: number): Promise<EntryInfo[]> {
    // Walk the change log backwards: recent revisions name the recently modified keys.
    const seen = new Set<string>();
    const result: EntryInfo[] = [];
    for (const { value: events } of this.log.getRange({ reverse: true })) {
      for (let index = events.length - 1; index >= 0; index--) {
        const key = events[index]!.key;
        if (seen.has(key)) continue;
        seen.add(key);
        const entry = this.getSync(key, now);
        if (entry !== undefined) result.push(recordInfo(key, entry));
        if (result.length >= limit) return result;
      }
    }
    // The log names only keys written within its last logLength revisions (a hot key can fill
    // it). When it was compacted and did not fill the page, the rest are older than anything in
    // it: find them with a scan of the store.
    if ((this.meta.get(OLDEST) ?? 1) > 1) {
      const older: EntryInfo[] = [];
      for (const { key, value } of this.kv.getRange({ start: '' })) {
        if (seen.has(key)) continue;
        const record = decodeRecord(value);
        if (!isExpired(record, now)) older.push(recordInfo(key, record));
      }
      older.sort((a, b) => b.modRevision - a.modRevision);
      result.push(...older.slice(0, limit - result.length));
    }
    return result;
  }

  async commit(txn: Txn, now: number): Promise<CommitResult> {
    const outcome = await this.root.transaction(() => this.applyInWriteTxn(txn, now));
    if (!outcome.ok) return outcome;
    if (outcome.events.length > 0) {
      if (this.options.durability === 'strict') await this.root.flushed;
      this.publishLocal(outcome.revision);
    }
    return { ok: true, revision: outcome.revision, puts: outcome.puts, deleted: outcome.deleted };
  }

  /** Runs inside lmdb's write transaction, on the main thread: must not throw after writing. */
  private applyInWriteTxn(txn: Txn, now: number) {
    const revision = this.readRevision();
    const plan = planCommit(txn, now, revision, (key) => this.readRecord(key), this.options.logValueMax);
    if (!plan.ok || !plan.changed) return plan;
    for (const write of plan.writes) {
      const previousExpires = write.previous?.expires ?? null;
      if (previousExpires !== null) this.expiry.removeSync([previousExpires, write.key]);
      if (write.record === null) {
        this.kv.removeSync(write.key);
      } else {
        this.kv.putSync(write.key, encodeRecord(write.record));
        if (write.record.expires !== null) this.expiry.putSync([write.record.expires, write.key], write.key);
      }
    }
    this.log.putSync(plan.revision, plan.events as ChangeEvent[]);
    this.meta.putSync(REVISION, plan.revision);
    let oldest = this.meta.get(OLDEST) ?? 1;
    while (plan.revision - oldest >= this.options.logLength) {
      this.log.removeSync(oldest);
      oldest++;
    }
    this.meta.putSync(OLDEST, oldest);
    return plan;
  }

  async revision(): Promise<number> {
    return this.readRevision();
  }

  async oldestRevision(): Promise<number> {
    return this.meta.get(OLDEST) ?? 1;
  }

  async history(since: number, limit: number): Promise<HistoryPage> {
    return this.historySync(since, limit);
  }

  private historySync(since: number, limit: number): HistoryPage {
    const revision = this.readRevision();
    const oldest = this.meta.get(OLDEST) ?? 1;
    if (since < oldest - 1) throw new HistoryCompactedError(oldest);
    const events: ChangeEvent[] = [];
    for (const { value } of this.log.getRange({ start: since + 1, limit })) events.push(...value.map(reviveEvent));
    return { events, revision };
  }

  subscribe(listener: ChangeListener): () => void {
    if (this.listeners.size === 0) this.lastPublished = Math.max(this.lastPublished, this.readRevision());
    this.listeners.add(listener);
    this.pollTimer ??= setInterval(() => this.catchUp(), this.options.pollInterval ?? 25).unref();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.pollTimer) {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
      }
    };
  }

  private publishLocal(revision: number): void {
    if (revision > this.lastPublished) this.catchUp();
  }

  /** Delivers every logged revision after lastPublished, in order (commits of any process). */
  private catchUp(): void {
    if (this.closed || this.listeners.size === 0) {
      this.lastPublished = Math.max(this.lastPublished, this.closed ? 0 : this.readRevision());
      return;
    }
    for (;;) {
      let page: HistoryPage;
      try {
        page = this.historySync(this.lastPublished, 1000);
      } catch (error) {
        if (!(error instanceof HistoryCompactedError)) throw error;
        // We fell behind the log (extremely slow poll); skip ahead, watchers resync by revision.
        this.lastPublished = error.oldestAvailable - 1;
        continue;
      }
      if (page.events.length === 0) return;
      this.lastPublished = page.events[page.events.length - 1]!.revision;
      for (const listener of this.listeners) listener(page.events);
    }
  }

  async expired(now: number, limit: number): Promise<{ key: string; modRevision: number }[]> {
    const found: { key: string; modRevision: number }[] = [];
    for (const { value: key } of this.expiry.getRange({ end: [now, '\u{10FFFF}'], limit })) {
      const record = this.readRecord(key);
      if (record !== undefined && isExpired(record, now)) found.push({ key, modRevision: record.modRevision });
    }
    return found;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.listeners.clear();
    await this.root.flushed;
    await this.root.close();
  }
}

/** msgpack returns Uint8Array for binary; events carry Buffers. */
function reviveEvent(event: ChangeEvent): ChangeEvent {
  if (event.value !== undefined && event.value !== null && !Buffer.isBuffer(event.value)) {
    const bytes = event.value as Uint8Array;
    return { ...event, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }
  return event;
}
