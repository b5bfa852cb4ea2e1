// Runs of consecutive keys (in key order) that a listing found all expired or deleted, remembered
// so that the next listing steps over each run with one seek instead of reading and decoding
// every record of it again: a prefix full of expired keys not yet swept (sessions, a cache) cost
// every listing of it up to 1,000 record reads (docs/limits.md, "Expired runs").
//
// Key order, unlike the recent index's order (expired-spans.ts), lets a write land inside a run:
// any key can be created anywhere. So this memory follows every write of its process, and is
// used only where one process owns the store (exclusive mode, as the record cache):
// - a write drops the run holding its key, when the write starts and again once it is visible;
// - a listing remembers a run only if no write touched the run's range while it read it (writes
//   in flight, and writes made visible since its snapshot, from a ring of the latest ones);
// - a listing steps over a run only if the run was found in a snapshot no newer than its own (a
//   key deleted after its snapshot must still be listed by it).
// Generations order snapshots and writes: a write takes the next one once visible, a listing the
// current one when it takes its snapshot.

import { compareKeys } from '../../model/key-order.js';
import { type ExpiredSpan, ExpiredSpans, keyBytes } from './expired-spans.js';

/** Latest visible writes whose key range is remembered for the check of a run against its listing's snapshot. */
export const RECENT_WRITES_KEPT = 1024;
/**
 * Key bytes those ranges hold at most (two keys a write, their lowest and highest): past it the
 * oldest are forgotten, and a listing whose snapshot is older than what is kept learns nothing.
 */
export const RECENT_WRITES_BYTES_MAX = 256 * 1024;

export class ExpiredKeyRuns {
  private readonly spans = new ExpiredSpans<string>(compareKeys, keyBytes);
  /** Generation of the latest visible write. */
  private current = 0;
  /** The lowest and highest key of each of the latest visible writes, by generation modulo RECENT_WRITES_KEPT. */
  private readonly recentLow: string[] = [];
  private readonly recentHigh: string[] = [];
  /** The oldest generation whose key range is still kept. */
  private oldestKept = 1;
  private recentBytes = 0;
  /** Keys of writes started and not yet visible, with how many such writes hold each. */
  private readonly inFlight = new Map<string, number>();

  get size(): number {
    return this.spans.size;
  }

  /** The generation a listing's snapshot taken now belongs to. */
  snapshot(): number {
    return this.current;
  }

  /** A write of `keys` starts: its runs are dropped, and no run over them is learned until it is visible. */
  writing(keys: readonly string[]): void {
    for (const key of keys) {
      this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
      if (this.spans.size > 0) this.spans.forget(key);
    }
  }

  /** The write of `keys` announced by writing() is visible to readers (or failed). */
  written(keys: readonly string[]): void {
    this.keepRange(keys);
    for (const key of keys) {
      const holders = this.inFlight.get(key) ?? 1;
      if (holders <= 1) this.inFlight.delete(key);
      else this.inFlight.set(key, holders - 1);
      if (this.spans.size > 0) this.spans.forget(key);
    }
  }

  /** The remembered run holding `key` that a listing of snapshot `generation` may step over at `now`. */
  containing(key: string, now: number, generation: number): ExpiredSpan<string> | undefined {
    return this.spans.containing(key, now, generation);
  }

  /**
   * Remembers that every key from `low` to `high` was expired or absent at `now` in the snapshot
   * of `generation`, unless a write may have changed that range since (then nothing is learned).
   */
  remember(low: string, high: string, entries: number, now: number, generation: number): void {
    if (!this.unchangedSince(low, high, generation)) return;
    this.spans.remember(low, high, entries, now, generation);
  }

  /** Forgets every run (the store was reread after a failure). */
  clear(): void {
    this.spans.clear();
  }

  /** Takes the next generation for a visible write, keeping its key range within the bounds. */
  private keepRange(keys: readonly string[]): void {
    this.current++;
    let low: string | undefined;
    let high: string | undefined;
    for (const key of keys) {
      if (low === undefined || compareKeys(key, low) < 0) low = key;
      if (high === undefined || compareKeys(key, high) > 0) high = key;
    }
    const slot = this.current % RECENT_WRITES_KEPT;
    if (this.current - this.oldestKept >= RECENT_WRITES_KEPT) this.dropOldest();
    // A write of no key (an empty transaction) holds an empty range: low above high.
    this.recentLow[slot] = low ?? '\u{10FFFF}';
    this.recentHigh[slot] = high ?? '';
    this.recentBytes += keyBytes(this.recentLow[slot]!) + keyBytes(this.recentHigh[slot]!);
    while (this.recentBytes > RECENT_WRITES_BYTES_MAX && this.oldestKept < this.current) this.dropOldest();
  }

  private dropOldest(): void {
    const slot = this.oldestKept % RECENT_WRITES_KEPT;
    this.recentBytes -= keyBytes(this.recentLow[slot]!) + keyBytes(this.recentHigh[slot]!);
    this.oldestKept++;
  }

  private unchangedSince(low: string, high: string, generation: number): boolean {
    if (generation + 1 < this.oldestKept) return false;
    for (let seen = generation + 1; seen <= this.current; seen++) {
      const slot = seen % RECENT_WRITES_KEPT;
      if (compareKeys(this.recentLow[slot]!, high) <= 0 && compareKeys(this.recentHigh[slot]!, low) >= 0) return false;
    }
    for (const key of this.inFlight.keys()) if (compareKeys(key, low) >= 0 && compareKeys(key, high) <= 0) return false;
    return true;
  }
}
