// What every engine's per-key history shares (docs/history.md): how much is kept, and the
// entries one commit leaves.

import type { ChangeType } from '../model/change-type.js';
import type { ChangeEvent } from '../model/events.js';
import type { DeletedKey, KeyHistoryQuery } from '../model/history.js';
import { decodeHistoryEntry, encodeHistoryEntry } from './history-codec.js';
import type { StoredRecord } from './txn-plan.js';

/**
 * How much history an engine keeps: past any bound the oldest entries go first, at most
 * HISTORY_DROP_MAX per commit, so a commit's cost stays bounded and a backlog drains over the
 * commits that follow. A commit never drops the entries it writes itself, so a key's newest
 * entry is always there (even when larger than keyBytes).
 */
export interface HistoryRetention {
  /** Entries kept per key; 0 turns history off (nothing is written). */
  readonly versions: number;
  /** Bytes of one key's entries (as stored) kept at most. */
  readonly keyBytes: number;
  /** Bytes of all keys' entries kept at most. */
  readonly storeBytes: number;
}

export const DEFAULT_HISTORY_RETENTION: HistoryRetention = {
  versions: 100,
  keyBytes: 16 * 1024 * 1024,
  storeBytes: 256 * 1024 * 1024,
};

/** The most `--history-versions` allows: a reader walks at most this many entries of a key. */
export const HISTORY_VERSIONS_MAX = 10_000;

/** The smallest `--history-key-bytes` and `--history-max-bytes`: 64 KiB. */
export const HISTORY_BYTES_MIN = 64 * 1024;

/** Entries one commit drops at most (per-key and store-wide bounds together). */
export const HISTORY_DROP_MAX = 16;

/** Entries one keyHistory() page holds at most (whatever `limit` asks). */
export const HISTORY_PAGE_MAX = 1000;

/**
 * Keys with history one deletedKeys() call examines at most: past it the page ends early with a
 * `next` cursor, so a call costs a bounded walk however few of the keys are deleted.
 */
export const DELETED_SCAN_MAX = 10_000;

/** One history entry a commit writes. */
export interface HistoryWrite {
  readonly key: string;
  readonly type: ChangeType;
  /** The key's version after the commit (0 after a removal). */
  readonly version: number;
  /** The entry's bytes (history-codec.ts). */
  readonly bytes: Buffer;
  /**
   * True when the commit found no record of the key: it held no value before, whatever the entry
   * shows (a transaction that created it, then deleted it or wrote it again). Unknown (absent)
   * where only the entry is known (lmdb's WAL replay).
   */
  readonly absentBefore?: true;
}

/** The entry of a key a commit left as `record` (null: removed, by a delete or an expiry). */
export function historyWriteOf(
  key: string,
  record: StoredRecord | null,
  removedBy: ChangeType,
  time: number,
): HistoryWrite {
  if (record !== null) {
    const bytes = encodeHistoryEntry({
      type: 'put',
      version: record.version,
      time: record.updated,
      contentType: record.contentType,
      expires: record.expires,
      value: record.value,
    });
    return { key, type: 'put', version: record.version, bytes };
  }
  const bytes = encodeHistoryEntry({
    type: removedBy,
    version: 0,
    time,
    contentType: null,
    expires: null,
    value: new Uint8Array(0),
  });
  return { key, type: removedBy, version: 0, bytes };
}

/** How each key a commit removed was removed ('delete' or 'expire'): the last event that names it. */
export function removalTypes(events: readonly ChangeEvent[]): Map<string, ChangeType> {
  const types = new Map<string, ChangeType>();
  for (const event of events) types.set(event.key, event.type);
  return types;
}

/** A commit's history entries: one per key it wrote, the key's state after the commit. */
export function historyWritesOf(
  writes: readonly {
    readonly key: string;
    readonly record: StoredRecord | null;
    /** The key's record before the commit (expired ones included). */
    readonly previous: StoredRecord | undefined;
  }[],
  events: readonly ChangeEvent[],
  time: number,
): HistoryWrite[] {
  const removed = writes.some((write) => write.record === null) ? removalTypes(events) : undefined;
  return writes.map((write) => {
    const entry = historyWriteOf(write.key, write.record, removed?.get(write.key) ?? 'delete', time);
    return write.previous === undefined ? { ...entry, absentBefore: true } : entry;
  });
}

/** A page's limit as engines apply it: at least 1, at most HISTORY_PAGE_MAX. */
export function historyPageLimit(query: KeyHistoryQuery): number {
  return Math.max(1, Math.min(query.limit, HISTORY_PAGE_MAX));
}

/** Whether a key holding `count` entries of `bytes` is past the per-key bounds. */
export function keyOverBounds(retention: HistoryRetention, count: number, bytes: number): boolean {
  return count > retention.versions || bytes > retention.keyBytes;
}

/**
 * The entries of one key a reader shows, walked newest first: the newest always, then older ones
 * while they fit in `versions` and `keyBytes` together. Exactly what dropping the oldest leaves,
 * so an answer never shows an entry that is only waiting for its drop (at most HISTORY_DROP_MAX
 * go per commit, and lmdb's write-ahead log path drops what an apply batch holds with a later one).
 */
export class KeptWindow {
  private count = 0;
  private bytes = 0;

  constructor(private readonly retention: HistoryRetention) {}

  /** Whether the next older entry, of `length` bytes as stored, is kept. */
  admit(length: number): boolean {
    if (this.count > 0 && keyOverBounds(this.retention, this.count + 1, this.bytes + length)) return false;
    this.count++;
    this.bytes += length;
    return true;
  }
}

/**
 * Whether a history write shows that its key held a value just before the commit: a put past
 * version 1 (versions restart at 1 after a delete or an expiry), or a removal, unless the commit
 * found no record of the key. Such a write on a key whose earlier states history does not hold
 * moves the point-in-time reach (HistoryReach).
 */
export function existedBefore(write: HistoryWrite): boolean {
  return write.absentBefore !== true && (write.type !== 'put' || write.version > 1);
}

/**
 * How far back point-in-time reads reach (docs/history.md, "Point in time"): the store as it was
 * at revision R is known for every R at or after `reachable` and `startedAt`. Each engine keeps it
 * with its history, in the same transaction:
 * - `startedAt`: the revision at which the store began keeping history without a gap (a store
 *   from before history, or one opened with --history-versions 0 since, starts again there);
 *   entries older than it are not used for point-in-time reads;
 * - `reachable` moves forward when a key's earlier states leave history: to the revision of its
 *   oldest entry left after a drop (one past the dropped entry when none is left), and to the
 *   revision of a commit that writes a key that held a value but has no entry since `startedAt`.
 */
export interface HistoryReach {
  readonly startedAt: number;
  readonly reachable: number;
}

/** The oldest revision a point-in-time read can answer. */
export function oldestReachable(reach: HistoryReach): number {
  return Math.max(reach.startedAt, reach.reachable);
}

/** Walks a key's kept entries newest first, as [revision, bytes], until `visit` returns false. */
export type KeyHistoryWalk = (visit: (revision: number, bytes: Uint8Array) => boolean) => void;

/**
 * The deleted-key answer of `key` (Engine.deletedKeys): its newest kept entry when that is a
 * delete or an expiry, with the newest kept put before it; undefined when the newest is a put.
 * Reads entry headers only, and stops at the first put.
 */
export function deletedKeyOf(key: string, walk: KeyHistoryWalk): DeletedKey | undefined {
  let removal: Omit<DeletedKey, 'lastPut'> | undefined;
  let lastPut: DeletedKey['lastPut'] = null;
  walk((revision, bytes) => {
    const entry = decodeHistoryEntry(bytes, key, revision, false);
    if (entry.type === 'put') {
      if (removal !== undefined) lastPut = { revision, version: entry.version, size: entry.size };
      return false;
    }
    removal ??= { key, revision, time: entry.time, type: entry.type };
    return true;
  });
  return removal === undefined ? undefined : { ...removal, lastPut };
}

/** A deleted-keys page's limit as engines apply it: at least 1, at most HISTORY_PAGE_MAX. */
export function deletedPageLimit(limit: number): number {
  return Math.max(1, Math.min(limit, HISTORY_PAGE_MAX));
}
