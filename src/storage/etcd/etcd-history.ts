// Per-key history on etcd (docs/history.md, "How the engines store it"), kept in bookkeeping
// keys of the namespace (key-space.ts), never in etcd's own MVCC revisions, which etcd's
// compaction discards:
//
// - one key per entry, whose value is the encoded entry (history-codec.ts) and whose
//   create_revision is the commit's revision; its name holds the commit's id, the entry's size
//   and its type, so a listing of one key's names (keys only) gives its bounds and kept window;
// - one store-order key per commit, named by the revision its snapshot was read at, listing the
//   commit's entries, so the store's oldest entries are the first keys of one range;
// - the store's history bytes (entries and order keys), as HISTORY_BYTES_SHARDS counters that add
//   up to the total, each commit writing one (CounterShards): never one that another commit of
//   the same process is writing, and a random one among those, so that concurrent commits seldom
//   contend for the same one, from one server or several.
//
// A commit writes its entries, its order key, one counter and its per-key drops inside its own
// etcd transaction. Its snapshot (etcd-commit.ts) pins every key it touches to one mod_revision,
// so two commits that write one key are ordered, the later one having read the earlier one's
// result: the order of one key's entries is the order of their commits' snapshot revisions,
// hence of their revisions. Compares also pin the counter and every entry the commit drops, so a
// concurrent commit or clean-up (from any server) makes it fail and retry on a new snapshot, and
// no byte is counted twice. Store-wide drops run after the commit, as a transaction of their own
// (trimStore) with the same compares: it applies whole or not at all, and when it loses a race
// the next commit past the bound tries again.

import type { ICompare, IKeyValue, IRangeRequest, IRangeResponse, IRequestOp, IResponseOp, ITxnRequest } from 'etcd3';
import { randomBytes, randomInt } from 'node:crypto';
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
  DELETED_SCAN_MAX,
  deletedPageLimit,
  HISTORY_DROP_MAX,
  type HistoryRetention,
  type HistoryWrite,
  historyPageLimit,
  existedBefore,
  type HistoryReach,
  KeptWindow,
  keyOverBounds,
} from '../key-history.js';
import { COMMIT_ID_BYTES, type HistoryEntryName, type KeySpace } from './key-space.js';

/** The counters the store's history bytes are spread over. */
export const HISTORY_BYTES_SHARDS = 64;
/** How often (ms) a process's commits read every counter for the store's total (CounterShards). */
const COUNTERS_READ_MS = 1000;

/**
 * etcd operations a commit with history spends besides its keys': the commit record, the audit
 * entry, the order key and one counter, plus one per drop.
 */
export const HISTORY_FIXED_OPS = 4 + HISTORY_DROP_MAX;
/** etcd operations per key a commit with history writes: the key and its entry. */
export const HISTORY_OPS_PER_KEY = 2;

/** Order keys one store-wide clean-up reads at most. */
const TRIM_ORDER_KEYS = HISTORY_DROP_MAX;
/**
 * Entries one clean-up checks at most in one read: fewer than etcd's 128 operations in a
 * transaction, and more than one commit writes (commit-bounds.ts, maxWrittenKeys).
 */
const TRIM_READS = 120;
/** Bytes read at most in one range of entries with their values (a page reads several when larger). */
const PAGE_READ_BYTES = 1024 * 1024;

/** One entry an order key lists: enough to name its entry key. */
type OrderEntry = [key: string, size: number, valueSize: number, version: number, type: ChangeType];

function encodeOrder(entries: readonly OrderEntry[]): Buffer {
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

function decodeOrder(value: Buffer): OrderEntry[] {
  return JSON.parse(value.toString('utf8')) as OrderEntry[];
}

/** Entry names one range of deletedKeys' walk asks for. */
const NAMES_PAGE = 1000;

/** An entry as a listing of names shows it. */
interface EntryName extends HistoryEntryName {
  readonly key: string;
  readonly etcdKey: Buffer;
  readonly revision: number;
}

/** What a commit read of its written keys' history and of the store's byte counters. */
export interface HistorySnapshot {
  /** Each written key's entry names (keys only), oldest first. */
  readonly names: ReadonlyMap<string, readonly IKeyValue[]>;
  /** Every byte counter, or only the one the commit writes (CounterShards.toRead). */
  readonly counters: readonly IKeyValue[];
  readonly allCounters: boolean;
}

/**
 * The reads a commit's snapshot holds for history: one per written key, then the byte counters
 * (`counter`: only that one; undefined: all).
 */
export function historyReads(space: KeySpace, keys: readonly string[], counter: number | undefined): IRequestOp[] {
  const reads: IRequestOp[] = keys.map((key) => {
    const entries = space.historyEntries(key);
    return { request_range: { key: entries.start, range_end: entries.end, keys_only: true } };
  });
  const counters = space.historyBytesRange();
  reads.push({
    request_range:
      counter === undefined
        ? { key: counters.start, range_end: counters.end }
        : { key: space.historyBytesKey(counter) },
  });
  return reads;
}

/** historyReads' answers (the responses from `from` on). */
export function historySnapshotOf(
  keys: readonly string[],
  counter: number | undefined,
  responses: readonly IResponseOp[],
  from: number,
): HistorySnapshot {
  const names = new Map<string, readonly IKeyValue[]>();
  keys.forEach((key, index) => names.set(key, responses[from + index]?.response_range?.kvs ?? []));
  const counters = responses[from + keys.length]?.response_range?.kvs ?? [];
  return { names, counters, allCounters: counter === undefined };
}

// A counter's value: its bytes, then (when set) a space and the point-in-time reach it records
// (HistoryReach's `reachable`; the store's is the greatest of the counters'). SELF_REACH stands
// for the revision of the commit that wrote the counter, which the commit cannot know before
// etcd assigns it: it is the counter key's own mod_revision.
const SELF_REACH = -1;

function counterValue(kv: IKeyValue | undefined): number {
  return kv === undefined ? 0 : Number(kv.value.toString('latin1').split(' ')[0]);
}

/** The reach a counter records (0: none). */
export function counterReach(kv: IKeyValue | undefined): number {
  if (kv === undefined) return 0;
  const reach = Number(kv.value.toString('latin1').split(' ')[1] ?? 0);
  return reach === SELF_REACH ? Number(kv.mod_revision) : Number.isSafeInteger(reach) ? reach : 0;
}

/** What a change moves the reach to: a revision, or the revision of the commit itself. */
type ReachMove = number | 'self';

function laterReach(a: ReachMove, b: ReachMove): ReachMove {
  return a === 'self' || b === 'self' ? 'self' : Math.max(a, b);
}

function storeBytesOf(counters: readonly IKeyValue[]): number {
  return counters.reduce((sum, kv) => sum + counterValue(kv), 0);
}

/**
 * Which byte counter each commit of this process writes: a random one that no other commit of
 * this process is writing, while there is one (then any). Two commits writing one counter at
 * once make the later one fail its compare and retry, so a process keeps its own commits apart.
 *
 * Also what this process knows of the store's total: a commit reads every counter at most once
 * a second (COUNTERS_READ_MS), and otherwise only its own, adding its own change to the total
 * last read. So the store-wide bound sees other servers' history up to a second late.
 */
export class CounterShards {
  private readonly taken = new Set<number>();
  private total = 0;
  private readAt = Number.NEGATIVE_INFINITY;

  /** Whether the next snapshot reads every counter (undefined) or only `shard`. */
  toRead(shard: number): number | undefined {
    return performance.now() - this.readAt >= COUNTERS_READ_MS ? undefined : shard;
  }

  /** The store's history bytes after a change of `delta` on `snapshot`'s counters (all of them, or one). */
  changed(snapshot: HistorySnapshot, delta: number): number {
    if (snapshot.allCounters) {
      this.total = storeBytesOf(snapshot.counters);
      this.readAt = performance.now();
    }
    this.total += delta;
    return this.total;
  }

  /** The store's history bytes as a clean-up read and changed them. */
  cleanedUp(total: number): void {
    this.total = total;
    this.readAt = performance.now();
  }

  /** A random counter no commit of this process is writing, now taken; undefined when none is free. */
  private acquire(): number | undefined {
    const free = HISTORY_BYTES_SHARDS - this.taken.size;
    if (free <= 0) return undefined;
    let pick = randomInt(free);
    for (let shard = 0; shard < HISTORY_BYTES_SHARDS; shard++) {
      if (this.taken.has(shard)) continue;
      if (pick-- === 0) {
        this.taken.add(shard);
        return shard;
      }
    }
    return undefined;
  }

  /** `body` with a counter of its own (any counter when all are taken). */
  async with<T>(body: (shard: number) => Promise<T>): Promise<T> {
    const owned = this.acquire();
    try {
      return await body(owned ?? randomInt(HISTORY_BYTES_SHARDS));
    } finally {
      if (owned !== undefined) this.taken.delete(owned);
    }
  }
}

/**
 * Adds `delta` to counter `shard`, pinned to what was read of it, and moves the reach it records
 * to `reach` when that is later (a 'self' reach, the commit's own revision, is later than any).
 */
function counterUpdate(
  space: KeySpace,
  counters: readonly IKeyValue[],
  shard: number,
  delta: number,
  reach: ReachMove = 0,
): [ICompare, IRequestOp] {
  const key = space.historyBytesKey(shard);
  const counter = counters.find((kv) => kv.key.equals(key));
  const recorded = laterReach(counterReach(counter), reach);
  const bytes = String(counterValue(counter) + delta);
  const value = recorded === 0 ? bytes : `${bytes} ${recorded === 'self' ? SELF_REACH : recorded}`;
  return [
    { key, target: 'Mod', result: 'Equal', mod_revision: counter?.mod_revision ?? 0 },
    { request_put: { key, value: Buffer.from(value, 'latin1') } },
  ];
}

/** A drop of an entry read at `kv`: pinned to it, so that it is never dropped (and uncounted) twice. */
function dropOf(kv: IKeyValue): [ICompare, IRequestOp] {
  return [
    { key: kv.key, target: 'Create', result: 'Equal', create_revision: kv.create_revision },
    { request_delete_range: { key: kv.key } },
  ];
}

/** What a commit adds to its etcd transaction for history. */
export interface HistoryPlan {
  readonly compare: ICompare[];
  readonly success: IRequestOp[];
  /** What the commit changes the store's history bytes by. */
  readonly delta: number;
  /** Entries the commit drops (per-key bounds). */
  readonly dropped: number;
}

/**
 * The entries, order key, counter and per-key drops of a commit that writes `writes`. `stamp` is
 * the revision the commit's snapshot was read at: it orders the commits' entries; `shard` is the
 * counter it adds to (CounterShards).
 */
export function planHistory(
  space: KeySpace,
  retention: HistoryRetention,
  writes: readonly HistoryWrite[],
  snapshot: HistorySnapshot,
  stamp: number,
  shard: number,
  startedAt: number,
): HistoryPlan {
  const commit = Buffer.alloc(COMMIT_ID_BYTES);
  commit.writeBigUInt64BE(BigInt(stamp));
  randomBytes(COMMIT_ID_BYTES - 8).copy(commit, 8);
  const compare: ICompare[] = [];
  const success: IRequestOp[] = [];
  const listed: OrderEntry[] = [];
  let delta = 0;
  let budget = HISTORY_DROP_MAX;
  let reach: ReachMove = 0;
  for (const write of writes) {
    const size = write.bytes.length;
    const { version, size: valueSize } = decodeHistoryEntry(write.bytes, write.key, 0, false);
    const name = { commit, size, valueSize, version, type: write.type };
    success.push({ request_put: { key: space.historyEntryKey(write.key, name), value: write.bytes } });
    listed.push([write.key, size, valueSize, version, write.type]);
    delta += size;
    const names = snapshot.names.get(write.key) ?? [];
    // A key that held a value with no entry since history started: its past is unknown from here.
    if (existedBefore(write) && !names.some((kv) => Number(kv.create_revision) >= startedAt)) reach = 'self';
    let count = names.length + 1;
    let bytes = size;
    for (const kv of names) bytes += space.historyEntryName(kv.key).size;
    // The key's oldest entries go first while it is past its bounds; never the one just written.
    let droppedHere = 0;
    for (const kv of names) {
      if (budget === 0 || !keyOverBounds(retention, count, bytes)) break;
      const dropped = space.historyEntryName(kv.key).size;
      const [pin, drop] = dropOf(kv);
      compare.push(pin);
      success.push(drop);
      count--;
      bytes -= dropped;
      delta -= dropped;
      budget--;
      droppedHere++;
    }
    // Its states before the oldest entry left are unknown from now on (the one just written when
    // no older one is left).
    if (droppedHere > 0) {
      const left = names[droppedHere];
      reach = laterReach(reach, left === undefined ? 'self' : Number(left.create_revision));
    }
  }
  const order = encodeOrder(listed);
  success.push({ request_put: { key: space.historyOrderKey(commit), value: order } });
  delta += order.length;
  const [pin, update] = counterUpdate(space, snapshot.counters, shard, delta, reach);
  compare.push(pin);
  success.push(update);
  return { compare, success, delta, dropped: HISTORY_DROP_MAX - budget };
}

/** How the history's readers and its store-wide clean-up reach etcd (the engine's calls). */
export interface HistoryEtcd {
  readonly space: KeySpace;
  range(request: IRangeRequest): Promise<IRangeResponse>;
  /** Several ranges in one snapshot. */
  readRanges(ranges: readonly IRangeRequest[]): Promise<(IRangeResponse | undefined)[]>;
  /** A transaction that writes; whether it succeeded. */
  write(request: ITxnRequest): Promise<boolean>;
}

export class EtcdKeyHistory {
  constructor(
    private readonly etcd: HistoryEtcd,
    private readonly retention: HistoryRetention,
  ) {}

  private nameOf(kv: IKeyValue): EntryName {
    return { ...this.etcd.space.historyEntryName(kv.key), etcdKey: kv.key, revision: Number(kv.create_revision) };
  }

  /** Of one key's entry names (oldest first), those a reader is shown (KeptWindow), newest first. */
  private kept(names: readonly EntryName[]): EntryName[] {
    const window = new KeptWindow(this.retention);
    const kept: EntryName[] = [];
    for (let index = names.length - 1; index >= 0 && window.admit(names[index]!.size); index--)
      kept.push(names[index]!);
    return kept;
  }

  /** The entries of `key` a reader is shown, newest first, from their names alone. */
  private async keptNames(key: string): Promise<EntryName[]> {
    const range = this.etcd.space.historyEntries(key);
    const response = await this.etcd.range({ key: range.start, range_end: range.end, keys_only: true });
    return this.kept(response.kvs.map((kv) => this.nameOf(kv)));
  }

  /**
   * The entries named (newest first, consecutive in key order), read in ranges of at most
   * PAGE_READ_BYTES (or one entry); an entry dropped since its name was read is left out.
   */
  private async readEntries(key: string, names: readonly EntryName[], values: boolean): Promise<KeyVersion[]> {
    const found = new Map<string, IKeyValue>();
    let end = names.length;
    while (end > 0) {
      let start = end - 1;
      let bytes = names[start]!.size;
      while (start > 0 && bytes + names[start - 1]!.size <= PAGE_READ_BYTES) bytes += names[--start]!.size;
      // names[end - 1] is the oldest of this slice, names[start] the newest.
      const response = await this.etcd.range({
        key: names[end - 1]!.etcdKey,
        range_end: Buffer.concat([names[start]!.etcdKey, Buffer.from([0])]),
      });
      for (const kv of response.kvs) found.set(kv.key.toString('latin1'), kv);
      end = start;
    }
    const versions: KeyVersion[] = [];
    for (const name of names) {
      const kv = found.get(name.etcdKey.toString('latin1'));
      if (kv !== undefined) versions.push(decodeHistoryEntry(kv.value, key, Number(kv.create_revision), values));
    }
    return versions;
  }

  async keyHistory(key: string, query: KeyHistoryQuery): Promise<KeyHistoryPage> {
    const limit = historyPageLimit(query);
    const kept = await this.keptNames(key);
    const page = kept.filter((name) => query.before === undefined || name.revision < query.before);
    const shown = page.slice(0, limit);
    const versions = await this.readEntries(key, shown, query.values);
    return { versions, next: page.length > limit ? shown.at(-1)!.revision : undefined };
  }

  /**
   * The reach (HistoryReach): `startedAt` from its key, `reachable` the greatest any counter
   * records; read in one snapshot.
   */
  async historyReach(): Promise<HistoryReach> {
    const { space } = this.etcd;
    const counters = space.historyBytesRange();
    const [started, shards] = await this.etcd.readRanges([
      { key: space.historyStartedKey() },
      { key: counters.start, range_end: counters.end },
    ]);
    const startedKv = started?.kvs[0];
    return {
      startedAt: startedKv === undefined ? 0 : Number(startedKv.value.toString('latin1')),
      reachable: (shards?.kvs ?? []).reduce((greatest, kv) => Math.max(greatest, counterReach(kv)), 0),
    };
  }

  /** The newest stored entry of `key` at or before `revision` and at or after `startedAt`, with its value. */
  async keyEntryAt(key: string, revision: number, startedAt: number): Promise<KeyVersion | undefined> {
    const range = this.etcd.space.historyEntries(key);
    const response = await this.etcd.range({ key: range.start, range_end: range.end, keys_only: true });
    const names = response.kvs.map((kv) => this.nameOf(kv));
    let newest: EntryName | undefined;
    for (const name of names) if (name.revision <= revision && name.revision >= startedAt) newest = name;
    return newest === undefined ? undefined : (await this.readEntries(key, [newest], true))[0];
  }

  async keyVersion(key: string, revision: number): Promise<KeyVersion | undefined> {
    const name = (await this.keptNames(key)).find((kept) => kept.revision === revision);
    return name === undefined ? undefined : (await this.readEntries(key, [name], true))[0];
  }

  /**
   * Keys whose newest kept entry is a delete or an expiry, in key order, from a walk of the
   * entries' names (keys only): a name tells its type, version and value size, so only the
   * removals' own (empty) entries are read, for their time. A call walks at most
   * DELETED_SCAN_MAX names (whole keys: one key's names are never split), then ends early with
   * `next`.
   */
  async deletedKeys(query: DeletedKeysQuery): Promise<DeletedKeysPage> {
    const limit = deletedPageLimit(query.limit);
    const range = this.etcd.space.historyKeysRange(query.prefix, query.after);
    const found: { removal: EntryName; lastPut: EntryName | undefined }[] = [];
    let names: EntryName[] = [];
    let examined = 0;
    let next: string | undefined;
    // One key's names are complete: whether it is deleted, and whether the page goes on (`more`:
    // whether names are left to walk).
    const finish = (more: boolean): boolean => {
      const kept = this.kept(names);
      const key = names[0]!.key;
      names = [];
      if (kept[0]!.type !== 'put') {
        if (found.length === limit) {
          next = found.at(-1)!.removal.key;
          return false;
        }
        found.push({ removal: kept[0]!, lastPut: kept.find((name) => name.type === 'put') });
      }
      if (!more || examined < DELETED_SCAN_MAX) return true;
      next = key;
      return false;
    };
    let start = range.start;
    walk: for (;;) {
      const response = await this.etcd.range({ key: start, range_end: range.end, keys_only: true, limit: NAMES_PAGE });
      for (const kv of response.kvs) {
        const name = this.nameOf(kv);
        if (names.length > 0 && names[0]!.key !== name.key && !finish(true)) break walk;
        names.push(name);
        examined++;
      }
      const last = response.kvs.at(-1);
      if (!response.more || last === undefined) {
        if (names.length > 0) finish(false);
        break;
      }
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    const keys = await this.removalsOf(found);
    return { keys, next };
  }

  /** The deleted keys' answers: each removal's time from its entry (a removal dropped since is left out). */
  private async removalsOf(
    found: readonly { removal: EntryName; lastPut: EntryName | undefined }[],
  ): Promise<DeletedKey[]> {
    const keys: DeletedKey[] = [];
    for (let start = 0; start < found.length; start += TRIM_READS) {
      const chunk = found.slice(start, start + TRIM_READS);
      const entries = await this.etcd.readRanges(chunk.map(({ removal }) => ({ key: removal.etcdKey })));
      chunk.forEach(({ removal, lastPut }, index) => {
        const kv = entries[index]?.kvs[0];
        if (kv === undefined) return;
        const entry = decodeHistoryEntry(kv.value, removal.key, removal.revision, false);
        keys.push({
          key: removal.key,
          revision: removal.revision,
          time: entry.time,
          type: removal.type === 'expire' ? 'expire' : 'delete',
          lastPut:
            lastPut === undefined
              ? null
              : { revision: lastPut.revision, version: lastPut.version, size: lastPut.valueSize },
        });
      });
    }
    return keys;
  }

  /**
   * Drops the store's oldest entries while its history is past `storeBytes`, at most `budget`,
   * never one of revision `newest` or later (a commit never drops its own entries), walking the
   * oldest order keys: an entry its key's own bounds dropped already costs nothing, and an order
   * key is deleted once all its entries are gone (or rewritten with those left). One transaction
   * that pins every order key, entry and counter it read: when another commit or server got
   * there first it does nothing, and the next commit past the bound tries again.
   */
  async trimStore(budget: number, newest: number, counters: CounterShards): Promise<number> {
    if (budget <= 0) return 0;
    return counters.with((shard) => this.trimWith(budget, newest, shard, counters));
  }

  /**
   * Where the reach goes after dropping `droppedOf`: each key's oldest entry left, or one past
   * its newest dropped entry when none is left (a key's entries go oldest first, so entries
   * written meanwhile are newer and change neither).
   */
  private async reachAfterDrops(droppedOf: ReadonlyMap<string, ReadonlySet<string>>): Promise<number> {
    const keys = [...droppedOf.keys()];
    const answers = await this.etcd.readRanges(
      keys.map((key) => {
        const range = this.etcd.space.historyEntries(key);
        return { key: range.start, range_end: range.end, keys_only: true };
      }),
    );
    let reach = 0;
    keys.forEach((key, index) => {
      const dropped = droppedOf.get(key)!;
      let newestDropped = 0;
      let oldestLeft: number | undefined;
      for (const kv of answers[index]?.kvs ?? []) {
        const revision = Number(kv.create_revision);
        if (dropped.has(kv.key.toString('latin1'))) newestDropped = Math.max(newestDropped, revision);
        else oldestLeft ??= revision;
      }
      reach = Math.max(reach, oldestLeft ?? newestDropped + 1);
    });
    return reach;
  }

  private async trimWith(budget: number, newest: number, shard: number, shards: CounterShards): Promise<number> {
    const { space } = this.etcd;
    const orderRange = space.historyOrderRange();
    const countersRange = space.historyBytesRange();
    const [orders, counters] = await this.etcd.readRanges([
      { key: orderRange.start, range_end: orderRange.end, limit: TRIM_ORDER_KEYS },
      { key: countersRange.start, range_end: countersRange.end },
    ]);
    const counterKvs = counters?.kvs ?? [];
    const total = storeBytesOf(counterKvs);
    let excess = total - this.retention.storeBytes;
    if (excess <= 0) {
      shards.cleanedUp(total);
      return 0;
    }
    // The oldest order keys, older than the commit, whose entries one read can check.
    const listed: { kv: IKeyValue; entries: OrderEntry[] }[] = [];
    let checked = 0;
    for (const kv of orders?.kvs ?? []) {
      const entries = decodeOrder(kv.value);
      if (Number(kv.create_revision) >= newest || (listed.length > 0 && checked + entries.length > TRIM_READS)) break;
      listed.push({ kv, entries });
      checked += entries.length;
    }
    if (listed.length === 0) return 0;
    const entryKeys = listed.flatMap(({ kv, entries }) => {
      const commit = space.historyOrderCommit(kv.key);
      return entries.map(([key, size, valueSize, version, type]) =>
        space.historyEntryKey(key, { commit, size, valueSize, version, type }),
      );
    });
    const present = await this.etcd.readRanges(entryKeys.map((key) => ({ key, keys_only: true })));
    const compare: ICompare[] = [];
    const success: IRequestOp[] = [];
    let freed = 0;
    let dropped = 0;
    let at = 0;
    /** Each key's entries this clean-up drops (their etcd keys, latin1). */
    const droppedOf = new Map<string, Set<string>>();
    for (const { kv, entries } of listed) {
      if (excess <= 0 || dropped === budget) break;
      const left: OrderEntry[] = [];
      for (const entry of entries) {
        const stored = present[at++]?.kvs[0];
        if (stored === undefined) continue;
        if (excess <= 0 || dropped === budget) {
          left.push(entry);
          continue;
        }
        const [pin, drop] = dropOf(stored);
        compare.push(pin);
        success.push(drop);
        const keyDrops = droppedOf.get(entry[0]) ?? new Set<string>();
        droppedOf.set(entry[0], keyDrops.add(stored.key.toString('latin1')));
        freed += entry[1];
        excess -= entry[1];
        dropped++;
      }
      const rewritten = left.length === 0 ? undefined : encodeOrder(left);
      compare.push({ key: kv.key, target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision });
      success.push(
        rewritten === undefined
          ? { request_delete_range: { key: kv.key } }
          : { request_put: { key: kv.key, value: rewritten } },
      );
      const shrunk = kv.value.length - (rewritten?.length ?? 0);
      freed += shrunk;
      excess -= shrunk;
    }
    if (success.length === 0) return 0;
    const reach = await this.reachAfterDrops(droppedOf);
    const [pin, update] = counterUpdate(space, counterKvs, shard, -freed, reach);
    compare.push(pin);
    success.push(update);
    if (!(await this.etcd.write({ compare, success }))) return 0;
    shards.cleanedUp(total - freed);
    return dropped;
  }
}
