// Runs of consecutive recent-index entries ([modRevision, key]) that the index page's walk found
// all expired, remembered so that the next walk steps over each run with one seek instead of
// reading it again (docs/limits.md, "Expired runs"). A run stays all expired: an expired entry
// leaves the index only when its key is written again (or deleted), and that write adds the key's
// new entry above every existing one, never inside the run. (Key order has no such property, a
// new key can be created anywhere: listings use this through expired-key-runs.ts, which follows
// every write.) A run found expired at time T says nothing about an earlier clock: it is used only
// from T on.

/** A key's size in UTF-8, what a remembered run's bounds are counted in (EXPIRED_SPANS_BYTES_MAX). */
export function keyBytes(key: string): number {
  return Buffer.byteLength(key, 'utf8');
}

/** Remembered runs at most; past it the run of fewest entries is forgotten. */
export const EXPIRED_SPANS_MAX = 64;
/** Key bytes the remembered runs' bounds hold at most (two keys each); past it as above. */
export const EXPIRED_SPANS_BYTES_MAX = 64 * 1024;
/**
 * Fewer expired entries than this in a run are not remembered: stepping over a run costs a seek
 * and a read, so a short run saves little, and a store where live and expired keys alternate
 * would otherwise fill the memory with runs of one.
 */
export const EXPIRED_SPAN_MIN_ENTRIES = 16;

/** A run of expired entries, `low` to `high` inclusive in the index's order. */
export interface ExpiredSpan<Position> {
  readonly low: Position;
  readonly high: Position;
  /** Entries the run held when found (a run may lose entries since, never gain). */
  readonly entries: number;
  /** The clock at which every entry of the run was expired. */
  readonly seenAt: number;
  /** The snapshot it was found in (expired-key-runs.ts); 0 where snapshots do not matter. */
  readonly generation: number;
  readonly bytes: number;
}

export class ExpiredSpans<Position> {
  /** Disjoint, ascending. */
  private spans: ExpiredSpan<Position>[] = [];
  private heldBytes = 0;

  constructor(
    private readonly compare: (a: Position, b: Position) => number,
    private readonly keyBytes: (position: Position) => number,
  ) {}

  get size(): number {
    return this.spans.length;
  }

  /** Key bytes held by the remembered runs' bounds. */
  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * The remembered run holding `position` that may be trusted at `now` by a reader of snapshot
   * `generation` (a run found in a newer snapshot is not), if any.
   */
  containing(
    position: Position,
    now: number,
    generation = Number.POSITIVE_INFINITY,
  ): ExpiredSpan<Position> | undefined {
    const index = this.lastStartingAtOrBefore(position);
    if (index < 0) return undefined;
    const span = this.spans[index]!;
    return this.compare(position, span.high) <= 0 && span.seenAt <= now && span.generation <= generation
      ? span
      : undefined;
  }

  /** Drops the run holding `position`, if any (a write there may have made it live). */
  forget(position: Position): void {
    const index = this.lastStartingAtOrBefore(position);
    if (index < 0 || this.compare(position, this.spans[index]!.high) > 0) return;
    this.heldBytes -= this.spans[index]!.bytes;
    this.spans.splice(index, 1);
  }

  clear(): void {
    this.spans = [];
    this.heldBytes = 0;
  }

  /**
   * Remembers that every entry from `low` to `high` was expired at `seenAt`, joined with the runs
   * it overlaps (a walk that stepped over a run and read on below it passes the whole stretch).
   */
  remember(low: Position, high: Position, entries: number, seenAt: number, generation = 0): void {
    if (entries < EXPIRED_SPAN_MIN_ENTRIES) return;
    let first = this.lastStartingAtOrBefore(low);
    if (first < 0 || this.compare(this.spans[first]!.high, low) < 0) first++;
    let end = first;
    let joined = { low, high, entries, seenAt, generation };
    while (end < this.spans.length && this.compare(this.spans[end]!.low, high) <= 0) {
      const overlapped = this.spans[end]!;
      joined = {
        low: this.compare(overlapped.low, joined.low) < 0 ? overlapped.low : joined.low,
        high: this.compare(overlapped.high, joined.high) > 0 ? overlapped.high : joined.high,
        entries: Math.max(joined.entries, overlapped.entries),
        seenAt: Math.max(joined.seenAt, overlapped.seenAt),
        generation: Math.max(joined.generation, overlapped.generation),
      };
      end++;
    }
    const span = { ...joined, bytes: this.keyBytes(joined.low) + this.keyBytes(joined.high) };
    for (const removed of this.spans.splice(first, end - first, span)) this.heldBytes -= removed.bytes;
    this.heldBytes += span.bytes;
    while (this.spans.length > EXPIRED_SPANS_MAX || this.heldBytes > EXPIRED_SPANS_BYTES_MAX) this.forgetSmallest();
  }

  private forgetSmallest(): void {
    let smallest = 0;
    for (let index = 1; index < this.spans.length; index++)
      if (this.spans[index]!.entries < this.spans[smallest]!.entries) smallest = index;
    this.heldBytes -= this.spans[smallest]!.bytes;
    this.spans.splice(smallest, 1);
  }

  /** Index of the last run whose low is at or before `position`, -1 if none. */
  private lastStartingAtOrBefore(position: Position): number {
    let low = 0;
    let high = this.spans.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.compare(this.spans[middle]!.low, position) <= 0) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }
}
