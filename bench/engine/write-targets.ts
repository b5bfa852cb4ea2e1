// The three write paths the engine benchmark compares, each doing one durable put per write:
//
// - wal:  LmdbEngine with its write-ahead log (the server's default write path);
// - lmdb: LmdbEngine without it (the previous lmdb-only path, `kvs serve --wal off`);
// - raw:  lmdb-js alone, opened as the engine opens it, issuing the same LMDB writes the engine
//         issues for an overwrite of one key in steady state (record put, old index entry removed,
//         index put, change-log put, oldest log entry removed, oldest-revision put, audit entry
//         put, history entry put, its order entry put, the key's history extent put, the key's
//         oldest history entry and its order entry removed past the per-key bound, revision put)
//         with bytes encoded once up front, and awaiting the batch's commit and then its flush,
//         as the engine does. What lmdb costs before any kvs code runs. (The engine's few writes
//         per transaction rather than per commit, the audit and history extents in meta, are left
//         out; past the default bounds of 64 MiB and 256 MiB, which a run does not reach, the
//         engine would also drop the oldest audit and history entries store-wide.)

import { auditEntryOf, type WriteOrigin } from '../../src/model/audit.js';
import { encodeAuditEntry } from '../../src/storage/audit-codec.js';
import { encodeHistoryEntry } from '../../src/storage/history-codec.js';
import { DEFAULT_HISTORY_RETENTION } from '../../src/storage/key-history.js';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';
import { encodeLogEntry } from '../../src/storage/lmdb/log-codec.js';
import { encodeRecord } from '../../src/storage/lmdb/record-codec.js';
import { utf8KeyEncoder } from '../../src/storage/lmdb/utf8-key-encoder.js';

export const writeModes = ['wal', 'lmdb', 'raw'] as const;
export type WriteMode = (typeof writeModes)[number];

/** The server's default: 100-byte values are copied into change-log events (src/core/config.ts). */
const LOG_VALUE_MAX = 4096;

export interface WalCounts {
  readonly records: number;
  readonly flushes: number;
  /** lmdb transactions that applied acknowledged commits, and how many commits they carried. */
  readonly applyTransactions: number;
  readonly appliedCommits: number;
}

export interface WriteTarget {
  /** Puts `value` under `key`; resolves once the write is durable (acknowledged). */
  write(key: string): Promise<void>;
  /** WAL records and flushes so far; undefined when the mode has no WAL or its counts cannot be read. */
  walCounts(): WalCounts | undefined;
  close(): Promise<void>;
}

export interface TargetOptions {
  readonly directory: string;
  readonly value: Buffer;
  /** Change-log revisions kept (the engine's logLength). */
  readonly logLength: number;
}

/** Who the benchmark's commits come from, as a minted token over HTTP would record (docs/audit.md). */
const BENCH_ORIGIN: WriteOrigin = {
  tokenId: 'tok_0123456789abcdef',
  label: 'bench writer',
  via: 'v1',
  address: '127.0.0.1',
};

export async function openWriteTarget(mode: WriteMode, options: TargetOptions): Promise<WriteTarget> {
  return mode === 'raw' ? new RawLmdbTarget(options) : openEngineTarget(mode === 'wal', options);
}

async function openEngineTarget(withWal: boolean, options: TargetOptions): Promise<WriteTarget> {
  // Laid out as src/storage/open-engine.ts lays out a data directory.
  const engine = await LmdbEngine.open({
    path: join(options.directory, 'kvs.mdb'),
    durability: 'strict',
    logLength: options.logLength,
    logValueMax: LOG_VALUE_MAX,
    ...(withWal && { walDirectory: join(options.directory, 'wal') }),
  });
  return {
    async write(key) {
      const result = await engine.commit(
        {
          conditions: [],
          operations: [{ type: 'put', key, value: options.value, contentType: null, expires: null }],
          origin: BENCH_ORIGIN,
        },
        Date.now(),
      );
      if (!result.ok) throw new Error(`put of ${key} was refused: ${JSON.stringify(result)}`);
    },
    walCounts: () => walCountsOf(engine),
    close: () => engine.close(),
  };
}

/** The engine's group-commit figures (LmdbEngine.writeStats), undefined without the WAL. */
function walCountsOf(engine: LmdbEngine): WalCounts | undefined {
  const stats = engine.writeStats();
  return stats === undefined
    ? undefined
    : {
        records: stats.walRecords,
        flushes: stats.walFlushes,
        applyTransactions: stats.applyTransactions,
        appliedCommits: stats.appliedCommits,
      };
}

class RawLmdbTarget implements WriteTarget {
  private readonly root: RootDatabase;
  private readonly kv: Database<Buffer, string>;
  private readonly meta: Database<number, string>;
  private readonly log: Database<Buffer, number>;
  private readonly recent: Database<[string, number | null], [number, string]>;
  private readonly audit: Database<Buffer, number>;
  private readonly history: Database<Buffer, [string, number]>;
  private readonly historyOrder: Database<number, [number, string]>;
  private readonly historyKeys: Database<[number, number, number, number, string], string>;
  /** Each key's newest revision: the index entry its next write removes (the engine reads it from the record). */
  private readonly modRevisions = new Map<string, number>();
  /** Each key's history revisions, oldest first (the engine reads its extent from historyKeys). */
  private readonly historyRevisions = new Map<string, number[]>();
  private readonly record: Buffer;
  private readonly logEntry: Buffer;
  private readonly auditEntry: Buffer;
  private readonly historyEntry: Buffer;
  private revision = 0;
  private oldest = 1;

  constructor(private readonly options: TargetOptions) {
    this.root = open({
      path: join(options.directory, 'raw.mdb'),
      maxDbs: 12,
      compression: false,
      separateFlushed: true,
    });
    // As the engine: lmdb's typings list keyEncoder for the root database only; openDB reads it too.
    const kvOptions = { name: 'kv', encoding: 'binary' as const, keyEncoder: utf8KeyEncoder };
    this.kv = this.root.openDB<Buffer, string>(kvOptions);
    this.meta = this.root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' });
    this.log = this.root.openDB<Buffer, number>({ name: 'log', encoding: 'binary' });
    this.recent = this.root.openDB<[string, number | null], [number, string]>({ name: 'recent', encoding: 'msgpack' });
    this.audit = this.root.openDB<Buffer, number>({ name: 'audit', encoding: 'binary' });
    this.history = this.root.openDB<Buffer, [string, number]>({ name: 'history', encoding: 'binary' });
    this.historyOrder = this.root.openDB<number, [number, string]>({ name: 'historyOrder', encoding: 'msgpack' });
    const historyKeysOptions = { name: 'historyKeys', encoding: 'msgpack' as const, keyEncoder: utf8KeyEncoder };
    this.historyKeys = this.root.openDB<[number, number, number, number, string], string>(historyKeysOptions);
    // The engine's own encodings of a typical record and change-log entry, made once: same sizes.
    const now = Date.now();
    this.record = encodeRecord(
      {
        value: options.value,
        contentType: null,
        expires: null,
        updated: now,
        modRevision: 2,
        createRevision: 1,
        version: 2,
      },
      'bench-0000',
    );
    this.logEntry = encodeLogEntry(2, [
      {
        type: 'put',
        key: 'bench-0000',
        revision: 2,
        version: 2,
        value: options.value,
        contentType: null,
        expires: null,
      },
    ]);
    this.auditEntry = encodeAuditEntry(auditEntryOf(BENCH_ORIGIN, 2, now, ['bench-0000']));
    this.historyEntry = encodeHistoryEntry({
      type: 'put',
      version: 2,
      time: now,
      contentType: null,
      expires: null,
      value: options.value,
    });
  }

  async write(key: string): Promise<void> {
    // Issued synchronously: lmdb-js puts every write of this event turn into one transaction.
    const revision = ++this.revision;
    const previous = this.modRevisions.get(key);
    this.modRevisions.set(key, revision);
    if (previous !== undefined) void this.recent.remove([previous, key]);
    void this.kv.put(key, this.record);
    void this.recent.put([revision, key], [key, null]);
    void this.log.put(revision, this.logEntry);
    const oldestBefore = this.oldest;
    while (revision - this.oldest >= this.options.logLength) void this.log.remove(this.oldest++);
    if (this.oldest !== oldestBefore) void this.meta.put('oldest', this.oldest);
    void this.audit.put(revision, this.auditEntry);
    this.writeHistory(key, revision);
    // Every write of the batch shares one promise; with separateFlushed it carries the batch's flush.
    const committed = this.meta.put('revision', revision);
    await committed;
    await flushOf(committed);
  }

  /** The key's history entry, its order entry and extent; its oldest entry goes past the per-key bound. */
  private writeHistory(key: string, revision: number): void {
    const length = this.historyEntry.length;
    void this.history.put([key, revision], this.historyEntry);
    void this.historyOrder.put([revision, key], length);
    let revisions = this.historyRevisions.get(key);
    if (revisions === undefined) this.historyRevisions.set(key, (revisions = []));
    revisions.push(revision);
    if (revisions.length > DEFAULT_HISTORY_RETENTION.versions) {
      const oldest = revisions.shift()!;
      void this.history.remove([key, oldest]);
      void this.historyOrder.remove([oldest, key]);
    }
    void this.historyKeys.put(key, [revisions.length, revisions.length * length, revisions[0]!, revision, 'put']);
  }

  walCounts(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    await this.root.flushed;
    await this.root.close();
  }
}

/** The flush of the batch a write joined (lmdb-js with separateFlushed), as the engine takes it. */
function flushOf(write: Promise<unknown>): PromiseLike<unknown> {
  const flushed = (write as Promise<unknown> & { flushed?: PromiseLike<unknown> }).flushed;
  if (flushed === undefined) throw new Error('lmdb-js returned a write promise without `flushed` (separateFlushed)');
  return flushed;
}
