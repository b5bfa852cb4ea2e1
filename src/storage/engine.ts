// The storage-engine contract. Every engine (lmdb, memory, etcd) implements it and passes the
// shared conformance suite in test/engine/. Engines know nothing of users, auth or protocols;
// they know keys, values, revisions and expiry times (an expired key is absent to every method).

import type { AuditEntry } from '../model/audit.js';
import type { ChangeEvent } from '../model/events.js';
import type { HistoryReach } from './key-history.js';
import type {
  DeletedKeysPage,
  DeletedKeysQuery,
  KeyHistoryPage,
  KeyHistoryQuery,
  KeyVersion,
} from '../model/history.js';
import type { CommitResult, Txn } from '../model/txn.js';
import type { Entry, EntryInfo } from '../model/entry.js';

export interface ListOptions {
  /** Only keys starting with this string ('' for all). */
  readonly prefix: string;
  /** Exclusive lower bound (the last key of the previous page), or undefined to start at the prefix. */
  readonly after?: string | undefined;
  readonly limit: number;
  /**
   * Expired keys this call passes over at most, when fewer than LIST_SKIP_MAX: a walk that yields
   * to other clients between small slices bounds each slice's cost by its size (src/resp/key-walk.ts).
   */
  readonly skipMax?: number | undefined;
}

/**
 * Expired-but-not-yet-swept keys one list()/listEntries() call passes over at most: past it the
 * call stops early with `resumeAfter`, so its cost is bounded by the page, not by how many
 * expired keys lie in the range (docs/limits.md). An engine that remembers runs of expired keys
 * it passed over (lmdb: expired-key-runs.ts) may step over such a run counting it as one, so a
 * second walk of a range may stop elsewhere; it lists the same keys.
 */
export const LIST_SKIP_MAX = 1000;

/** How many expired keys one list()/listEntries() call may pass over: LIST_SKIP_MAX or less, at least 1. */
export function listSkipBound(options: ListOptions): number {
  return Math.max(1, Math.min(options.skipMax ?? LIST_SKIP_MAX, LIST_SKIP_MAX));
}

export interface ListPage<T> {
  /** Live keys in order, at most `limit`. */
  readonly items: T[];
  /**
   * Set when the call stopped at LIST_SKIP_MAX expired keys before it had `limit` items and
   * before the end of the range: the last key it passed over (an expired key), to pass as
   * `after` to go on. Undefined when the items are all there is up to `limit`.
   */
  readonly resumeAfter: string | undefined;
}

export interface HistoryPage {
  /** Events with revision > since, ascending, at most `limit` revisions' worth. */
  readonly events: ChangeEvent[];
  /** Store revision when read. */
  readonly revision: number;
}

/** One page of the audit trail, newest first (Engine.audit). */
export interface AuditQuery {
  /** Only entries with a revision below this one (exclusive): the cursor of the next page. */
  readonly before?: number | undefined;
  /** Only entries committed at or after this time (ms). */
  readonly since?: number | undefined;
  /** Only entries committed at or before this time (ms). */
  readonly until?: number | undefined;
  /**
   * Entries examined at most (newest first, below `before`): the page holds those of them in
   * [since, until], so a call costs `limit` entries whatever the filters match.
   */
  readonly limit: number;
}

export interface AuditPage {
  /** Newest first, at most `limit`. */
  readonly entries: AuditEntry[];
  /** Pass as `before` for the next page (the oldest revision examined); undefined when no older entry is left. */
  readonly before: number | undefined;
}

/**
 * How much audit trail an engine keeps (docs/audit.md): entries past either bound are dropped,
 * oldest first, at most AUDIT_DROP_MAX per later commit, so a commit's cost stays bounded and
 * a backlog drains over the commits that follow.
 */
export interface AuditRetention {
  /** Bytes of entries kept at most (as the engine stores them). */
  readonly maxBytes: number;
  /** Age of the oldest entry kept, in ms. */
  readonly maxAgeMs: number;
}

export const DEFAULT_AUDIT_RETENTION: AuditRetention = {
  maxBytes: 64 * 1024 * 1024,
  maxAgeMs: 30 * 24 * 60 * 60 * 1000,
};

/** Entries one commit drops at most when the trail is past its bounds. */
export const AUDIT_DROP_MAX = 16;

export type ChangeListener = (events: readonly ChangeEvent[]) => void;

/** Group-commit figures of a write path since open (the lmdb engine's write-ahead log). */
export interface WriteStats {
  /** WAL records appended and synced, and the flushes (one write + one fdatasync) that carried them. */
  readonly walRecords: number;
  readonly walFlushes: number;
  /** Background lmdb transactions that applied acknowledged commits, and how many they applied. */
  readonly applyTransactions: number;
  readonly appliedCommits: number;
  /** Acknowledged commits (or commits a start-up replayed) that lmdb has not applied yet. */
  readonly unappliedCommits: number;
}

/** One record of the system keyspace (SystemStore). */
export interface SystemRecord {
  readonly key: string;
  readonly value: Buffer;
}

/**
 * A small keyspace of the server's own records (API tokens: docs/tokens.md), apart from the
 * user's keys: no user read, listing, count, watch, history or export ever shows it, and it takes
 * no store revision. Every process on the store (`--workers N`, every server on one etcd) sees
 * the same records. Reads are synchronous so that an authentication check never waits: lmdb
 * and memory read their own tables, etcd keeps a copy that a watch keeps current.
 */
export interface SystemStore {
  /**
   * A number that changes whenever any process changes a system record: cheap enough to ask on
   * every request, so that a cache of the records is reloaded exactly when it is stale.
   */
  generation(): number;
  get(key: string): Buffer | undefined;
  /** Every record whose key starts with `prefix`, in key order. */
  list(prefix: string): SystemRecord[];
  /** Durable when it resolves (like commit); changes the generation. */
  put(key: string, value: Buffer): Promise<void>;
  /** Whether the key was there; changes the generation when it was. */
  delete(key: string): Promise<boolean>;
}

export interface Engine {
  /** 'lmdb', 'memory', 'etcd'. */
  readonly kind: string;

  /** The server's own records, outside the user's keyspace. */
  readonly system: SystemStore;

  get(key: string, now: number): Promise<Entry | undefined>;
  /**
   * Synchronous read, for engines whose reads never wait on I/O (lmdb's memory map, memory).
   * Optional: the HTTP read fast path uses it when present.
   */
  getSync?(key: string, now: number): Entry | undefined;
  getMany(keys: readonly string[], now: number): Promise<(Entry | undefined)[]>;
  /**
   * Keys in byte order of their UTF-8 encoding. Passes over at most LIST_SKIP_MAX expired keys
   * (then stops early with `resumeAfter`).
   */
  list(options: ListOptions, now: number): Promise<ListPage<EntryInfo>>;
  /** Like list, with values (export, RESP SCAN/KEYS use list; export needs values). */
  listEntries(options: ListOptions, now: number): Promise<ListPage<Entry>>;
  /** Number of live keys (may include expired keys not yet swept). */
  count(): Promise<number>;
  /**
   * Keys stored under each folder, from the folder-count index the engine keeps with every commit
   * (folder-index.ts): live keys plus expired keys not yet swept, like count(). A folder is a
   * prefix ending in '/' with at most FOLDER_INDEX_DEPTH '/'s; anything else answers undefined.
   * Costs one index read per folder, whatever the folder holds.
   */
  folderCounts(folders: readonly string[]): Promise<(number | undefined)[]>;
  /**
   * The greatest key stored (live or expired not yet swept, in key order), or undefined for an
   * empty store: one lookup at the end of the key index. RESP RANDOMKEY draws its random
   * positions between the first key and this one.
   */
  greatestKey(): Promise<string | undefined>;
  /** The most recently modified live keys, highest modRevision first. */
  recentlyModified(limit: number, now: number): Promise<EntryInfo[]>;

  /**
   * Atomically: evaluate every condition (expired keys count as absent), and if all hold apply
   * every operation under one new revision. Resolves only once the commit is durable (unless the
   * engine was opened with relaxed durability).
   */
  commit(txn: Txn, now: number): Promise<CommitResult>;

  /** The store-wide revision (the revision of the last committed transaction). */
  revision(): Promise<number>;
  /** Change events after `since`; throws HistoryCompactedError if the log no longer reaches back. */
  history(since: number, limit: number): Promise<HistoryPage>;
  /** Oldest revision that history() can still start from (since >= oldestRevision - 1). */
  oldestRevision(): Promise<number>;
  /**
   * Live feed of committed changes from every process using the store, each batch in revision
   * order and never repeating or skipping a revision. Returns an unsubscribe function.
   */
  subscribe(listener: ChangeListener): () => void;

  /** Keys whose expiry is at or before `now` and still present, oldest expiry first. */
  expired(now: number, limit: number): Promise<{ key: string; modRevision: number }[]>;
  /** Whether the engine expires keys by itself (etcd leases); the core then runs no sweeper. */
  readonly expiresNatively: boolean;

  /**
   * The audit trail, newest first: one entry per commit that changed something, written in the
   * same transaction as the commit (docs/audit.md).
   */
  audit(query: AuditQuery): Promise<AuditPage>;

  /**
   * A key's history, newest first (docs/history.md): one entry per commit that wrote the key,
   * written in the same transaction as the commit, the oldest dropped past the retention bounds.
   * Every engine keeps it (lmdb, memory, etcd); optional for engines that may not.
   */
  keyHistory?(key: string, query: KeyHistoryQuery): Promise<KeyHistoryPage>;
  /** The history entry of `key` at exactly `revision`, with its value; undefined when not kept. */
  keyVersion?(key: string, revision: number): Promise<KeyVersion | undefined>;
  /**
   * How far back point-in-time reads reach (key-history.ts, HistoryReach); undefined when the
   * engine keeps no history (--history-versions 0). Read it again after reading entries with
   * keyEntryAt: a commit meanwhile may have dropped what they relied on.
   */
  historyReach?(): Promise<HistoryReach | undefined>;
  /**
   * The newest history entry of `key` at or before `revision` (and at or after the reach's
   * `startedAt`), with its value, whether or not the kept window still shows it; undefined when
   * there is none.
   */
  keyEntryAt?(key: string, revision: number): Promise<KeyVersion | undefined>;
  /**
   * Keys whose newest kept history entry is a delete or an expiry (keys that can be restored),
   * in key order, examining at most DELETED_SCAN_MAX keys with history per call (key-history.ts).
   */
  deletedKeys?(query: DeletedKeysQuery): Promise<DeletedKeysPage>;

  /** Group-commit figures, for engines with a write-ahead log (undefined when it is off). Optional. */
  writeStats?(): WriteStats | undefined;

  close(): Promise<void>;
}
