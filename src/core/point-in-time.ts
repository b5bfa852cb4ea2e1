// Point-in-time reads and restore (docs/history.md, "Point in time"): the store as it was after
// the commit at revision R, rebuilt from per-key history. A key's state at R is its current
// record when that was written at or before R; otherwise its newest history entry at or before
// R (a put: that value; a delete or an expiry: absent); with no such entry, it did not exist.
// That holds from the engine's reach on (key-history.ts, HistoryReach): every key whose earlier
// states left history moved the reach past them. Candidates are the stored keys (expired ones
// not yet swept included) and the deleted keys history knows, merged in key order.

import { compareKeys } from '../model/key-order.js';
import { type Entry, isExpired } from '../model/entry.js';
import type { DeletedKeysPage } from '../model/history.js';
import { type Engine, type HistoryReach, type ListPage, oldestReachable } from '../storage/index.js';
import { KvsError } from './errors.js';

/** A point asked for: a revision, or a time (ms since the epoch) naming the newest commit at or before it. */
export type PointInTimeTarget = { readonly revision: number } | { readonly time: number };

/** The point a target resolved to. */
export interface ResolvedPoint {
  readonly revision: number;
  /** The time of that point (the target's time, or the commit's from the audit trail), when known. */
  readonly time: number | undefined;
}

/** One key's state at the point: its value then. */
export interface KeyStateThen {
  readonly key: string;
  readonly value: Buffer;
  readonly contentType: string | null;
  readonly expires: number | null;
  /** The revision of the commit that wrote this value. */
  readonly modRevision: number;
  readonly version: number;
}

export interface SnapshotPage {
  readonly point: ResolvedPoint;
  /** In key order; keys absent at the point are left out. */
  readonly items: KeyStateThen[];
  /** Pass as `after` for the next page; null when no key is left. */
  readonly next: string | null;
}

/** Audit-trail probes a time lookup makes at most (a binary search over the revisions). */
const TIME_SEARCH_STEPS = 64;

/** Engines read point-in-time through these (all optional on Engine). */
type HistoryEngine = Engine & Required<Pick<Engine, 'historyReach' | 'keyEntryAt' | 'deletedKeys'>>;

export function historyEngine(engine: Engine): HistoryEngine {
  if (engine.historyReach === undefined || engine.keyEntryAt === undefined || engine.deletedKeys === undefined)
    throw new KvsError(
      'history_unavailable',
      `The ${engine.kind} engine cannot read the store at a point in time (docs/history.md, "Point in time").`,
    );
  return engine as HistoryEngine;
}

/** The reach, or history_unavailable when history is off. */
async function reachOf(engine: HistoryEngine): Promise<HistoryReach> {
  const reach = await engine.historyReach();
  if (reach === undefined)
    throw new KvsError('history_unavailable', 'History is off (--history-versions 0): no point in time can be read.');
  return reach;
}

/** The time of the newest commit at or before `revision` from the audit trail, when it reaches there. */
async function commitTime(engine: Engine, revision: number): Promise<{ revision: number; time: number } | undefined> {
  if (revision < 1) return undefined;
  const page = await engine.audit({ before: revision + 1, limit: 1 });
  const entry = page.entries[0];
  return entry === undefined ? undefined : { revision: entry.revision, time: entry.time };
}

function notKept(oldest: number, asked: string): KvsError {
  return new KvsError(
    'history_not_kept',
    `${asked} is older than the history kept: the oldest point that can be read is revision ${oldest}.`,
    { oldestRevision: oldest },
  );
}

/**
 * Resolves a target to a revision: a revision as given (at most the store's), a time to the newest
 * commit at or before it, found in the audit trail. Refused (history_not_kept, naming the oldest
 * reachable revision) when history does not reach it.
 */
export async function resolvePoint(engine: HistoryEngine, target: PointInTimeTarget): Promise<ResolvedPoint> {
  const reach = await reachOf(engine);
  const oldest = oldestReachable(reach);
  const current = await engine.revision();
  if ('revision' in target) {
    if (target.revision > current)
      throw new KvsError(
        'invalid_point_in_time',
        `Revision ${target.revision} has not happened yet: the store is at revision ${current}.`,
        { currentRevision: current },
      );
    if (target.revision < oldest) throw notKept(oldest, `Revision ${target.revision}`);
    return { revision: target.revision, time: (await commitTime(engine, target.revision))?.time };
  }
  // The newest revision whose commit time is at or before the target time: the audit trail's
  // times grow with the revisions (one clock, one writer), so a binary search finds it; a
  // revision the trail no longer reaches counts as older than any time asked.
  const asked = `The time ${new Date(target.time).toISOString()}`;
  let low = 0;
  let high = current;
  for (let step = 0; step < TIME_SEARCH_STEPS && low < high; step++) {
    const middle = Math.ceil((low + high) / 2);
    const commit = await commitTime(engine, middle);
    if (commit === undefined || commit.time <= target.time) low = middle;
    else high = middle - 1;
  }
  // The trail must hold the commit found: otherwise the time lies before what it reaches.
  if (low > 0 && (await commitTime(engine, low))?.revision !== low) throw notKept(oldest, asked);
  if (low < oldest) throw notKept(oldest, asked);
  return { revision: low, time: target.time };
}

/** A key's state at the point, from its current record (when `current` was written at or before it) or its history. */
async function stateAt(
  engine: HistoryEngine,
  key: string,
  current: Entry | undefined,
  point: ResolvedPoint,
): Promise<KeyStateThen | undefined> {
  let then: KeyStateThen;
  if (current !== undefined && current.modRevision <= point.revision) {
    const { contentType, expires, modRevision, version } = current;
    then = { key, value: Buffer.from(current.value), contentType, expires, modRevision, version };
  } else {
    const entry = await engine.keyEntryAt(key, point.revision);
    if (entry === undefined || entry.type !== 'put') return undefined;
    then = {
      key,
      value: Buffer.from(entry.value ?? Buffer.alloc(0)),
      contentType: entry.contentType,
      expires: entry.expires,
      modRevision: entry.revision,
      version: entry.version,
    };
  }
  // Absent when its expiry had passed at the point's time (an unknown time keeps it).
  return point.time !== undefined && isExpired(then, point.time) ? undefined : then;
}

/**
 * One page of the store as it was at `point`, under `prefix`, keys after `after`: at most `limit`
 * keys, from at most `limit` stored and `limit` deleted keys examined (so a page may hold fewer
 * items and still have a next one).
 * Refused with history_not_kept when a commit dropped what the page relied on while it was read.
 */
export async function snapshotPage(
  engine: HistoryEngine,
  point: ResolvedPoint,
  prefix: string,
  after: string | undefined,
  limit: number,
): Promise<SnapshotPage> {
  return (await readSnapshotPage(engine, point, prefix, after, limit)).page;
}

/** snapshotPage, with the stored records it read (what a restore compares the page with). */
async function readSnapshotPage(
  engine: HistoryEngine,
  point: ResolvedPoint,
  prefix: string,
  after: string | undefined,
  limit: number,
): Promise<{ readonly page: SnapshotPage; readonly live: readonly Entry[] }> {
  // now = 0: every stored record, expired or not; expiry is judged at the point's time.
  const live: ListPage<Entry> = await engine.listEntries({ prefix, after, limit }, 0);
  const deleted: DeletedKeysPage = await engine.deletedKeys({ prefix, after, limit });
  // Keys up to the nearer frontier are complete in both pages.
  const liveFrontier = live.resumeAfter ?? (live.items.length >= limit ? live.items.at(-1)?.key : undefined);
  const deletedFrontier = deleted.next;
  const frontier =
    liveFrontier === undefined
      ? deletedFrontier
      : deletedFrontier === undefined || compareKeys(liveFrontier, deletedFrontier) <= 0
        ? liveFrontier
        : deletedFrontier;
  const within = (key: string): boolean => frontier === undefined || compareKeys(key, frontier) <= 0;
  const candidates = new Map<string, Entry | undefined>();
  for (const entry of live.items) if (within(entry.key)) candidates.set(entry.key, entry);
  for (const gone of deleted.keys)
    if (within(gone.key) && !candidates.has(gone.key)) candidates.set(gone.key, undefined);
  let keys = [...candidates.keys()].sort(compareKeys);
  // The two pages together may hold up to twice `limit` keys: the page keeps the first `limit`,
  // and the next one starts after the last of them.
  let next = frontier;
  if (keys.length > limit) {
    keys = keys.slice(0, limit);
    next = keys.at(-1);
  }
  const items: KeyStateThen[] = [];
  for (const key of keys) {
    const state = await stateAt(engine, key, candidates.get(key), point);
    if (state !== undefined) items.push(state);
  }
  // The entries read must still be covered by the reach (a drop meanwhile moves it).
  const oldest = oldestReachable(await reachOf(engine));
  if (point.revision < oldest) throw notKept(oldest, `Revision ${point.revision}`);
  return { page: { point, items, next: next ?? null }, live: live.items };
}

/** One change a restore makes: a key written back to its value at the point, or removed. */
export interface RestoreChange {
  readonly key: string;
  readonly action: 'put' | 'delete';
  /** The value written back (puts). */
  readonly restored: KeyStateThen | undefined;
  /** The key's current modRevision, or null when it is absent (or expired) now. */
  readonly currentRevision: number | null;
}

/**
 * What bringing `prefix` back to `point` changes: every key whose state now differs from its
 * state then. Examines at most `scanMax` keys (restore_too_large beyond) and answers at most
 * `changeMax` changes (restore_too_large beyond: they must fit in one transaction).
 */
export async function restoreChanges(
  engine: HistoryEngine,
  point: ResolvedPoint,
  prefix: string,
  now: number,
  bounds: { readonly scanMax: number; readonly changeMax: number; readonly pageKeys: number },
): Promise<RestoreChange[]> {
  const changes: RestoreChange[] = [];
  let after: string | undefined;
  let examined = 0;
  for (;;) {
    // The page's own listing of the stored records: what the keys hold now.
    const { page, live } = await readSnapshotPage(engine, point, prefix, after, bounds.pageKeys);
    const nowByKey = new Map(live.map((entry) => [entry.key, entry]));
    const thenByKey = new Map(page.items.map((state) => [state.key, state]));
    const keys = new Set([...page.items.map((state) => state.key)]);
    for (const entry of live) if (page.next === null || compareKeys(entry.key, page.next) <= 0) keys.add(entry.key);
    examined += keys.size;
    if (examined > bounds.scanMax)
      throw new KvsError(
        'restore_too_large',
        `A restore examines at most ${bounds.scanMax} keys; give a narrower prefix.`,
        { limit: bounds.scanMax },
      );
    for (const key of [...keys].sort(compareKeys)) {
      const current = nowByKey.get(key);
      const present = current !== undefined && !isExpired(current, now) ? current : undefined;
      const then = thenByKey.get(key);
      // A value whose expiry has passed by now cannot be brought back: it would be expired at once.
      const wanted = then !== undefined && !isExpired(then, now) ? then : undefined;
      if (sameState(present, wanted)) continue;
      changes.push({
        key,
        action: wanted === undefined ? 'delete' : 'put',
        restored: wanted,
        // Expired keys count as absent in a transaction's checks.
        currentRevision: present?.modRevision ?? null,
      });
      if (changes.length > bounds.changeMax)
        throw new KvsError(
          'restore_too_large',
          `A restore writes at most ${bounds.changeMax} keys in its one transaction; give a narrower prefix.`,
          { limit: bounds.changeMax },
        );
    }
    if (page.next === null) return changes;
    after = page.next;
  }
}

function sameState(now: Entry | undefined, then: KeyStateThen | undefined): boolean {
  if (now === undefined || then === undefined) return now === then;
  if (now.modRevision === then.modRevision) return true;
  return (
    now.contentType === then.contentType &&
    now.expires === then.expires &&
    Buffer.compare(Buffer.from(now.value), then.value) === 0
  );
}
