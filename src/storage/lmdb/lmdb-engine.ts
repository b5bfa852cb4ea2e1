// The embedded default engine, on lmdb-js.
//
// Writes take one of three paths, all group-committed and all serializable (docs/architecture.md,
// "lmdb write paths"):
//
// - the write-ahead log (one kvs process owns the store, the default; commitWithWal): planned in
//   JS against the store plus overlays, appended to the WAL and answered once the WAL's fdatasync
//   returns; reads consult the overlay of acknowledged writes lmdb has not applied, and lmdb
//   applies them in the background, many per transaction, its own flush checkpointing the WAL
//   (docs/durability.md, "The write path").
// - lmdb only, exclusive (`--wal off`; commitExclusive): planned the same way against the
//   committed store plus the writes in flight, written as plain asynchronous puts (so lmdb-js's
//   write thread never waits for the main thread) and answered after the batch's flush. Measured
//   on the 2-core machine, engine only, 50 concurrent writers, strict durability: 15-21k
//   commits/s with the shared mode's transaction callbacks; 25-36k commits/s in this mode
//   (2026-11-29, about 30 us of CPU per commit, where raw lmdb-js doing the same three puts takes
//   about 11.5 us).
// - shared (`--workers N`: several processes write the same store; commitShared): each kvs
//   transaction is an lmdb-js `transaction()` callback that reads the store-wide revision and
//   checks conditions inside LMDB's cross-process write lock.
//
// Durability without the WAL: lmdb-js resolves a transaction when it is committed (visible), not
// when it is flushed (overlappingSync). commit() therefore also awaits `flushed` before resolving;
// the strace test in test/faults/ checks that the flush syscall precedes every reply.
//
// Sub-databases: kv (key -> record), meta (revision, oldest log revision), log (revision ->
// events), expiry ([expires, key] -> key index for the sweeper), recent ([modRevision, key] ->
// [key, expires], for recentlyModified: the index page reads its newest entries instead of
// scanning, and passes over expired ones without reading their records, runs of them seen
// before with one seek: expired-spans.ts),
// folders (folder -> keys stored under it, folder-index.ts: the web UI's folder counts), audit
// (revision -> the commit's audit entry, audit-codec.ts; docs/audit.md), written with the commit
// on every write path and by the WAL replay, and dropped oldest first past the retention bounds;
// per-key history (docs/history.md, key-history.ts): history ([key, revision] -> the key's entry,
// history-codec.ts), historyOrder ([revision, key] -> entry size: oldest first for the store-wide
// bound) and historyKeys (key -> its KeyHistoryExtent), written with the commit the same way.

import { type RecencyNode, RecencyList } from './recency-list.js';
import { LmdbSystemStore } from './lmdb-system-store.js';
import { FolderCountStream, indexedFolders, isIndexedFolder, storedKeyDelta } from '../folder-index.js';
import { open, type Database, type Key, type RootDatabase, type Transaction } from 'lmdb';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { type AuditEntry, auditEntryOf } from '../../model/audit.js';
import type { ChangeType } from '../../model/change-type.js';
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
  DELETED_SCAN_MAX,
  deletedKeyOf,
  deletedPageLimit,
  HISTORY_DROP_MAX,
  type HistoryRetention,
  existedBefore,
  type HistoryReach,
  type HistoryWrite,
  historyPageLimit,
  KeptWindow,
  historyWritesOf,
  keyOverBounds,
} from '../key-history.js';
import type { ChangeEvent } from '../../model/events.js';
import type { CommitResult, Txn } from '../../model/txn.js';
import type { Entry, EntryInfo } from '../../model/entry.js';
import { isExpired } from '../../model/entry.js';
import { ExpiredKeyRuns } from './expired-key-runs.js';
import { ExpiredSpans, keyBytes } from './expired-spans.js';
import { auditTimeOrNaN, decodeAuditEntry, encodeAuditEntry } from '../audit-codec.js';
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
  listSkipBound,
  type ListOptions,
  type ListPage,
  type WriteStats,
} from '../engine.js';
import { EngineUnavailableError, HistoryCompactedError, RecordDamagedError, StorageFullError } from '../errors.js';
import { compareKeys } from '../../model/key-order.js';
import { giveWay, TurnBudget, type TurnClock } from '../../model/turn-budget.js';
import { type Plan, planCommit, recordInfo, type StoredRecord } from '../txn-plan.js';
import { decodeRecord, encodeRecord, isFormat1, recordState } from './record-codec.js';
import { isLmdbDamage, isStoredValueDecodeError } from './lmdb-errors.js';
import { ChangeLogDamagedError, decodeLogEntry, encodeLogEntry, isLogFormat2 } from './log-codec.js';
import { FlushConfirmer } from './flush-confirm.js';
import { RecordCache } from './record-cache.js';
import { stopOnStorePanic, panicOf } from './store-panic.js';
import { utf8KeyEncoder } from './utf8-key-encoder.js';
import { StoreFileError } from './store-files.js';
import { classifyWriteFailure, describeFailure, lmdbErrorOf, type WriteFailure } from './write-failure.js';
import { WalError, WriteAheadLog } from '../wal/write-ahead-log.js';
import type { WalRecord } from '../wal/wal-scan.js';
import { ReplayedCommit } from './replayed-commit.js';
import type { WalFiles } from '../wal/wal-files.js';
import { type CommitWrite, DELETED_RECORD, type EncodedCommit, encodeWalCommit, walkWalCommit } from './wal-commit.js';

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
  /**
   * This process is the only writer of the store (see the header comment). Default true;
   * `--workers N` opens the store with false in every worker.
   */
  readonly exclusive?: boolean;
  /**
   * The store was created with record checksums (its kvs.store marker says so, store-files.ts):
   * a record without one is damage. Otherwise older records are upgraded at open.
   */
  readonly alwaysChecksummed?: boolean;
  /**
   * The store's meta database has held every one-time build's flag (INDEX_FLAGS) since its
   * creation (its kvs.store marker says so): a missing flag is a damaged meta database, and the
   * store is refused (store_damaged) before anything is written to it.
   */
  readonly indexedSinceCreation?: boolean;
  /** Bytes of decoded records kept in memory in exclusive mode (record-cache.ts); 0 turns it off. */
  readonly cacheBytes?: number;
  /**
   * Directory of the write-ahead log (exclusive mode, LmdbEngine.open only). Set: a commit is
   * acknowledged once its WAL record is synced and lmdb has applied it, lmdb's own sync runs in
   * the background and checkpoints the log (docs/durability.md). Unset: the lmdb-only write path,
   * which acknowledges after lmdb's own sync.
   */
  readonly walDirectory?: string;
  /** WAL segment size bound in bytes (write-ahead-log.ts's default when unset). */
  readonly walSegmentBytes?: number;
  /** The WAL's file operations (tests inject faults or hold back deletions); node:fs when unset. */
  readonly walFiles?: WalFiles;
  /** Bytes of acknowledged commits lmdb may be behind before new commits wait (UNAPPLIED_BYTES_MAX). */
  readonly unappliedBytesMax?: number;
  /** The clock a listing's slices are timed by (turn-budget.ts); performance.now() when unset (tests inject one). */
  readonly turnClock?: TurnClock;
  /**
   * When the WAL's commits that lmdb lacks are applied at open: 'background' (the default) opens
   * at once, with them in the overlay, and lmdb applies them while kvs serves; 'before-open'
   * opens once lmdb has applied and flushed them all (the `--workers` primary, which closes the
   * store right after for workers that share lmdb without the WAL).
   */
  readonly replay?: 'background' | 'before-open';
  /** How much audit trail to keep (DEFAULT_AUDIT_RETENTION when unset). */
  readonly auditRetention?: AuditRetention;
  /** How much per-key history to keep (DEFAULT_HISTORY_RETENTION when unset). */
  readonly historyRetention?: HistoryRetention;
}

/**
 * One key's history, kept in historyKeys with every commit that writes or drops its entries:
 * how many and how many bytes, the lowest revision that may still hold one (entries below it
 * were dropped), and the newest entry's revision and type (a key whose newest entry is a delete
 * or an expiry is a deleted key that can be restored).
 */
interface KeyHistoryExtent {
  count: number;
  bytes: number;
  from: number;
  newest: number;
  type: ChangeType;
}

type StoredKeyExtent = [number, number, number, number, ChangeType];

/**
 * The store's history extent, kept in meta (HISTORY_STATE): its bytes, where the oldest-first
 * walk resumes, and the point-in-time reach's `reachable` (key-history.ts, HistoryReach).
 */
interface HistoryStoreExtent {
  bytes: number;
  from: number;
  reachable: number;
}

/**
 * The audit trail's extent, kept in meta (AUDIT_STATE) with every commit: the bytes of its
 * entries and the lowest revision that may still hold one (entries below it were dropped).
 * `oldestTime`, in memory only, is the time of the entry at `from` when known.
 */
interface AuditExtent {
  bytes: number;
  from: number;
  oldestTime: number | undefined;
}

/** A commit in the WAL path: appended to the log, waiting to be durable and applied to lmdb. */
interface PendingCommit {
  readonly commit: DurableCommit;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** An acknowledged commit waiting for lmdb, with what history and the memory bound need. */
interface DurableCommit extends EncodedCommit {
  readonly events: readonly ChangeEvent[];
  /** Size of its WAL payload: what the overlay holds for it, near enough. */
  readonly bytes: number;
}

/**
 * A commit waiting for lmdb: acknowledged while running, or found in the WAL at start-up (decoded
 * when applied, replayed-commit.ts). Readers of the queue use what both have: the revision, the
 * change-log events, the audit entry and the history entries.
 */
type QueuedCommit = DurableCommit | ReplayedCommit;

/**
 * Bytes of acknowledged commits lmdb may be behind before new commits wait (docs/limits.md). With
 * lmdb keeping up, the overlay holds one batch (a few hundred commits at most). It also bounds
 * what a start-up after a crash replays (with the WAL segment size, what it reads): 8 MiB is
 * about 18,000 commits of 100-byte puts. At 64 MiB the start-up's walk of the log alone took
 * 0.4-0.7 s; at 16 MiB the start-up with the most to replay took 0.78-1.14 s, against 0.56 s for
 * an empty store (BENCHMARKS.md, "Start-up with a full WAL to replay").
 */
export const UNAPPLIED_BYTES_MAX = 8 * 1024 * 1024;
/**
 * The pause between two background lmdb transactions of the WAL path. Acknowledgements do not
 * wait for lmdb, so the pause only lets more commits gather per transaction: each hot page and
 * the revision are written once per transaction, and lmdb syncs less often. Measured with the
 * engine suite, 50 writers, 100-byte puts over 10,000 keys: without a pause 54 commits per lmdb
 * transaction, 9,509 commits/s, 96 us CPU and 10.1 KiB to the disk per commit; with 20 ms (and
 * APPLY_BATCH_MAX 256), 256 per transaction, 11,798 commits/s, 82 us and 6.6 KiB, against the
 * lmdb-only path's 10,787 commits/s and 9.8 KiB in the same run (BENCHMARKS.md).
 * 100 ms since 2026-12-01: through the server under redis-benchmark SET -P1 -c50 (where lmdb
 * keeps up, so the pause decides the batch), seven alternating rounds against 20 ms: 6,758-10,033
 * against 6,218-8,888 SETs/s, faster in 6 of 7 rounds, median ratio 1.14x, with 7% less server
 * CPU per SET (fewer lmdb transactions and syncs competing with the WAL's fdatasync); -P16 (batches
 * at APPLY_BATCH_MAX either way) did not move. 250 ms measured level with 100 ms (0.96-1.14x).
 * The overlay holds what gathers meanwhile, within UNAPPLIED_BYTES_MAX as before.
 */
const APPLY_PAUSE_MS = 100;
/**
 * Commits per background lmdb transaction at most. lmdb-js's puts of one transaction are issued
 * on the event loop in one go (about 10 us per commit), so this also bounds that stall: about
 * 10-15 ms at 1,024, reached only when lmdb is that far behind (otherwise APPLY_PAUSE_MS gathers
 * fewer). Under sustained writes lmdb's apply is what limits throughput (the backlog sits at
 * UNAPPLIED_BYTES_MAX and writes wait for it), and each transaction rewrites the B-tree pages its
 * random keys touch, so more commits per transaction means fewer page writes per commit.
 * Measured 2026-11-30 through the server, two rounds each taking turns with 256 (loaded machine,
 * load average 6-7): HTTP PUT 3,165 and 3,899 against 1,771 and 1,661 req/s; RESP SET -P16 7,965
 * and 12,512 against 5,748 and 8,676; -P1 3,561 and 5,989 against 3,204 and 4,274. 2,048 did no
 * better than 1,024. (Before the commit path got cheaper, the event loop was the limit and 1,024
 * measured worse than 256: 0.68-0.84x against 0.96-0.99x of the lmdb-only path's HTTP PUT.)
 */
const APPLY_BATCH_MAX = 1024;
/**
 * How long after an open that replayed the WAL lmdb starts applying the replayed commits (unless
 * a new commit starts it first): the server's own start-up runs meanwhile, instead of sharing
 * the event loop with the apply's batches (a full log is over a hundred of them).
 */
const REPLAY_APPLY_DELAY_MS = 500;
/** First retry of a failed lmdb apply; doubles up to APPLY_RETRY_MAX_MS. */
const APPLY_RETRY_MS = 50;
const APPLY_RETRY_MAX_MS = 2000;
/** How long close() waits for lmdb to apply and flush acknowledged commits before leaving them to the WAL. */
const CLOSE_APPLY_WAIT_MS = 10_000;

/** Default bound of the exclusive mode's record cache. */
export const DEFAULT_RECORD_CACHE_BYTES = 64 * 1024 * 1024;

/** A write that was planned and issued but is not committed yet (exclusive mode). */
interface InFlight {
  readonly record: StoredRecord | null;
}

const REVISION = 'revision';
/** Set to 2 once every record has a checksum (upgradeRecords). */
const RECORD_FORMAT = 'recordFormat';
const UPGRADE_BATCH = 1000;
const OLDEST = 'oldest';
/** The first revision whose change-log entry has a checksum (markLogChecksums). */
const LOG_CHECKSUMMED_FROM = 'logChecksummedFrom';
/** Set once the recent index covers every key (stores made before it get it at open). */
const RECENT_INDEXED = 'recentIndexed';
/** Set once the folder index counts every key (stores made before it get it at open). */
const FOLDERS_INDEXED = 'foldersIndexed';
/**
 * The flags of the one-time builds at open. A store that had them from creation and lacks one
 * now has a damaged meta database: building into it would write into damaged pages, where LMDB
 * can abort the process (seen: its assertion mp_upper >= mp_lower in mdb_node_add).
 */
const INDEX_FLAGS = [RECENT_INDEXED, FOLDERS_INDEXED, LOG_CHECKSUMMED_FROM] as const;
/** [bytes, from] of the audit trail (AuditExtent). */
const AUDIT_STATE = 'audit';
/** [bytes, from] of the per-key history (HistoryStoreExtent). */
const HISTORY_STATE = 'history';
/**
 * The revision from which history has been kept without a gap (HistoryReach's `startedAt`):
 * written at the first open with history, removed by an open without it (--history-versions 0).
 */
const HISTORY_STARTED = 'historyStarted';
/**
 * A recent-index entry's value: the key and its expiry, so that recentlyModified() passes over an
 * expired key without reading its record (a `GET /` over 1,000 expired keys read 1,000 records).
 * Entries written before the expiry was kept hold the key alone; their record is read.
 */
type RecentValue = string | [key: string, expires: number | null];

function recentValueOf(key: string, record: Pick<StoredRecord, 'expires'>): RecentValue {
  return [key, record.expires];
}

/** One key's newest acknowledged write that lmdb has not applied (the WAL path's overlay). */
interface OverlayEntry extends RecencyNode {
  readonly key: string;
  readonly record: StoredRecord | null;
  readonly revision: number;
}

/** Expired-but-not-swept keys recentlyModified() passes over at most, beyond the page. */
const RECENT_SCAN_EXTRA = 1000;

/**
 * Entries one listing page reads at most before it gives other clients a turn (scan); a slice also
 * ends once it has used TURN_BUDGET_MS (turn-budget.ts), which larger values reach first. An
 * entry costs about 5-7 us there (lmdb's copy of the value, the checksum, the decode): 1,000
 * expired keys passed over, or a 1,000-key export page, held the event loop for 6-8 ms in one
 * piece (the stall suite's store, bench/suites/stall.ts); slices of 256 hold it under 2 ms.
 */
const SCAN_SLICE_ENTRIES = 256;

/**
 * A record as an entry. Spelled out rather than `{ key, ...record }`: that spread took 5.7% of
 * kvs's CPU under `redis-benchmark -P 16 -t get` (the GET hot path); the literal is one
 * allocation of one shape.
 */
function entryOfRecord(key: string, record: StoredRecord, value: Buffer): Entry {
  return {
    key,
    createRevision: record.createRevision,
    modRevision: record.modRevision,
    version: record.version,
    updated: record.updated,
    expires: record.expires,
    contentType: record.contentType,
    value,
  };
}

/** The overlay's keys of one listing, in key order, and how far the listing has read them. */
interface OverlayRange {
  readonly items: [string, StoredRecord | null][];
  next: number;
}

/** A recent-index key: [modRevision, key], in lmdb's order (revision, then key bytes). */
type RecentPosition = [revision: number, key: string];

function compareRecent(a: RecentPosition, b: RecentPosition): number {
  return a[0] - b[0] || compareKeys(a[1], b[1]);
}

export class LmdbEngine implements Engine {
  readonly kind = 'lmdb';
  readonly expiresNatively = false;
  readonly system: LmdbSystemStore;
  private readonly root: RootDatabase;
  private readonly kv: Database<Buffer, string>;
  private readonly meta: Database<number, string>;
  /** Change-log entries from before their checksums (log-codec.ts), read with lmdb-js's msgpack. */
  private readonly legacyLog: Database<ChangeEvent[], number>;
  /** The change log's bytes (log-codec.ts). */
  private readonly log: Database<Buffer, number>;
  /** Every change-log entry from this revision on has a checksum (log-codec.ts). */
  private readonly logChecksummedFrom: number;
  private readonly expiry: Database<string, [number, string]>;
  private readonly recent: Database<RecentValue, [number, string]>;
  private readonly folders: Database<number, string>;
  /**
   * Folder counts issued to lmdb and not committed yet (queued writes: the WAL path's apply and
   * `--wal off`), so that the next commit counts on from them, not from lmdb's older value.
   */
  private readonly folderPending = new Map<string, { readonly size: number }>();
  /**
   * The folder index may be off: a batch of `--wal off` failed after later batches had counted on
   * it, or a count could not be read. folderCounts() answers undefined (the caller counts by a
   * bounded scan) until rebuildFoldersIfStale() has rebuilt it.
   */
  private foldersStale = false;
  /** revision -> audit entry (audit-codec.ts). */
  private readonly auditLog: Database<Buffer, number>;
  private readonly retention: AuditRetention;
  /**
   * Exclusive modes: the audit trail's extent as this process issued it (like oldestKept); the
   * WAL path's background apply keeps its own copy until lmdb took the batch.
   */
  private auditExtent: AuditExtent = { bytes: 0, from: 1, oldestTime: undefined };
  /** [key, revision] -> history entry (history-codec.ts). */
  private readonly historyLog: Database<Buffer, [string, number]>;
  /** [revision, key] -> the entry's size: the store-wide bound drops oldest first. */
  private readonly historyOrder: Database<number, [number, string]>;
  /** key -> StoredKeyExtent. */
  private readonly historyKeys: Database<StoredKeyExtent, string>;
  private readonly historyRetention: HistoryRetention;
  /** Exclusive modes: the store's history extent as this process issued it (like auditExtent). */
  private historyExtent: HistoryStoreExtent = { bytes: 0, from: 1, reachable: 0 };
  /** HistoryReach's `startedAt` (meta HISTORY_STARTED, set at open: startHistory). */
  private historyStartedAt = 0;
  /**
   * Key extents issued to lmdb and not committed yet (queued writes, like folderPending; null:
   * removed), so that the next commit counts on from them.
   */
  private readonly historyPending = new Map<string, { readonly extent: KeyHistoryExtent | null }>();
  private readonly listeners = new Set<ChangeListener>();
  private lastPublished: number;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  // Exclusive mode: the revision and log start as this process knows them, and the writes in flight.
  private readonly exclusive: boolean;
  private nextRevision = 0;
  private oldestKept = 1;
  private readonly inFlight = new Map<string, InFlight>();
  /** Durability of the most recently issued commit (commits become durable in issue order). */
  private lastCommit: Promise<void> = Promise.resolve();
  // Failed writes (disk full, I/O errors): see commitExclusive and docs/durability.md.
  /** Lowest revision of a batch that failed and whose successors are not resynced yet. */
  private failedFrom = Number.POSITIVE_INFINITY;
  /** Set while the plan state is being re-read from the store after a failed batch. */
  private resyncing: Promise<void> | undefined;
  /** Count of distinct failed batches, and how the most recent one failed. */
  private failures = 0;
  private failureSeen: unknown;
  private failureKind: Promise<WriteFailure> | undefined;
  /** An I/O error other than a full disk: writes are refused until restart. */
  private ioFailure: WriteFailure | undefined;
  /** The newest batch failed: lmdb-js's flush promise for it never settles (close() must not wait). */
  private unflushedFailure = false;
  private flushFailed!: Promise<never>;
  private rejectFlushWaits: (error: unknown) => void = ignore;
  private batchGuardQueued = false;
  /** Exclusive mode only: no other process writes the store, so this process can invalidate it. */
  private readonly cache: RecordCache | undefined;
  /** kvs's own fdatasync of the store file, for flushes lmdb-js leaves pending (flush-confirm.ts). */
  private readonly flushConfirmer: FlushConfirmer;
  /** Format-1 records (no checksum) are read only until the store is upgraded (record-codec.ts). */
  private readonly acceptFormat1: boolean;
  /** LMDB's fatal state was met (the process is exiting, store-panic.ts). */
  private panicked = false;
  // The WAL write path (commitWithWal): see the header comment and docs/durability.md.
  private wal: WriteAheadLog | undefined;
  /** Commits appended to the WAL and not synced yet, in revision order. */
  private walQueue: PendingCommit[] = [];
  /** Acknowledged commits lmdb does not hold yet, in revision order (the first ones may be applying). */
  private readonly applyQueue: QueuedCommit[] = [];
  /**
   * The overlay: for every key of applyQueue, its newest acknowledged record (null: deleted).
   * Every read consults it before lmdb, so an acknowledged write is seen at once.
   */
  private readonly unapplied = new Map<string, OverlayEntry>();
  /** The overlay's entries in the order of their revisions, newest last (recentlyModified). */
  private readonly overlayRecency = new RecencyList<OverlayEntry>();
  /** Runs of the recent index found all expired (recentlyModified, expired-spans.ts). */
  private readonly expiredRecent = new ExpiredSpans<RecentPosition>(compareRecent, (position) => keyBytes(position[1]));
  /** Runs of keys a listing found all expired (scan, expired-key-runs.ts); exclusive mode only. */
  private readonly expiredKeys: ExpiredKeyRuns | undefined;
  private unappliedBytes = 0;
  /** The newest acknowledged revision (the store's revision as reads see it). */
  private acknowledged = 0;
  /** An lmdb transaction applying acknowledged commits is in flight (one at a time). */
  private applying: Promise<void> | undefined;
  /** Set when close() stopped waiting for lmdb: no batch starts after it. */
  private applyHalted = false;
  /** Starts lmdb on the commits a start-up replayed (attachWal). */
  private replayApplyTimer: NodeJS.Timeout | undefined;
  /** Set while lmdb refuses to apply (retry timer): new commits are refused. */
  private applyStalled: NodeJS.Timeout | undefined;
  private applyRetryMs = APPLY_RETRY_MS;
  private readonly applyCounts = { applyTransactions: 0, appliedCommits: 0 };
  /** The lmdb transaction in flight is a retry after a failure: new commits wait for its outcome. */
  private applyRetrying = false;
  /** Commits waiting for the overlay to shrink (walBackpressure), and close(). */
  private applyWaiters: (() => void)[] = [];
  /** Set while the commits of a failed WAL flush are being refused; new commits wait for it. */
  private walRefusing: Promise<void> | undefined;
  /** The highest revision whose lmdb commit is flushed: the WAL before it can be released. */
  private checkpointed = 0;
  private releasing: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LmdbEngineOptions) {
    // Relaxed durability skips LMDB's fsync entirely: writes survive a killed process (the page
    // cache holds them) but not a power loss. lmdb-js's own commit already includes the fdatasync
    // (test/faults/fsync-order.test.ts), so skipping our wait on `flushed` alone changes nothing.
    // separateFlushed: each write promise carries the flush of its own batch (flushOf below).
    const noSync = options.durability === 'relaxed';
    this.root = open({ path: options.path, maxDbs: 24, compression: false, noSync, separateFlushed: !noSync });
    // lmdb's typings list keyEncoder for the root database only; openDB reads it too (open.js).
    const kvOptions = { name: 'kv', encoding: 'binary' as const, keyEncoder: utf8KeyEncoder };
    this.kv = this.root.openDB<Buffer, string>(kvOptions);
    this.meta = this.root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' });
    // Before anything else opens (a sub-database missing from an older store is created).
    if (options.indexedSinceCreation === true) this.refuseMissingFlags(options.path);
    this.legacyLog = this.root.openDB<ChangeEvent[], number>({ name: 'log', encoding: 'msgpack' });
    this.log = this.root.openDB<Buffer, number>({ name: 'log', encoding: 'binary' });
    this.expiry = this.root.openDB<string, [number, string]>({ name: 'expiry', encoding: 'msgpack' });
    this.recent = this.root.openDB<RecentValue, [number, string]>({ name: 'recent', encoding: 'msgpack' });
    const foldersOptions = { name: 'folders', encoding: 'msgpack' as const, keyEncoder: utf8KeyEncoder };
    this.folders = this.root.openDB<number, string>(foldersOptions);
    this.auditLog = this.root.openDB<Buffer, number>({ name: 'audit', encoding: 'binary' });
    this.retention = options.auditRetention ?? DEFAULT_AUDIT_RETENTION;
    this.historyLog = this.root.openDB<Buffer, [string, number]>({ name: 'history', encoding: 'binary' });
    this.historyOrder = this.root.openDB<number, [number, string]>({ name: 'historyOrder', encoding: 'msgpack' });
    const historyKeysOptions = { name: 'historyKeys', encoding: 'msgpack' as const, keyEncoder: utf8KeyEncoder };
    this.historyKeys = this.root.openDB<StoredKeyExtent, string>(historyKeysOptions);
    this.historyRetention = options.historyRetention ?? DEFAULT_HISTORY_RETENTION;
    this.indexRecentOnce();
    this.indexFoldersOnce();
    this.logChecksummedFrom = this.markLogChecksums();
    this.lastPublished = this.readRevision();
    this.exclusive = options.exclusive ?? true;
    this.system = new LmdbSystemStore(this.root, this.meta, this.exclusive);
    const cacheBytes = options.cacheBytes ?? DEFAULT_RECORD_CACHE_BYTES;
    this.cache = this.exclusive && cacheBytes > 0 ? new RecordCache(cacheBytes) : undefined;
    // Every write must pass through this process for the runs to stay true (expired-key-runs.ts).
    this.expiredKeys = this.exclusive ? new ExpiredKeyRuns() : undefined;
    this.nextRevision = this.lastPublished;
    this.armFlushFailure();
    this.flushConfirmer = new FlushConfirmer(options.path);
    if (!noSync) this.flushConfirmer.start();
    this.oldestKept = this.meta.get(OLDEST) ?? 1;
    this.auditExtent = this.storedAuditExtent();
    this.historyExtent = this.storedHistoryExtent();
    this.historyStartedAt = this.startHistory();
    // A store that always had checksums is never upgraded: a record whose format byte was flipped
    // to 1 would otherwise be rewritten with a fresh checksum over damaged bytes.
    this.acceptFormat1 = options.alwaysChecksummed === true ? false : !this.upgradeRecords();
  }

  /**
   * Opens the store; with `walDirectory` (and exclusive mode) also the write-ahead log, replaying
   * the records lmdb does not hold yet. A damaged WAL is a WalError 'wal_damaged' naming the
   * segment and the offset: kvs does not start on data it cannot verify (docs/wal.md).
   */
  static async open(options: LmdbEngineOptions): Promise<LmdbEngine> {
    const engine = new LmdbEngine(options);
    if (options.walDirectory !== undefined && engine.exclusive) {
      try {
        await engine.attachWal(options.walDirectory);
      } catch (error) {
        // After a batch lmdb refused, lmdb-js's close waits for a flush that never settles
        // (closeStore); the process that cannot open exits, which releases the store.
        if (engine.failureSeen === undefined) await engine.root.close().catch(ignore);
        throw error;
      }
    }
    return engine;
  }

  private async attachWal(directory: string): Promise<void> {
    const checkpoint = this.readRevision();
    const { wal, replay } = await WriteAheadLog.open(directory, {
      checkpoint,
      sync: this.options.durability === 'strict',
      ...(this.options.walSegmentBytes !== undefined && { segmentBytes: this.options.walSegmentBytes }),
      ...(this.options.walFiles !== undefined && { files: this.options.walFiles }),
    });
    try {
      this.lastPublished = this.checkpointed = this.acknowledged = checkpoint;
      await wal.releaseThrough(checkpoint);
      if (replay.length > 0) this.replayIntoOverlay(replay);
    } catch (error) {
      await wal.close().catch(ignore);
      throw error;
    }
    this.wal = wal;
    if (replay.length === 0) return;
    if (this.options.replay !== 'before-open') {
      // lmdb starts on the replayed commits once the rest of the start-up (the HTTP routes, the
      // listening sockets) has had its turn, or at the first new commit, whichever comes first.
      this.replayApplyTimer = setTimeout(() => this.applyDurable(), REPLAY_APPLY_DELAY_MS);
      return;
    }
    this.applyDurable();
    try {
      await this.applyReplayed();
    } catch (error) {
      this.wal = undefined;
      await wal.close().catch(ignore);
      throw error;
    }
  }

  /**
   * The start-up's replay (docs/durability.md, "The write path", step 6): the WAL's commits that lmdb does not hold
   * become acknowledged commits waiting for lmdb, exactly as if they had just been synced: each
   * key's final record goes into the overlay that reads consult, every commit into the queue that
   * lmdb applies in the background, many per transaction, checkpointing the WAL as it flushes.
   * Only each commit's keys are read here (walkWalCommit, keys told apart by their bytes read as
   * latin1: one char per byte, cheaper than UTF-8) and only the final records decoded; the rest
   * of each commit is decoded when lmdb applies it (replayed-commit.ts). A crash meanwhile leaves
   * the WAL as it was past lmdb's checkpoint, and the next start replays again.
   */
  private replayIntoOverlay(records: readonly WalRecord[]): void {
    const withHistory = this.historyRetention.versions > 0;
    const finals = new Map<string, FinalWrite>();
    let bytes: Buffer = Buffer.alloc(0);
    let revision = 0;
    const keepFinal = (keyStart: number, keyEnd: number, recordStart: number, recordLength: number): void => {
      const id = bytes.toString('latin1', keyStart, keyEnd);
      const final = finals.get(id);
      if (final === undefined) {
        finals.set(id, { bytes, keyStart, keyEnd, recordStart, recordLength, revision });
        return;
      }
      final.bytes = bytes;
      final.keyStart = keyStart;
      final.keyEnd = keyEnd;
      final.recordStart = recordStart;
      final.recordLength = recordLength;
      final.revision = revision;
    };
    const queued: ReplayedCommit[] = [];
    for (const record of records) {
      bytes = record.bytes;
      revision = record.revision;
      const end = record.payloadStart + record.payloadLength;
      walkWalCommit(bytes, record.payloadStart, end, revision, keepFinal);
      queued.push(new ReplayedCommit(revision, bytes, record.payloadStart, end, withHistory));
    }
    // Into the overlay in the order of their revisions: its recency list is kept in that order.
    for (const final of [...finals.values()].sort((a, b) => a.revision - b.revision)) {
      const key = final.bytes.toString('utf8', final.keyStart, final.keyEnd);
      const record =
        final.recordLength === DELETED_RECORD
          ? null
          : decodeRecord(final.bytes.subarray(final.recordStart, final.recordStart + final.recordLength), key, false);
      this.putOverlay(key, record, final.revision);
    }
    for (const commit of queued) {
      this.unappliedBytes += commit.bytes;
      this.applyQueue.push(commit);
    }
    this.lastPublished = this.acknowledged = revision;
  }

  /**
   * Waits until lmdb has applied and flushed every replayed commit (`replay: 'before-open'`):
   * the `--workers` primary closes the store right after and the workers share lmdb without the
   * WAL. A batch lmdb refuses stops the open with its failure.
   */
  private async applyReplayed(): Promise<void> {
    while (this.applyQueue.length > 0) {
      if (this.applyStalled !== undefined) {
        clearTimeout(this.applyStalled);
        // The LMDB error itself (its errno), which the open's caller tells apart (lmdbOpenProblem).
        throw await lmdbErrorOf(this.failureSeen ?? new Error('lmdb could not apply the replayed write-ahead log'));
      }
      await this.applying;
    }
    await this.root.flushed;
  }

  /**
   * Rewrites the records of a store from before record checksums (format 1) in format 2, then
   * marks the store so that format 1 counts as damage (record-codec.ts). Runs once per store,
   * in transactions of UPGRADE_BATCH records; a crash half-way leaves a readable store (the
   * mark is written last) and the next open goes on. Returns whether the store is marked.
   */
  private upgradeRecords(): boolean {
    if (this.meta.get(RECORD_FORMAT) === 2) return true;
    let after: string | undefined;
    for (;;) {
      const done = this.root.transactionSync(() => {
        if (this.meta.get(RECORD_FORMAT) === 2) return true;
        const batch: [string, Buffer][] = [];
        for (const { key, value } of this.kv.getRange({ start: after ?? '' })) {
          if (key === after) continue;
          batch.push([key, Buffer.from(value)]);
          if (batch.length >= UPGRADE_BATCH) break;
        }
        for (const [key, value] of batch) {
          // A format-1 record that does not decode is left as it is: kvs check reports it.
          if (isFormat1(value) && recordState(value, key, true) === 'unchecked')
            this.kv.putSync(key, encodeRecord(decodeRecord(value, key, true), key));
          after = key;
        }
        if (batch.length < UPGRADE_BATCH) {
          this.meta.putSync(RECORD_FORMAT, 2);
          return true;
        }
        return false;
      });
      if (done) return true;
    }
  }

  /**
   * LMDB's fatal state stops kvs before any other LMDB call (store-panic.ts); other read errors
   * pass through.
   */
  private readError(error: unknown): unknown {
    // LMDB's own page checks failing away from any one key (a revision or index read after a
    // damaged page put the read transaction in its error state): the store is damaged.
    if (isLmdbDamage(error)) return new RecordDamagedError('', { cause: error });
    // A value of one of the msgpack databases (meta, indexes, history order) that no longer
    // decodes: damage on disk that LMDB's page checks did not see. A coded record_damaged, as at
    // open (store_damaged), never an internal error.
    if (isStoredValueDecodeError(error)) return new RecordDamagedError('', { cause: error });
    const panic = panicOf(error);
    if (panic === undefined) return error;
    this.stopOnPanic(panic);
    return new EngineUnavailableError(
      'the store had a fatal LMDB error (MDB_PANIC: a write of its meta page failed); kvs must be restarted (docs/durability.md)',
      { cause: panic },
    );
  }

  private stopOnPanic(panic: unknown): void {
    if (this.panicked) return;
    this.panicked = true;
    stopOnStorePanic(this.options.path, panic);
  }

  /**
   * A failed commit that reports LMDB's fatal state stops kvs. A failed meta-page write usually
   * reports its errno (ENOSPC, EIO) instead and sets the fatal flag silently: the next read finds
   * it (every commit reads the keys it plans on, and the resync after a failure reads the
   * revision). Not a read here: one made while lmdb-js settles the failed batch left later
   * writes unanswered (seen under an injected short write, and on a full tmpfs).
   */
  private checkPanicAfterFailure(error: unknown): void {
    const panic = panicOf(error);
    if (panic !== undefined) this.stopOnPanic(panic);
  }

  /**
   * The first revision whose change-log entry has a checksum: recorded once per store, as the
   * revision after the newest one when a kvs with log checksums first opened it (in one write
   * transaction, so that several `--workers` processes agree).
   */
  private markLogChecksums(): number {
    const marked = this.meta.get(LOG_CHECKSUMMED_FROM);
    if (marked !== undefined) return marked;
    return this.root.transactionSync(() => {
      const existing = this.meta.get(LOG_CHECKSUMMED_FROM);
      if (existing !== undefined) return existing;
      const from = (this.meta.get(REVISION) ?? 0) + 1;
      this.meta.putSync(LOG_CHECKSUMMED_FROM, from);
      return from;
    });
  }

  /** The events of one change-log entry, checked (throws ChangeLogDamagedError). */
  private logEvents(revision: number, bytes: Buffer): ChangeEvent[] {
    if (revision >= this.logChecksummedFrom || isLogFormat2(bytes)) return decodeLogEntry(bytes, revision);
    return (this.legacyLog.get(revision) ?? []).map(reviveEvent);
  }

  private readRevision(): number {
    try {
      return this.meta.get(REVISION) ?? 0;
    } catch (error) {
      throw this.readError(error);
    }
  }

  private readRecord(key: string): StoredRecord | undefined {
    // An acknowledged write lmdb has not applied yet (WAL path) answers first.
    if (this.unapplied.size > 0) {
      const overlay = this.unapplied.get(key);
      if (overlay !== undefined) return overlay.record ?? undefined;
    }
    const cached = this.cache?.get(key);
    if (cached !== undefined) return cached;
    // getBinary copies: the record may be kept (cache, replies) past this read transaction.
    let buffer: Buffer | undefined;
    try {
      buffer = this.kv.getBinary(key);
    } catch (error) {
      // LMDB's own checks of its pages (MDB_CORRUPTED, MDB_PAGE_NOTFOUND) on the way to the key.
      if (isLmdbDamage(error)) throw new RecordDamagedError(key);
      throw this.readError(error);
    }
    if (buffer === undefined) return undefined;
    const record = decodeRecord(buffer, key, this.acceptFormat1);
    this.cache?.add(key, record);
    return record;
  }

  async get(key: string, now: number): Promise<Entry | undefined> {
    return this.getSync(key, now);
  }

  /**
   * Shared mode (--workers): a read must see every commit another process acknowledged before
   * it started. lmdb-js keeps one read snapshot until a timer of 0 ms renews it, and commits of
   * other processes do not renew it, so under load a request could read a snapshot from before a
   * write acknowledged by another worker (caught by test/consistency's --workers runs). Renewing
   * it is one native call; exclusive mode does not need it (its own commits renew it).
   */
  private freshSnapshot(): void {
    if (!this.exclusive) this.root.resetReadTxn();
  }

  /** Synchronous read for the HTTP hot path (lmdb reads are memory-mapped, no I/O wait). */
  getSync(key: string, now: number): Entry | undefined {
    this.freshSnapshot();
    return this.entryOf(key, now);
  }

  private entryOf(key: string, now: number): Entry | undefined {
    const record = this.readRecord(key);
    if (record === undefined || isExpired(record, now)) return undefined;
    return entryOfRecord(key, record, record.value);
  }

  async getMany(keys: readonly string[], now: number): Promise<(Entry | undefined)[]> {
    this.freshSnapshot();
    return keys.map((key) => this.entryOf(key, now));
  }

  /**
   * Live records of one page, passing over at most listSkipBound expired ones (engine.ts): the
   * page's cost is bounded whatever the range holds. The overlay of acknowledged writes lmdb has
   * not applied (WAL path) is merged in key order, so a page is what it will be once they are.
   * Read in slices of SCAN_SLICE_ENTRIES (or TURN_BUDGET_MS) with a turn for other clients between them, all in one
   * read transaction and against the overlay as it was at the start: the page is one snapshot,
   * as if read at once.
   */
  private async scan(
    options: ListOptions,
    now: number,
  ): Promise<{ found: [string, StoredRecord][]; resumeAfter: string | undefined }> {
    const { prefix } = options;
    let after = options.after !== undefined && compareKeys(options.after, prefix) >= 0 ? options.after : undefined;
    const found: [string, StoredRecord][] = [];
    const skipBound = listSkipBound(options);
    let skipped = 0;
    let last = after ?? prefix;
    this.freshSnapshot();
    const transaction = this.root.useReadTransaction();
    try {
      const overlay = this.overlayOf(prefix, after);
      const budget = new TurnBudget(this.options.turnClock);
      // Runs of keys found expired (or deleted) are remembered, and runs remembered by earlier
      // listings are stepped over with one seek, counting as one expired key (expired-key-runs.ts).
      const runs = this.expiredKeys;
      const generation = runs?.snapshot() ?? 0;
      let run: { low: string; high: string; entries: number } | undefined;
      const endRun = () => {
        if (run !== undefined) runs?.remember(run.low, run.high, run.entries, now, generation);
        run = undefined;
      };
      // Entries read in this turn (a step over a run goes on reading in the same turn).
      let read = 0;
      for (;;) {
        let sliceEnded = false;
        for (const [key, record] of this.mergedRange(prefix, after, overlay, transaction)) {
          if (found.length >= options.limit) {
            endRun();
            return { found, resumeAfter: undefined };
          }
          if (skipped >= skipBound) {
            endRun();
            return { found, resumeAfter: last };
          }
          last = key;
          if (record !== null && !isExpired(record, now)) {
            endRun();
            found.push([key, record]);
          } else {
            if (record !== null) skipped++;
            run ??= { low: key, high: key, entries: 0 };
            run.high = key;
            if (record !== null) run.entries++;
            const span = record === null || runs === undefined ? undefined : runs.containing(key, now, generation);
            if (span !== undefined) {
              run.high = span.high;
              run.entries += span.entries;
              // The rest of the prefix is one run: the page ends here (a cursor past the prefix
              // would name a key the caller may not list).
              if (!span.high.startsWith(prefix)) {
                endRun();
                return { found, resumeAfter: undefined };
              }
              last = span.high;
              while (overlay.next < overlay.items.length && compareKeys(overlay.items[overlay.next]![0], last) <= 0)
                overlay.next++;
              sliceEnded = true;
              break;
            }
          }
          if (++read >= SCAN_SLICE_ENTRIES || budget.tick()) {
            sliceEnded = true;
            break;
          }
        }
        if (!sliceEnded) {
          endRun();
          return { found, resumeAfter: undefined };
        }
        after = last;
        // A step over a run goes on in the same turn unless the slice has used its count or time.
        if (read < SCAN_SLICE_ENTRIES && !budget.spent()) continue;
        // More turns for other clients while they keep the loop busy (a bulk read gives way).
        await giveWay(yieldToOthers);
        budget.newTurn();
        read = 0;
      }
    } catch (error) {
      // LMDB's own page checks failed on the way: the damage is just after the last key read.
      if (isLmdbDamage(error)) throw new RecordDamagedError(last);
      throw error;
    } finally {
      transaction.done();
    }
  }

  /** The overlay's keys under `prefix` after `after`, in key order, with a read position. */
  private overlayOf(prefix: string, after: string | undefined): OverlayRange {
    const items: [string, StoredRecord | null][] = [];
    for (const [key, { record }] of this.unapplied) {
      if (!key.startsWith(prefix)) continue;
      if (after !== undefined && compareKeys(key, after) <= 0) continue;
      items.push([key, record]);
    }
    items.sort(([a], [b]) => compareKeys(a, b));
    return { items, next: 0 };
  }

  /**
   * lmdb's keys under `prefix` after `after` (byte order) merged with the overlay's from its read
   * position on (null: deleted in the overlay).
   */
  private *mergedRange(
    prefix: string,
    after: string | undefined,
    overlay: OverlayRange,
    transaction: Transaction,
  ): Generator<[string, StoredRecord | null]> {
    const { items } = overlay;
    // Byte order, not UTF-16 order, decides which bound is higher. No `end`: keys under the prefix
    // are contiguous and the loop stops at the first one outside it (an `end` of prefix + U+10FFFF
    // would cut off keys that continue with U+10FFFF).
    const range = this.kv.getRange({ start: after ?? prefix, exclusiveStart: after !== undefined, transaction });
    for (const { key, value } of range) {
      if (!key.startsWith(prefix)) break;
      while (overlay.next < items.length && compareKeys(items[overlay.next]![0], key) < 0) yield items[overlay.next++]!;
      if (overlay.next < items.length && items[overlay.next]![0] === key) {
        yield items[overlay.next++]!;
        continue;
      }
      yield [key, decodeRecord(value, key, this.acceptFormat1)];
    }
    while (overlay.next < items.length) yield items[overlay.next++]!;
  }

  async list(options: ListOptions, now: number): Promise<ListPage<EntryInfo>> {
    try {
      const { found, resumeAfter } = await this.scan(options, now);
      return { items: found.map(([key, record]) => recordInfo(key, record)), resumeAfter };
    } catch (error) {
      throw this.readError(error);
    }
  }

  async listEntries(options: ListOptions, now: number): Promise<ListPage<Entry>> {
    try {
      const { found, resumeAfter } = await this.scan(options, now);
      const items = found.map(([key, record]) => entryOfRecord(key, record, Buffer.from(record.value)));
      return { items, resumeAfter };
    } catch (error) {
      throw this.readError(error);
    }
  }

  async count(): Promise<number> {
    this.freshSnapshot();
    // getStats does not throw in LMDB's fatal state (it answers zeros and leaves LMDB's error
    // message behind, store-panic.ts): a read first, which does.
    this.readRevision();
    let count = (this.kv.getStats() as { entryCount: number }).entryCount;
    // Acknowledged writes lmdb has not applied: +1 for a key they create, -1 for one they delete.
    for (const [key, { record }] of this.unapplied) {
      const inStore = this.kv.getBinary(key) !== undefined;
      if (record !== null && !inStore) count++;
      else if (record === null && inStore) count--;
    }
    return count;
  }

  async recentlyModified(limit: number, now: number): Promise<EntryInfo[]> {
    this.freshSnapshot();
    const result: EntryInfo[] = [];
    // Expired keys not yet swept are passed over; at most RECENT_SCAN_EXTRA of them per call,
    // so the cost stays bounded by the page even on a store full of them (docs/limits.md).
    let budget = limit + RECENT_SCAN_EXTRA;
    // Acknowledged writes lmdb has not applied are newer than anything it holds: first, newest
    // first, from their recency list (one entry per key). Their deletes and expired keys count
    // against the same budget as lmdb's, so the walk is bounded by the page, not the overlay.
    for (const { key, record } of this.overlayRecency.newestFirst()) {
      if (result.length >= limit || budget-- <= 0) return result;
      if (record !== null && !isExpired(record, now)) result.push(recordInfo(key, record));
    }
    // Runs of expired entries seen by earlier calls are stepped over with one seek each (their
    // entries stay expired: expired-spans.ts); the run this call passes over is remembered.
    let run: { high: RecentPosition; low: RecentPosition; entries: number } | undefined;
    const endRun = () => {
      if (run !== undefined) this.expiredRecent.remember(run.low, run.high, run.entries, now);
      run = undefined;
    };
    let below: RecentPosition | undefined;
    try {
      walk: for (;;) {
        const range = this.recent.getRange(
          below === undefined ? { reverse: true } : { reverse: true, start: below, exclusiveStart: true },
        );
        for (const { key: position, value } of range) {
          if (result.length >= limit || budget-- <= 0) break walk;
          const key = typeof value === 'string' ? value : value[0];
          if (this.unapplied.has(key)) {
            endRun();
            continue;
          }
          // Passed over without reading its record when the entry says it has expired.
          if (typeof value !== 'string' && value[1] !== null && value[1] <= now) {
            const span = this.expiredRecent.containing(position, now);
            run ??= { high: span?.high ?? position, low: position, entries: 0 };
            if (span === undefined) {
              run.low = position;
              run.entries++;
              continue;
            }
            run.low = span.low;
            run.entries += span.entries;
            below = span.low;
            continue walk;
          }
          endRun();
          const entry = this.entryOf(key, now);
          if (entry !== undefined) result.push(recordInfo(key, entry));
        }
        break;
      }
    } catch (error) {
      run = undefined;
      throw this.readError(error);
    } finally {
      endRun();
    }
    return result;
  }

  private refuseMissingFlags(path: string): void {
    // A flag with any other value would also send its build into the store.
    const missing = INDEX_FLAGS.filter((flag) => {
      const value = this.meta.get(flag);
      return flag === LOG_CHECKSUMMED_FROM ? !(Number.isSafeInteger(value) && value! >= 1) : value !== 1;
    });
    if (missing.length === 0) return;
    void this.root.close().catch(ignore);
    throw new StoreFileError(
      'store_damaged',
      `${path}: its meta database lacks ${missing.join(', ')}, which this store has held since its creation (kvs.store); kvs writes nothing to a damaged store: run kvs check (docs/durability.md)`,
    );
  }

  /**
   * Stores made before the recent index get it once, at open, in one write transaction (which
   * also keeps several `--workers` processes from building it twice).
   */
  private indexRecentOnce(): void {
    if (this.meta.get(RECENT_INDEXED) === 1) return;
    this.root.transactionSync(() => {
      if (this.meta.get(RECENT_INDEXED) === 1) return;
      for (const { key, value } of this.kv.getRange({ start: '' })) {
        // A damaged record is left out of the index; reading it answers record_damaged, and kvs check reports it.
        if (recordState(value, key, true) === 'damaged') continue;
        const record = decodeRecord(value, key);
        this.recent.putSync([record.modRevision, key], recentValueOf(key, record));
      }
      this.meta.putSync(RECENT_INDEXED, 1);
    });
  }

  /**
   * Stores made before the folder index get it once, at open, in one write transaction (as the
   * recent index): one walk over the keys, in memory bounded by FOLDER_INDEX_DEPTH.
   */
  private indexFoldersOnce(): void {
    if (this.meta.get(FOLDERS_INDEXED) === 1) return;
    this.root.transactionSync(() => {
      if (this.meta.get(FOLDERS_INDEXED) === 1) return;
      this.rebuildFoldersInTxn();
      this.meta.putSync(FOLDERS_INDEXED, 1);
    });
  }

  /** Counts every folder again from the keys; inside a write transaction. */
  private rebuildFoldersInTxn(): void {
    for (const folder of [...this.folders.getKeys({ start: '' })]) this.folders.removeSync(folder);
    const stream = new FolderCountStream((folder, size) => this.folders.putSync(folder, size));
    for (const key of this.kv.getKeys({ start: '' })) stream.add(key);
    stream.finish();
  }

  /**
   * `--wal off` after a failed batch: the index is counted again once nothing is in flight (at
   * the resync, or before a later commit); if that fails too (the disk still refuses), it stays
   * stale and the next chance tries again.
   */
  private rebuildFoldersIfStale(): void {
    if (!this.foldersStale || this.inFlight.size > 0) return;
    try {
      this.root.transactionSync(() => this.rebuildFoldersInTxn());
      this.foldersStale = false;
    } catch {
      // Still stale: counted again at the next chance.
    }
  }

  async greatestKey(): Promise<string | undefined> {
    this.freshSnapshot();
    let greatest: string | undefined;
    try {
      // Passes over keys that acknowledged writes lmdb has not applied removed (at most the overlay's size).
      for (const key of this.kv.getKeys({ reverse: true })) {
        if (this.unapplied.get(key)?.record === null) continue;
        greatest = key;
        break;
      }
    } catch (error) {
      throw this.readError(error);
    }
    for (const [key, { record }] of this.unapplied)
      if (record !== null && (greatest === undefined || compareKeys(key, greatest) > 0)) greatest = key;
    return greatest;
  }

  async folderCounts(folders: readonly string[]): Promise<(number | undefined)[]> {
    this.freshSnapshot();
    this.readRevision();
    if (this.foldersStale) return folders.map(() => undefined);
    const counts: (number | undefined)[] = [];
    const wanted = new Map<string, number>();
    try {
      for (const folder of folders) {
        if (!isIndexedFolder(folder)) {
          counts.push(undefined);
          continue;
        }
        wanted.set(folder, counts.length);
        counts.push(this.folders.get(folder) ?? 0);
      }
      // Acknowledged writes lmdb has not applied (WAL path): as in count(), each one that creates
      // or removes a key moves the folders it lies in.
      for (const [key, { record }] of this.unapplied) {
        const delta = storedKeyDelta(this.kv.doesExist(key), record !== null);
        if (delta === 0) continue;
        for (const folder of indexedFolders(key)) {
          const index = wanted.get(folder);
          if (index !== undefined) counts[index] = counts[index]! + delta;
        }
      }
    } catch (error) {
      throw this.readError(error);
    }
    return counts;
  }

  commit(txn: Txn, now: number): Promise<CommitResult> {
    const runs = this.expiredKeys;
    if (runs === undefined) return this.commitOf(txn, now);
    // The listings' runs of expired keys drop any run a write lands in, before the write and
    // again once readers see it (expired-key-runs.ts).
    const keys = txn.operations.map((operation) => operation.key);
    runs.writing(keys);
    const written = this.commitOf(txn, now);
    const visible = () => runs.written(keys);
    written.then(visible, visible);
    return written;
  }

  private commitOf(txn: Txn, now: number): Promise<CommitResult> {
    if (this.wal !== undefined) return this.commitWithWal(txn, now);
    return this.exclusive ? this.commitExclusive(txn, now) : this.commitShared(txn, now);
  }

  /**
   * The WAL write path. Planned like commitExclusive (against the store, the acknowledged writes
   * lmdb has not applied yet and the writes in flight), then appended to the WAL, and
   * acknowledged as soon as the WAL has synced it: from then on reads see it through the
   * unapplied overlay until lmdb holds it. lmdb applies the synced commits in the background, many
   * per transaction (applyDurable), with its own sync; its flushed revision checkpoints the WAL.
   */
  private async commitWithWal(txn: Txn, now: number): Promise<CommitResult> {
    // Awaited only when there is something to wait for: an await per commit was a visible share
    // of the commit's own time (it turned every plan into a microtask of its own).
    if (this.lmdbTooFarBehind()) await this.walBackpressure();
    while (this.walRefusing !== undefined) await this.walRefusing;
    this.refuseAfterIoError();
    // lmdb refused the last batch: a new write first has it tried again at once, so writes resume
    // as soon as the disk has room (not at the next timed retry), and is refused if it still fails.
    if (this.applyStalled !== undefined) {
      clearTimeout(this.applyStalled);
      this.retryApply();
    }
    if (this.applyRetrying) await this.applying;
    if (this.applyStalled !== undefined) throw await this.lastFailureError();
    const wal = this.wal!;
    const planned = this.planOverInFlight(txn, now, wal.nextRevision - 1);
    if (!('marks' in planned)) return planned.answer();
    const { plan, marks } = planned;
    const encoded = encodedCommitOf(plan, txn, now, this.historyRetention.versions > 0);
    const payload = encodeWalCommit(encoded);
    const commit: DurableCommit = {
      revision: encoded.revision,
      writes: encoded.writes,
      logEntry: encoded.logEntry,
      audit: encoded.audit,
      history: encoded.history,
      events: plan.events,
      bytes: payload.length,
    };
    const done = new Promise<void>((resolve, reject) => this.walQueue.push({ commit, resolve, reject }));
    wal.append(plan.revision, payload).then(
      () => this.acknowledgeDurable(),
      (error: unknown) => this.walAppendFailed(error),
    );
    this.lastCommit = done;
    try {
      await done;
    } finally {
      for (const [key, mark] of marks) if (this.inFlight.get(key) === mark) this.inFlight.delete(key);
    }
    this.publishLocal(plan.revision);
    return { ok: true, revision: plan.revision, puts: plan.puts, deleted: plan.deleted };
  }

  /**
   * Every commit the WAL has synced moves from the WAL queue to the overlay that reads consult
   * (before any reply is sent: the promises resolve after this), and into lmdb's apply queue.
   */
  private acknowledgeDurable(): void {
    const durable = this.wal!.durableRevision;
    let count = 0;
    while (count < this.walQueue.length && this.walQueue[count]!.commit.revision <= durable) count++;
    if (count === 0) return;
    const acknowledged = this.walQueue.splice(0, count);
    for (const { commit } of acknowledged) {
      for (const write of commit.writes) this.putOverlay(write.key, write.record, commit.revision);
      this.unappliedBytes += commit.bytes;
      this.applyQueue.push(commit);
    }
    this.acknowledged = acknowledged.at(-1)!.commit.revision;
    for (const pending of acknowledged) pending.resolve();
    this.applyDurable();
  }

  /** `key`'s newest acknowledged record (null: deleted) becomes the overlay's, the newest of its recency list. */
  private putOverlay(key: string, record: StoredRecord | null, revision: number): void {
    const previous = this.unapplied.get(key);
    if (previous !== undefined) this.overlayRecency.remove(previous);
    const entry: OverlayEntry = { key, record, revision, older: undefined, newer: undefined };
    this.unapplied.set(key, entry);
    this.overlayRecency.append(entry);
  }

  /**
   * Writes every acknowledged commit lmdb does not hold yet into one lmdb transaction (a key
   * written many times is one page write per batch, the revision one put), then, once committed,
   * drops them from the overlay and looks for the next batch. One transaction at a time, so a
   * failed one is simply applied again (retryApply) with nothing issued on top of it.
   */
  private applyDurable(): void {
    if (this.replayApplyTimer !== undefined) {
      clearTimeout(this.replayApplyTimer);
      this.replayApplyTimer = undefined;
    }
    if (
      this.applying !== undefined ||
      this.applyStalled !== undefined ||
      this.applyHalted ||
      this.applyQueue.length === 0
    )
      return;
    const batch = this.applyQueue.slice(0, APPLY_BATCH_MAX);
    let encoded: EncodedCommit[];
    try {
      encoded = this.encodedBatch(batch);
    } catch (error) {
      // A replayed commit that does not decode although its WAL checksum held (a kvs defect):
      // nothing of the batch was issued; it is tried again later and writes are refused meanwhile.
      this.applyFailed(error);
      return;
    }
    // Issued synchronously: lmdb-js puts them all in one transaction.
    const before = this.oldestKept;
    let oldest = before;
    const extent = { ...this.auditExtent };
    const history = { ...this.historyExtent };
    try {
      for (const commit of encoded) oldest = this.writeCommit(commit, oldest, extent, history, queuedWrites);
    } catch (error) {
      // A read among the writes (a key's history extent, the audit trail's oldest entries) met
      // LMDB's fatal state: the coded stop, before lmdb-js can commit the writes already issued
      // (thrown on, it ended the process as an uncaught error; the ENOSPC window test caught it).
      this.checkPanicAfterFailure(error);
      throw error;
    }
    if (oldest !== before) void this.meta.put(OLDEST, oldest);
    this.putAuditExtent(extent, queuedWrites);
    this.putHistoryExtent(history, queuedWrites);
    const last = batch.at(-1)!.revision;
    const committed = this.meta.put(REVISION, last);
    this.guardBatchPromise();
    const flushed = flushOf(committed);
    this.applying = committed.then(
      () => {
        this.oldestKept = oldest;
        this.auditExtent = extent;
        this.historyExtent = history;
        this.applyRetryMs = APPLY_RETRY_MS;
        this.applyRetrying = false;
        this.appliedBatch(batch);
        this.checkpointWhenFlushed(flushed, last);
        // Unless a full batch is already waiting, lmdb waits APPLY_PAUSE_MS before its next
        // transaction, so that one transaction carries many more commits (see the constant).
        if (this.applyQueue.length < APPLY_BATCH_MAX) {
          return new Promise<void>((resolve) => setTimeout(resolve, APPLY_PAUSE_MS)).then(() => {
            this.applying = undefined;
            this.applyDurable();
          });
        }
        this.applying = undefined;
        this.applyDurable();
      },
      (error: unknown) => {
        this.applying = undefined;
        this.applyRetrying = false;
        this.applyFailed(error);
      },
    );
  }

  /**
   * Group-commit figures of the WAL path since open (undefined without the WAL): WAL flushes and
   * the records they carried, lmdb transactions and the commits they applied.
   */
  writeStats(): WriteStats | undefined {
    if (this.wal === undefined) return undefined;
    const { records, flushes } = this.wal.stats;
    return { walRecords: records, walFlushes: flushes, ...this.applyCounts, unappliedCommits: this.applyQueue.length };
  }

  /**
   * lmdb now holds `key` as written at `revision`: the overlay keeps it only if written since.
   * When this was the key's newest write, the record cache takes it over from the overlay, so the
   * next plan of a write to the key does not read it back from lmdb: invalidating it instead sent
   * nearly every overwrite to lmdb and the record decoder (about 4.5% of the main thread under
   * redis-benchmark SET, 2026-11-30).
   */
  private forgetApplied(key: string, revision: number): void {
    const entry = this.unapplied.get(key);
    if (entry?.revision !== revision) {
      this.cache?.invalidate(key);
      return;
    }
    this.unapplied.delete(key);
    this.overlayRecency.remove(entry);
    if (entry.record === null) this.cache?.invalidate(key);
    else this.cache?.add(key, entry.record);
  }

  /**
   * The batch as lmdb writes it, decoded first, so that a commit that does not decode stops the
   * batch before any write of it is issued. A replayed commit's records before it are lmdb's
   * (every earlier batch is committed: one transaction at a time) or an earlier commit's of the
   * same batch.
   */
  private encodedBatch(batch: readonly QueuedCommit[]): EncodedCommit[] {
    let written: Map<string, StoredRecord | null> | undefined;
    return batch.map((commit) => {
      if (!(commit instanceof ReplayedCommit)) {
        if (written !== undefined) for (const write of commit.writes) written.set(write.key, write.record);
        return commit;
      }
      const batchWrites = (written ??= new Map());
      const encoded = commit.encoded((key) =>
        batchWrites.has(key) ? (batchWrites.get(key) ?? undefined) : this.storedRecord(key),
      );
      for (const write of encoded.writes) batchWrites.set(write.key, write.record);
      return encoded;
    });
  }

  /** The record lmdb holds for `key`, past the overlay and the cache. */
  private storedRecord(key: string): StoredRecord | undefined {
    const buffer = this.kv.getBinary(key);
    return buffer === undefined ? undefined : decodeRecord(buffer, key, this.acceptFormat1);
  }

  /** lmdb holds `batch`: the overlay forgets what lmdb now answers the same. */
  private appliedBatch(batch: readonly QueuedCommit[]): void {
    this.applyCounts.applyTransactions++;
    this.applyCounts.appliedCommits += batch.length;
    this.applyQueue.splice(0, batch.length);
    for (const commit of batch) {
      this.unappliedBytes -= commit.bytes;
      if (commit instanceof ReplayedCommit) for (const key of commit.keys) this.forgetApplied(key, commit.revision);
      else for (const write of commit.writes) this.forgetApplied(write.key, commit.revision);
    }
    const waiters = this.applyWaiters;
    this.applyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * lmdb could not apply a batch (a full disk, an I/O error). Its commits are acknowledged and in
   * the WAL, so they stay in the overlay (reads go on) and the batch is tried again, after
   * APPLY_RETRY_MS and then less often; new writes are refused meanwhile with the failure's error
   * (507 for a full disk), and resume by themselves once lmdb takes the batch. After an I/O error
   * writes stay refused until a restart, which replays the WAL.
   */
  private applyFailed(error: unknown): void {
    this.checkPanicAfterFailure(error);
    this.recordFailure(error, classifyWriteFailure(error, this.options.path));
    this.applyRetryMs = Math.min(this.applyRetryMs * 2, APPLY_RETRY_MAX_MS);
    this.applyStalled = setTimeout(() => this.retryApply(), this.applyRetryMs);
  }

  private retryApply(): void {
    this.applyStalled = undefined;
    let stored: number;
    try {
      stored = this.readRevision();
    } catch (error) {
      this.applyFailed(error);
      return;
    }
    // A failure reported on this batch may belong to lmdb's sync of an earlier one (lmdb-js
    // reports a failed fdatasync on the next commit): commits lmdb holds are not applied twice.
    let held = 0;
    while (held < this.applyQueue.length && this.applyQueue[held]!.revision <= stored) held++;
    if (held > 0) this.appliedBatch(this.applyQueue.slice(0, held));
    this.oldestKept = this.meta.get(OLDEST) ?? 1;
    this.auditExtent = this.storedAuditExtent();
    this.historyExtent = this.storedHistoryExtent();
    this.applyDurable();
    this.applyRetrying = this.applying !== undefined;
  }

  /** New commits wait while the overlay holds more than UNAPPLIED_BYTES_MAX (lmdb is behind). */
  private async walBackpressure(): Promise<void> {
    while (this.lmdbTooFarBehind()) await new Promise<void>((resolve) => this.applyWaiters.push(resolve));
  }

  /** Whether new commits must wait for lmdb: the overlay past its bound, lmdb not stalled on a failure. */
  private lmdbTooFarBehind(): boolean {
    return (
      this.unappliedBytes > (this.options.unappliedBytesMax ?? UNAPPLIED_BYTES_MAX) && this.applyStalled === undefined
    );
  }

  /** lmdb's commit of `revision` is on disk: the WAL segments before it can go. */
  private checkpointWhenFlushed(flushed: PromiseLike<unknown>, revision: number): void {
    flushed.then(() => {
      if (revision <= this.checkpointed) return;
      this.checkpointed = revision;
      const wal = this.wal;
      if (wal === undefined || wal.stats.segments < 2) return;
      this.releasing = this.releasing.then(() => wal.releaseThrough(this.checkpointed)).catch(ignore);
    }, ignore);
  }

  /**
   * A WAL append failed (WalError): that flush's commits and every one queued after it were not
   * synced, and are refused (the WAL reuses their revisions). Commits synced before them are
   * acknowledged and in the overlay already, so planning goes on from them.
   */
  private walAppendFailed(error: unknown): void {
    if (this.failureSeen === error) return;
    const durable = this.wal!.durableRevision;
    const refused = this.walQueue.filter((pending) => pending.commit.revision > durable);
    this.walQueue = this.walQueue.filter((pending) => pending.commit.revision <= durable);
    const cause = error instanceof WalError && error.cause !== undefined ? error.cause : error;
    this.recordFailure(
      error,
      error instanceof WalError && error.code === 'wal_sync_failed'
        ? Promise.resolve<WriteFailure>({ kind: 'io', code: (cause as { code?: string }).code, cause: error })
        : classifyWriteFailure(cause, this.options.path),
    );
    // The refusals are decided before any new commit is planned: new commits wait for this.
    this.walRefusing = this.lastFailureError().then((refusal) => {
      for (const pending of refused) pending.reject(refusal);
      this.walRefusing = undefined;
    });
  }

  /**
   * Plans a transaction of the exclusive paths against the store (and, through readRecord, the
   * WAL path's overlay) plus the writes in flight. A plan that writes something marks its writes
   * in flight and is returned with the marks; one that writes nothing comes with its answer.
   */
  private planOverInFlight(
    txn: Txn,
    now: number,
    revision: number,
  ): { plan: Extract<Plan, { ok: true }>; marks: [string, InFlight][] } | { answer: () => Promise<CommitResult> } {
    let sawInFlight = false;
    const read = (key: string): StoredRecord | undefined => {
      const pending = this.inFlight.get(key);
      if (pending === undefined) return this.readRecord(key);
      sawInFlight = true;
      return pending.record ?? undefined;
    };
    const failuresBefore = this.failures;
    const plan = planCommit(txn, now, revision, read, this.options.logValueMax);
    if (!plan.ok || !plan.changed) {
      // An answer that writes nothing but was decided on writes still in flight (a failed CAS
      // naming a version not yet committed) must not be given before those writes are durable:
      // a read after it would still see the older value (caught by the linearizability test).
      // If one of them failed instead, the answer was decided on writes that never happened.
      const answer = async (): Promise<CommitResult> => {
        if (sawInFlight) {
          await this.lastCommit.catch(() => undefined);
          if (this.failures !== failuresBefore) throw await this.lastFailureError();
        }
        return plan.ok ? { ok: true, revision: plan.revision, puts: plan.puts, deleted: plan.deleted } : plan;
      };
      return { answer };
    }
    const marks: [string, InFlight][] = [];
    for (const write of plan.writes) {
      const mark: InFlight = { record: write.record };
      this.inFlight.set(write.key, mark);
      marks.push([write.key, mark]);
    }
    return { plan, marks };
  }

  private async commitExclusive(txn: Txn, now: number): Promise<CommitResult> {
    while (this.resyncing !== undefined) await this.resyncing;
    this.refuseAfterIoError();
    this.rebuildFoldersIfStale();
    const planned = this.planOverInFlight(txn, now, this.nextRevision);
    if (!('marks' in planned)) return planned.answer();
    const { plan, marks } = planned;
    // Everything below is issued synchronously, so lmdb-js puts it in one LMDB transaction.
    this.nextRevision = plan.revision;
    const written = this.writePlan(
      plan,
      txn,
      now,
      this.oldestKept,
      { audit: this.auditExtent, history: this.historyExtent },
      queuedWrites,
    );
    this.oldestKept = written.oldest;
    // Every unconditional write of one lmdb-js batch returns the same promise, `committed`,
    // awaited below; the batch's own start marker gets one more, handled here (after a write:
    // lmdb-js schedules the marker at the turn's first write).
    this.guardBatchPromise();
    const committed = written.revisionWritten;
    // The flush of this very batch, taken now: `root.flushed` read after the commit resolves is
    // the flush of whatever batch is newest by then, so every write also waited for a later
    // batch's commit and fsync. Measured, HTTP PUT with wrk -c50, two A/B pairs:
    // 12.1k and 12.3k req/s before, 14.8k and 16.0k after.
    const flushed = flushOf(committed);
    const durable = (async () => {
      try {
        await committed;
      } catch (error) {
        // Noted at once, before any later batch's commit resolves (lmdb-js commits in order).
        this.noteFailure(plan.revision, error);
        throw error;
      }
      // The cache follows the store as soon as the commit is visible, as reads without it did.
      // Invalidated, not updated: the next read caches what the store holds, whatever order
      // concurrent commits to one key resolve in.
      if (this.cache !== undefined) for (const write of plan.writes) this.cache.invalidate(write.key);
      await this.awaitFlush(flushed);
    })();
    this.lastCommit = durable;
    try {
      await durable;
      // A batch issued after one that failed was planned on writes that never happened (its
      // revision follows theirs, its checks saw them): it is not acknowledged, even if it committed.
      if (plan.revision > this.failedFrom) throw await this.lastFailureError();
    } catch (error) {
      this.startResync();
      throw error instanceof StorageFullError || error instanceof EngineUnavailableError
        ? error
        : await this.lastFailureError();
    } finally {
      for (const [key, mark] of marks) if (this.inFlight.get(key) === mark) this.inFlight.delete(key);
    }
    this.publishLocal(plan.revision);
    return { ok: true, revision: plan.revision, puts: plan.puts, deleted: plan.deleted };
  }

  /**
   * lmdb-js opens each event-turn batch with a marker write whose promise, made in a
   * setImmediate after the turn's first write, rejects when the batch fails and has no handler:
   * with `--unhandled-rejections=strict` that killed the process on a full disk. Ours runs after
   * lmdb-js's setImmediate, when `committed` is that promise.
   */
  private guardBatchPromise(): void {
    if (this.batchGuardQueued) return;
    this.batchGuardQueued = true;
    setImmediate(() => {
      this.batchGuardQueued = false;
      this.root.committed.then(ignore, ignore);
    });
  }

  /**
   * Writes a planned commit in the store's layout, in both modes: records and their indexes, the
   * change-log entry, the log entries past logLength, then the revision. `oldest` is the oldest
   * revision the log keeps before it; returns the one after it, and what writing the revision
   * returned (exclusive mode: lmdb-js's promise for the whole batch).
   */
  private writePlan<R>(
    plan: Extract<Plan, { ok: true }>,
    txn: Txn,
    now: number,
    oldest: number,
    extents: { audit: AuditExtent; history: HistoryStoreExtent },
    writes: StoreWrites<R>,
  ): { oldest: number; revisionWritten: R } {
    const kept = this.writeCommit(
      encodedCommitOf(plan, txn, now, this.historyRetention.versions > 0),
      oldest,
      extents.audit,
      extents.history,
      writes,
    );
    if (kept !== oldest) writes.put(this.meta, OLDEST, kept);
    this.putAuditExtent(extents.audit, writes);
    this.putHistoryExtent(extents.history, writes);
    return { oldest: kept, revisionWritten: writes.put(this.meta, REVISION, plan.revision) };
  }

  /** One key's new record (or its removal) and its expiry and recent index entries. */
  private writeRecordChange<R>(write: CommitWrite, writes: StoreWrites<R>): void {
    this.countFolders(write.key, storedKeyDelta(write.previous !== undefined, write.record !== null), writes);
    const previousExpires = write.previous?.expires ?? null;
    if (previousExpires !== null) writes.remove(this.expiry, [previousExpires, write.key]);
    if (write.previous !== undefined) writes.remove(this.recent, [write.previous.modRevision, write.key]);
    if (write.record === null) {
      writes.remove(this.kv, write.key);
    } else {
      writes.put(this.kv, write.key, write.encoded!);
      writes.put(this.recent, [write.record.modRevision, write.key], recentValueOf(write.key, write.record));
      if (write.record.expires !== null) writes.put(this.expiry, [write.record.expires, write.key], write.key);
    }
  }

  /**
   * Moves the count of every indexed folder `key` lies in by `delta` (folder-index.ts). Queued
   * writes count on from the counts still in flight (folderPending), each forgotten once lmdb
   * has committed it, or has failed it: the WAL path then applies the batch again from lmdb's
   * counts; `--wal off`, whose later batches may have counted on the failed one, rebuilds.
   */
  private countFolders<R>(key: string, delta: number, writes: StoreWrites<R>): void {
    if (delta === 0) return;
    let issued: [string, { readonly size: number }][] | undefined;
    let written: R | undefined;
    for (const folder of indexedFolders(key)) {
      let size: number;
      try {
        size = (this.folderPending.get(folder)?.size ?? this.folders.get(folder) ?? 0) + delta;
      } catch {
        // A count that cannot be read is not guessed at: counts stop being answered until rebuilt.
        this.foldersStale = true;
        continue;
      }
      written = size > 0 ? writes.put(this.folders, folder, size) : writes.remove(this.folders, folder);
      if (writes.settled === undefined) continue;
      const pending = { size: Math.max(size, 0) };
      this.folderPending.set(folder, pending);
      (issued ??= []).push([folder, pending]);
    }
    // One watch per write, not per folder: the writes of one key share lmdb-js's batch promise.
    if (issued === undefined || written === undefined) return;
    writes.settled!(written, (committed) => {
      for (const [folder, pending] of issued)
        if (this.folderPending.get(folder) === pending) this.folderPending.delete(folder);
      if (!committed && this.wal === undefined) this.foldersStale = true;
    });
  }

  /**
   * Writes one commit's records, their index entries, its change-log entry and the removal of
   * log entries past logLength; the caller writes the revision (and OLDEST when it changed).
   * Returns the oldest revision the log keeps after it.
   */
  private writeCommit<R>(
    commit: EncodedCommit,
    oldest: number,
    extent: AuditExtent,
    history: HistoryStoreExtent,
    writes: StoreWrites<R>,
  ): number {
    for (const write of commit.writes) this.writeRecordChange(write, writes);
    writes.put(this.log, commit.revision, commit.logEntry);
    if (commit.audit !== undefined)
      this.writeAudit(commit.revision, commit.audit.bytes, commit.audit.time, extent, writes);
    this.writeHistory(commit.revision, commit.history, history, writes);
    let kept = oldest;
    while (commit.revision - kept >= this.options.logLength) {
      writes.remove(this.log, kept);
      kept++;
    }
    return kept;
  }

  /**
   * Writes a commit's audit entry, then drops at most AUDIT_DROP_MAX of the oldest entries while
   * the trail is past its bounds at the commit's time (docs/audit.md); `extent` follows.
   * The entries dropped are read from lmdb as committed: entries issued but not committed yet
   * (this batch's) are the newest, dropped by a later commit if they must go.
   */
  private writeAudit<R>(
    revision: number,
    bytes: Buffer,
    time: number,
    extent: AuditExtent,
    writes: StoreWrites<R>,
  ): void {
    writes.put(this.auditLog, revision, bytes);
    extent.bytes += bytes.length;
    // The oldest entry's time is known and within bounds: nothing to read.
    if (extent.oldestTime !== undefined && !auditOverBounds(this.retention, extent.bytes, extent.oldestTime, time))
      return;
    extent.oldestTime = undefined;
    // Read first, then removed: no removal under an open cursor.
    const oldest: { revision: number; length: number; time: number }[] = [];
    for (const { key, value } of this.auditLog.getRange({ start: extent.from, limit: AUDIT_DROP_MAX + 1 }))
      oldest.push({ revision: key, length: value.length, time: auditTimeOrNaN(value, key) });
    for (const [index, entry] of oldest.entries()) {
      if (index >= AUDIT_DROP_MAX || !auditOverBounds(this.retention, extent.bytes, entry.time, time)) {
        extent.from = entry.revision;
        // A damaged entry (NaN) goes by its bytes only; its time is looked at again next time.
        extent.oldestTime = Number.isNaN(entry.time) ? undefined : entry.time;
        return;
      }
      writes.remove(this.auditLog, entry.revision);
      extent.bytes -= entry.length;
      extent.from = entry.revision + 1;
    }
  }

  /**
   * Writes a commit's history entries and their extents, then drops at most HISTORY_DROP_MAX of
   * the oldest entries past the per-key bounds (of the keys it wrote) and the store-wide bound,
   * never the commit's own (docs/history.md); `store` follows. As with the audit trail, the
   * entries dropped are read from lmdb as committed, and each key's `from` (and the store's)
   * moves past what was removed, so two queued commits never remove one entry twice.
   */
  private writeHistory<R>(
    revision: number,
    entries: readonly HistoryWrite[] | undefined,
    store: HistoryStoreExtent,
    writes: StoreWrites<R>,
  ): void {
    if (entries === undefined || entries.length === 0 || this.historyRetention.versions === 0) return;
    const touched = new Map<string, KeyHistoryExtent | null>();
    const extentOf = (key: string): KeyHistoryExtent | null => {
      if (!touched.has(key)) {
        const held = this.readKeyExtent(key);
        touched.set(key, held === null ? null : { ...held });
      }
      return touched.get(key)!;
    };
    for (const entry of entries) {
      const length = entry.bytes.length;
      writes.put(this.historyLog, [entry.key, revision], entry.bytes);
      writes.put(this.historyOrder, [revision, entry.key], length);
      const held = extentOf(entry.key);
      // A key that held a value, with no entry since history started: its earlier states are unknown.
      if ((held === null || held.newest < this.historyStartedAt) && existedBefore(entry))
        store.reachable = Math.max(store.reachable, revision);
      const extent = held ?? { count: 0, bytes: 0, from: revision, newest: revision, type: entry.type };
      extent.count++;
      extent.bytes += length;
      extent.newest = revision;
      extent.type = entry.type;
      touched.set(entry.key, extent);
      store.bytes += length;
    }
    let budget = HISTORY_DROP_MAX;
    /** Keys that lost entries here, with the newest revision dropped (for the reach, below). */
    const lastDropped = new Map<string, number>();
    for (const entry of entries) {
      const extent = touched.get(entry.key)!;
      if (budget === 0 || !keyOverBounds(this.historyRetention, extent.count, extent.bytes)) continue;
      // Read first, then removed: no removal under an open cursor.
      const oldest: { revision: number; length: number }[] = [];
      for (const { key, value } of this.historyLog.getRange({ start: [entry.key, extent.from], limit: budget })) {
        if (key[0] !== entry.key || key[1] >= revision) break;
        oldest.push({ revision: key[1], length: value.length });
      }
      for (const old of oldest) {
        if (!keyOverBounds(this.historyRetention, extent.count, extent.bytes)) break;
        this.removeHistoryEntry(entry.key, old.revision, old.length, extent, store, writes);
        lastDropped.set(entry.key, old.revision);
        budget--;
      }
    }
    if (budget > 0 && store.bytes > this.historyRetention.storeBytes) {
      const oldest: { revision: number; key: string; length: number }[] = [];
      for (const { key, value } of this.historyOrder.getRange({ start: [store.from, ''], limit: budget })) {
        if (key[0] >= revision) break;
        oldest.push({ revision: key[0], key: key[1], length: value });
      }
      for (const old of oldest) {
        if (store.bytes <= this.historyRetention.storeBytes) break;
        store.from = old.revision;
        const extent = extentOf(old.key);
        // Already dropped by its key's own bound (in a commit of this batch): nothing left to remove.
        if (extent === null || old.revision < extent.from) continue;
        this.removeHistoryEntry(old.key, old.revision, old.length, extent, store, writes);
        lastDropped.set(old.key, old.revision);
        touched.set(old.key, extent.count === 0 ? null : extent);
      }
    }
    for (const [key, dropped] of lastDropped)
      store.reachable = Math.max(store.reachable, this.oldestLeft(key, touched.get(key) ?? null, dropped, revision));
    for (const [key, extent] of touched) this.putKeyExtent(key, extent, writes);
  }

  /**
   * The revision of `key`'s oldest entry left after drops (the last at `dropped`), for the reach:
   * its states from there on are known. lmdb holds it unless it is still queued (then it is at
   * most the key's newest); one past the dropped entry when none is left. Entries at or past
   * `extent.from` were not removed by queued writes (drops go oldest first).
   */
  private oldestLeft(key: string, extent: KeyHistoryExtent | null, dropped: number, revision: number): number {
    if (extent === null || extent.count === 0) return dropped + 1;
    for (const { key: at } of this.historyLog.getRange({ start: [key, extent.from], limit: 1 }))
      if (at[0] === key && at[1] < revision) return at[1];
    return extent.newest;
  }

  /** Removes the oldest kept entry of `key` (at `revision`): the extents follow. */
  private removeHistoryEntry<R>(
    key: string,
    revision: number,
    length: number,
    extent: KeyHistoryExtent,
    store: HistoryStoreExtent,
    writes: StoreWrites<R>,
  ): void {
    writes.remove(this.historyLog, [key, revision]);
    writes.remove(this.historyOrder, [revision, key]);
    extent.count--;
    extent.bytes -= length;
    extent.from = revision + 1;
    store.bytes -= length;
  }

  /** A key's history extent: the one still in flight (queued writes), else lmdb's; null for none. */
  private readKeyExtent(key: string): KeyHistoryExtent | null {
    const pending = this.historyPending.get(key);
    if (pending !== undefined) return pending.extent;
    const stored = this.historyKeys.get(key);
    if (stored === undefined) return null;
    const [count, bytes, from, newest, type] = stored;
    return { count, bytes, from, newest, type };
  }

  private putKeyExtent<R>(key: string, extent: KeyHistoryExtent | null, writes: StoreWrites<R>): void {
    const written =
      extent === null
        ? writes.remove(this.historyKeys, key)
        : writes.put(this.historyKeys, key, [extent.count, extent.bytes, extent.from, extent.newest, extent.type]);
    if (writes.settled === undefined) return;
    const pending = { extent: extent === null ? null : { ...extent } };
    this.historyPending.set(key, pending);
    writes.settled(written, () => {
      if (this.historyPending.get(key) === pending) this.historyPending.delete(key);
    });
  }

  private storedHistoryExtent(): HistoryStoreExtent {
    const stored = this.meta.get(HISTORY_STATE) as unknown as [number, number, number?] | undefined;
    return { bytes: stored?.[0] ?? 0, from: stored?.[1] ?? 1, reachable: stored?.[2] ?? 0 };
  }

  private putHistoryExtent<R>(extent: HistoryStoreExtent, writes: StoreWrites<R>): void {
    if (this.historyRetention.versions === 0) return;
    writes.put(this.meta as unknown as Database<[number, number, number], string>, HISTORY_STATE, [
      extent.bytes,
      extent.from,
      extent.reachable,
    ]);
  }

  /**
   * HistoryReach's `startedAt`: kept while every open keeps history. The first open with history
   * starts it at the store's revision (0 for a new store: its whole past is in history); an open
   * without history removes it, so that the next one with history starts again after the gap.
   */
  private startHistory(): number {
    const on = this.historyRetention.versions > 0;
    const held = this.meta.get(HISTORY_STARTED);
    if (on ? held !== undefined : held === undefined) return held ?? 0;
    return this.root.transactionSync(() => {
      const again = this.meta.get(HISTORY_STARTED);
      if (!on) {
        if (again !== undefined) this.meta.removeSync(HISTORY_STARTED);
        return 0;
      }
      if (again !== undefined) return again;
      const started = this.readRevision();
      this.meta.putSync(HISTORY_STARTED, started);
      return started;
    });
  }

  async historyReach(): Promise<HistoryReach | undefined> {
    if (this.historyRetention.versions === 0) return undefined;
    this.freshSnapshot();
    try {
      // From lmdb's snapshot, as keyEntryAt reads the entries (the drops a queued batch makes are
      // not in it, nor are the entries they remove gone from it).
      return { startedAt: this.historyStartedAt, reachable: this.storedHistoryExtent().reachable };
    } catch (error) {
      throw this.readError(error);
    }
  }

  async keyEntryAt(key: string, revision: number): Promise<KeyVersion | undefined> {
    this.freshSnapshot();
    try {
      const stored = this.readRevision();
      // Acknowledged commits lmdb has not applied are the newest: first, newest first.
      for (let index = this.applyQueue.length - 1; index >= 0; index--) {
        const commit = this.applyQueue[index]!;
        if (commit.revision <= stored) break;
        if (commit.revision > revision) continue;
        for (const entry of commit.history ?? [])
          if (entry.key === key) return decodeHistoryEntry(entry.bytes, key, commit.revision, true);
      }
      for (const { key: at, value } of this.historyLog.getRange({
        start: [key, Math.min(revision, stored)],
        reverse: true,
      })) {
        if (at[0] !== key || at[1] < this.historyStartedAt) return undefined;
        if (at[1] > revision) continue;
        return decodeHistoryEntry(value, key, at[1], true);
      }
      return undefined;
    } catch (error) {
      throw this.readError(error);
    }
  }

  /**
   * A key's kept entries, newest first (the acknowledged commits lmdb has not applied first),
   * within the kept window (KeptWindow), as [revision, bytes]; stops when `visit` returns false.
   */
  private walkKeyHistory(key: string, visit: (revision: number, bytes: Uint8Array) => boolean): void {
    const window = new KeptWindow(this.historyRetention);
    const stored = this.readRevision();
    for (let index = this.applyQueue.length - 1; index >= 0; index--) {
      const commit = this.applyQueue[index]!;
      if (commit.revision <= stored) break;
      for (const entry of commit.history ?? []) {
        if (entry.key !== key) continue;
        if (!window.admit(entry.bytes.length) || !visit(commit.revision, entry.bytes)) return;
      }
    }
    for (const { key: at, value } of this.historyLog.getRange({ start: [key, stored], reverse: true })) {
      if (at[0] !== key) break;
      if (at[1] > stored) continue;
      if (!window.admit(value.length) || !visit(at[1], value)) return;
    }
  }

  async keyHistory(key: string, query: KeyHistoryQuery): Promise<KeyHistoryPage> {
    this.freshSnapshot();
    const limit = historyPageLimit(query);
    const versions: KeyVersion[] = [];
    let more = false;
    try {
      this.walkKeyHistory(key, (revision, bytes) => {
        if (query.before !== undefined && revision >= query.before) return true;
        if (versions.length >= limit) {
          more = true;
          return false;
        }
        versions.push(decodeHistoryEntry(bytes, key, revision, query.values));
        return true;
      });
    } catch (error) {
      throw this.readError(error);
    }
    return { versions, next: more ? versions.at(-1)!.revision : undefined };
  }

  async keyVersion(key: string, revision: number): Promise<KeyVersion | undefined> {
    this.freshSnapshot();
    let found: KeyVersion | undefined;
    try {
      this.walkKeyHistory(key, (at, bytes) => {
        if (at === revision) found = decodeHistoryEntry(bytes, key, revision, true);
        return at > revision;
      });
    } catch (error) {
      throw this.readError(error);
    }
    return found;
  }

  /**
   * Keys whose newest kept entry is a delete or an expiry, from historyKeys (which records each
   * key's newest entry type) merged with the keys of acknowledged commits lmdb has not applied
   * yet (whose newest entry only a walk of the key's history knows); at most DELETED_SCAN_MAX keys
   * with history examined, then `next` is the last one examined.
   */
  async deletedKeys(query: DeletedKeysQuery): Promise<DeletedKeysPage> {
    this.freshSnapshot();
    const limit = deletedPageLimit(query.limit);
    const keys: DeletedKey[] = [];
    const unapplied = this.unappliedHistoryKeys();
    let examined = 0;
    let last: string | undefined;
    try {
      for (const key of this.historyKeyRange(query, unapplied)) {
        if (examined >= DELETED_SCAN_MAX) return { keys, next: last };
        examined++;
        last = key;
        if (!unapplied.has(key) && this.readKeyExtent(key)?.type === 'put') continue;
        const deleted = deletedKeyOf(key, (visit) => this.walkKeyHistory(key, visit));
        if (deleted === undefined) continue;
        if (keys.length === limit) return { keys, next: keys.at(-1)!.key };
        keys.push(deleted);
      }
    } catch (error) {
      throw this.readError(error);
    }
    return { keys, next: undefined };
  }

  /** Keys with history entries in commits lmdb has not applied, or applied in a transaction not yet settled. */
  private unappliedHistoryKeys(): Set<string> {
    const keys = new Set(this.historyPending.keys());
    const stored = this.readRevision();
    for (let index = this.applyQueue.length - 1; index >= 0; index--) {
      const commit = this.applyQueue[index]!;
      if (commit.revision <= stored) break;
      for (const entry of commit.history ?? []) keys.add(entry.key);
    }
    return keys;
  }

  /** The keys with history under `prefix` after `after`, in byte order: historyKeys' merged with `unapplied`. */
  private *historyKeyRange(query: DeletedKeysQuery, unapplied: ReadonlySet<string>): Generator<string> {
    const start = query.after !== undefined && compareKeys(query.after, query.prefix) >= 0 ? query.after : query.prefix;
    const pending = [...unapplied]
      .filter((key) => key.startsWith(query.prefix) && compareKeys(key, start) >= 0 && key !== query.after)
      .sort(compareKeys);
    let next = 0;
    // No `end`, as in mergedRange: keys under the prefix are contiguous.
    for (const key of this.historyKeys.getKeys({ start })) {
      if (!key.startsWith(query.prefix)) break;
      if (key === query.after) continue;
      while (next < pending.length && compareKeys(pending[next]!, key) < 0) yield pending[next++]!;
      if (next < pending.length && pending[next] === key) next++;
      yield key;
    }
    while (next < pending.length) yield pending[next++]!;
  }

  /** The audit trail's extent as lmdb holds it. */
  private storedAuditExtent(): AuditExtent {
    const stored = this.meta.get(AUDIT_STATE) as unknown as [number, number] | undefined;
    return { bytes: stored?.[0] ?? 0, from: stored?.[1] ?? 1, oldestTime: undefined };
  }

  private putAuditExtent<R>(extent: AuditExtent, writes: StoreWrites<R>): void {
    writes.put(this.meta as unknown as Database<[number, number], string>, AUDIT_STATE, [extent.bytes, extent.from]);
  }

  async audit(query: AuditQuery): Promise<AuditPage> {
    this.freshSnapshot();
    try {
      const stored = this.readRevision();
      const examined: AuditEntry[] = [];
      let more = false;
      // Acknowledged commits lmdb has not applied (WAL path) are the newest: first, newest first.
      for (let index = this.applyQueue.length - 1; index >= 0; index--) {
        const commit = this.applyQueue[index]!;
        if (commit.revision <= stored) break;
        if (query.before !== undefined && commit.revision >= query.before) continue;
        if (commit.audit === undefined) continue;
        if (examined.length >= query.limit) {
          more = true;
          break;
        }
        examined.push(decodeAuditEntry(commit.audit.bytes, commit.revision));
      }
      if (!more) {
        const start = Math.min(query.before === undefined ? stored : query.before - 1, stored);
        for (const { key, value } of this.auditLog.getRange({ start, reverse: true, limit: query.limit + 1 })) {
          if (examined.length >= query.limit) {
            more = true;
            break;
          }
          examined.push(decodeAuditEntry(value, key));
        }
      }
      return auditPageOf(query, examined, more);
    } catch (error) {
      throw this.readError(error);
    }
  }

  /**
   * Waits until a committed batch is on disk (strict durability), in both modes. With overlapping
   * syncs, an fdatasync that fails is reported on a later batch's commit, and this batch's flush
   * promise never settles (measured under strace --inject fdatasync:error=EIO): a failure noted
   * meanwhile refuses this write too, never acknowledged.
   */
  private async awaitFlush(flushed: PromiseLike<unknown>): Promise<void> {
    if (this.options.durability === 'strict') {
      // A flush lmdb-js never settles (its fdatasync failed, no later batch): kvs syncs the file
      // itself after FLUSH_CONFIRM_MS (flush-confirm.ts).
      const witness = this.flushConfirmer.after((error) => this.noteFailure(0, error));
      try {
        await Promise.race([flushed, this.flushFailed, witness.confirmed]);
      } finally {
        witness.cancel();
      }
    }
    this.unflushedFailure = false;
  }

  /** Settles (rejected) when the next batch failure is noted: flush waits race it. */
  private armFlushFailure(): void {
    this.flushFailed = new Promise<never>((_, reject) => {
      this.rejectFlushWaits = reject;
    });
    this.flushFailed.catch(ignore);
  }

  private noteFailure(revision: number, error: unknown): void {
    this.checkPanicAfterFailure(error);
    this.rejectFlushWaits(error);
    this.armFlushFailure();
    if (revision < this.failedFrom) this.failedFrom = revision;
    this.unflushedFailure = true;
    if (this.failureSeen !== error) this.recordFailure(error, classifyWriteFailure(error, this.options.path));
  }

  /**
   * A failed write, of any write path: counted once, its kind kept for the refusals that follow
   * (lastFailureError); an I/O error other than a full disk refuses writes until restart, and
   * LMDB's fatal state behind it stops kvs.
   */
  private recordFailure(error: unknown, failure: Promise<WriteFailure>): void {
    this.failureSeen = error;
    this.failures++;
    this.failureKind = failure;
    failure.then((known) => {
      if (known.kind === 'io') this.ioFailure ??= known;
      this.checkPanicAfterFailure(known.cause);
    }, ignore);
  }

  /** The error a write refused because of the most recent failed batch is answered with. */
  private async lastFailureError(): Promise<Error> {
    const failure = await this.failureKind;
    if (failure === undefined) return new EngineUnavailableError('write to the store failed');
    if (failure.kind === 'full')
      return new StorageFullError(`the disk is full: ${describeFailure(failure)}`, { cause: failure.cause });
    this.ioFailure ??= failure;
    return this.ioFailureError();
  }

  private ioFailureError(): EngineUnavailableError {
    const failure = this.ioFailure!;
    return new EngineUnavailableError(
      `a write to the store failed with an I/O error (${describeFailure(failure)}); writes are refused until kvs is restarted, reads still work (docs/durability.md)`,
      { cause: failure.cause },
    );
  }

  /** After an I/O error other than a full disk, what is on disk is unknown: no more writes. */
  private refuseAfterIoError(): void {
    if (this.ioFailure !== undefined) throw this.ioFailureError();
  }

  /**
   * After a failed batch: once every batch issued before it settled, plan from what the store
   * really holds again (revision, oldest log revision, records), so the next write is planned
   * against the disk and not against writes that failed. New commits wait for this.
   */
  private startResync(): void {
    this.resyncing ??= (async () => {
      let last: Promise<void>;
      do {
        last = this.lastCommit;
        await last.catch(ignore);
      } while (last !== this.lastCommit);
      await this.failureKind?.catch(ignore);
      try {
        this.nextRevision = this.readRevision();
        this.oldestKept = this.meta.get(OLDEST) ?? 1;
        this.auditExtent = this.storedAuditExtent();
        this.historyExtent = this.storedHistoryExtent();
      } catch (error) {
        // The store itself fails: writes are refused until restart like after an I/O error, and
        // nothing is left to reject unheard (LMDB's fatal state has stopped kvs in readError).
        const cause = this.readError(error);
        this.ioFailure ??= { kind: 'io', code: (error as { code?: number }).code, cause };
      }
      this.cache?.clear();
      this.expiredKeys?.clear();
      this.rebuildFoldersIfStale();
      this.failedFrom = Number.POSITIVE_INFINITY;
      this.lastCommit = Promise.resolve();
      this.resyncing = undefined;
    })();
  }

  private async commitShared(txn: Txn, now: number): Promise<CommitResult> {
    this.refuseAfterIoError();
    let outcome: ReturnType<LmdbEngine['applyInWriteTxn']>;
    try {
      const transaction = this.root.transaction(() => this.applyInWriteTxn(txn, now));
      // The batch's promises as they are now and after lmdb-js's setImmediate (guardBatchPromise).
      this.root.committed.then(ignore, ignore);
      this.guardBatchPromise();
      outcome = await transaction;
    } catch (error) {
      this.noteFailure(0, error);
      throw await this.lastFailureError();
    }
    if (!outcome.ok) return outcome;
    if (outcome.events.length > 0) {
      try {
        await this.awaitFlush(this.root.flushed);
      } catch {
        throw await this.lastFailureError();
      }
      this.publishLocal(outcome.revision);
    }
    return { ok: true, revision: outcome.revision, puts: outcome.puts, deleted: outcome.deleted };
  }

  /** Runs inside lmdb's write transaction, on the main thread: must not throw after writing. */
  private applyInWriteTxn(txn: Txn, now: number) {
    const revision = this.readRevision();
    const plan = planCommit(txn, now, revision, (key) => this.readRecord(key), this.options.logValueMax);
    if (!plan.ok || !plan.changed) return plan;
    const extents = { audit: this.storedAuditExtent(), history: this.storedHistoryExtent() };
    this.writePlan(plan, txn, now, this.meta.get(OLDEST) ?? 1, extents, transactionWrites);
    return plan;
  }

  async revision(): Promise<number> {
    this.freshSnapshot();
    return this.currentRevision();
  }

  /** lmdb's revision, or with the WAL the newest acknowledged one (lmdb may be behind it). */
  private currentRevision(stored = this.readRevision()): number {
    return this.wal === undefined ? stored : Math.max(stored, this.acknowledged);
  }

  async oldestRevision(): Promise<number> {
    try {
      return this.oldestLogged();
    } catch (error) {
      throw this.readError(error);
    }
  }

  /**
   * The oldest revision of the change log: lmdb's, or with acknowledged commits lmdb has not
   * applied, what applying them will trim it to (the log keeps logLength revisions).
   */
  private oldestLogged(): number {
    const stored = this.meta.get(OLDEST) ?? 1;
    if (this.applyQueue.length === 0) return stored;
    return Math.max(stored, this.acknowledged - this.options.logLength + 1);
  }

  async history(since: number, limit: number): Promise<HistoryPage> {
    this.freshSnapshot();
    try {
      return this.historySync(since, limit);
    } catch (error) {
      throw this.readError(error);
    }
  }

  private historySync(since: number, limit: number): HistoryPage {
    const stored = this.readRevision();
    const revision = this.currentRevision(stored);
    const oldest = this.oldestLogged();
    if (since < oldest - 1) throw new HistoryCompactedError(oldest);
    const events: ChangeEvent[] = [];
    let revisions = 0;
    for (const { key, value } of this.log.getRange({ start: since + 1, limit })) {
      events.push(...this.logEvents(key, value));
      revisions++;
    }
    // Then the acknowledged commits lmdb has not applied (WAL path), from the overlay.
    for (const commit of this.applyQueue) {
      if (revisions >= limit) break;
      if (commit.revision <= since || commit.revision <= stored) continue;
      events.push(...commit.events);
      revisions++;
    }
    return { events, revision };
  }

  subscribe(listener: ChangeListener): () => void {
    if (this.listeners.size === 0) this.lastPublished = Math.max(this.lastPublished, this.currentRevision());
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
    if (revision <= this.lastPublished) return;
    // One process owns the store (the WAL and exclusive paths): with nobody listening there is
    // nothing to deliver and no other writer whose revision to read (catchUp read lmdb's revision
    // on every commit, 1% of the main thread under redis-benchmark SET).
    if (this.exclusive && this.listeners.size === 0 && !this.closed) {
      this.lastPublished = revision;
      return;
    }
    this.catchUp();
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
        // A damaged entry is not delivered, nor skipped: live delivery waits at it (every poll
        // retries), and a watch that catches up through it is answered record_damaged.
        if (error instanceof ChangeLogDamagedError) return;
        if (!(error instanceof HistoryCompactedError)) throw this.readError(error);
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
    try {
      this.collectExpired(now, limit, found);
    } catch (error) {
      throw this.readError(error);
    }
    return found;
  }

  private collectExpired(now: number, limit: number, found: { key: string; modRevision: number }[]): void {
    if (this.unapplied.size > 0) {
      // Acknowledged writes lmdb has not applied: their expiry is not in lmdb's index yet, and the
      // index may still list keys they changed. Both lists, merged in expiry order.
      const merged: { key: string; modRevision: number; expires: number }[] = [];
      for (const [key, { record }] of this.unapplied)
        if (record !== null && record.expires !== null && isExpired(record, now))
          merged.push({ key, modRevision: record.modRevision, expires: record.expires });
      const stored: { key: string; modRevision: number }[] = [];
      this.collectExpiredStored(now, limit + this.unapplied.size, stored);
      for (const { key, modRevision } of stored) {
        const record = this.readRecord(key);
        if (!this.unapplied.has(key) && record?.expires != null)
          merged.push({ key, modRevision, expires: record.expires });
      }
      merged.sort((a, b) => a.expires - b.expires || compareKeys(a.key, b.key));
      for (const { key, modRevision } of merged.slice(0, limit)) found.push({ key, modRevision });
      return;
    }
    this.collectExpiredStored(now, limit, found);
  }

  private collectExpiredStored(now: number, limit: number, found: { key: string; modRevision: number }[]): void {
    for (const { value: key } of this.expiry.getRange({ end: [now, '\u{10FFFF}'], limit })) {
      let record: StoredRecord | undefined;
      try {
        record = this.readRecord(key);
      } catch (error) {
        // A damaged record is reported by reads and `kvs check`; the sweeper passes over it.
        if (error instanceof RecordDamagedError) continue;
        throw error;
      }
      if (record !== undefined && isExpired(record, now)) found.push({ key, modRevision: record.modRevision });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.closeStore();
    } finally {
      await this.flushConfirmer.close();
    }
  }

  private async closeStore(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.listeners.clear();
    // After a failed batch with no successful one since, lmdb-js's flush promise never settles
    // and root.close() would wait for it forever. LMDB needs no clean close (every commit is
    // complete on disk or absent), so the process's exit releases the store.
    if (this.unflushedFailure) return;
    if (this.wal !== undefined) {
      // Every commit in the WAL path is answered, and lmdb applies what it can (if it is refusing,
      // the WAL keeps the rest for the next start's replay).
      let last: Promise<void>;
      do {
        last = this.lastCommit;
        await last.catch(ignore);
      } while (last !== this.lastCommit);
      // Replayed commits lmdb has not started on yet (REPLAY_APPLY_DELAY_MS): it starts now.
      if (this.replayApplyTimer !== undefined) this.applyDurable();
      // lmdb gets CLOSE_APPLY_WAIT_MS to apply and flush: a writer wedged after a failed page
      // write (lmdb-js keeps its lock, docs/durability.md) must not hang the stop, and the WAL
      // holds every acknowledged commit for the next start's replay.
      const gaveUp = new Promise<'gave up'>((resolve) => setTimeout(resolve, CLOSE_APPLY_WAIT_MS, 'gave up').unref());
      while (this.applying !== undefined && this.applyStalled === undefined)
        if ((await Promise.race([this.applying, gaveUp])) === 'gave up') break;
      const flushed = this.applying === undefined && this.applyStalled === undefined;
      if (!flushed || (await Promise.race([this.root.flushed, gaveUp])) === 'gave up') {
        // No further batch starts: the WAL keeps what lmdb has not applied.
        this.applyHalted = true;
        if (this.applyStalled !== undefined) clearTimeout(this.applyStalled);
        await this.wal.close();
        return;
      }
    } else {
      await this.root.flushed;
    }
    if (this.wal !== undefined) {
      // lmdb is flushed through its revision: the checkpoint covers every record but the open segment's.
      await this.releasing;
      await this.wal.releaseThrough(this.readRevision()).catch(ignore);
      await this.wal.close();
    }
    await this.root.close();
  }
}

function ignore(): void {}

/** Where a key's final write lies in the WAL's bytes, during the start-up's replay. */
interface FinalWrite {
  bytes: Buffer;
  keyStart: number;
  keyEnd: number;
  recordStart: number;
  recordLength: number;
  revision: number;
}

/** A planned commit in the bytes lmdb stores (and the WAL carries, wal-commit.ts), with its audit entry. */
function encodedCommitOf(plan: Extract<Plan, { ok: true }>, txn: Txn, now: number, history: boolean): EncodedCommit {
  const audit = auditEntryOf(
    txn.origin,
    plan.revision,
    now,
    plan.events.map((event) => event.key),
  );
  return {
    audit: { bytes: encodeAuditEntry(audit), time: now },
    revision: plan.revision,
    writes: plan.writes.map((write) => ({
      key: write.key,
      record: write.record,
      encoded: write.record === null ? null : encodeRecord(write.record, write.key),
      previous: write.previous,
    })),
    logEntry: encodeLogEntry(plan.revision, plan.events),
    history: history ? historyWritesOf(plan.writes, plan.events, now) : undefined,
  };
}

/** How writePlan writes: lmdb-js's queued writes, or a write transaction's synchronous ones. */
interface StoreWrites<R> {
  put<V, K extends Key>(db: Database<V, K>, key: K, value: V): R;
  remove<V, K extends Key>(db: Database<V, K>, key: K): R;
  /** Queued writes only: calls `done` once the write's transaction is committed (true) or failed. */
  settled?: (written: R, done: (committed: boolean) => void) => void;
}

/** Exclusive mode: every write joins the current event turn's batch (one LMDB transaction). */
const queuedWrites: StoreWrites<Promise<boolean>> = {
  put: (db, key, value) => db.put(key, value),
  remove: (db, key) => db.remove(key),
  settled: (written, done) =>
    void written.then(
      () => done(true),
      () => done(false),
    ),
};

/** Shared mode: inside lmdb-js's transaction() callback, under LMDB's cross-process write lock. */
const transactionWrites: StoreWrites<void> = {
  put: (db, key, value) => void db.putSync(key, value),
  remove: (db, key) => void db.removeSync(key),
};

/** msgpack returns Uint8Array for binary; events carry Buffers. */
function reviveEvent(event: ChangeEvent): ChangeEvent {
  if (event.value !== undefined && event.value !== null && !Buffer.isBuffer(event.value)) {
    const bytes = event.value as Uint8Array;
    return { ...event, value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }
  return event;
}

/**
 * The promise of a write's batch being flushed to disk. With `separateFlushed` lmdb-js puts it
 * on the write promise as `flushed`; without overlappingSync (noSync) it is the write itself.
 */
function flushOf(write: Promise<unknown>): PromiseLike<unknown> {
  const flushed = (write as Promise<unknown> & { flushed?: PromiseLike<unknown> }).flushed;
  return flushed ?? write;
}
