// Walks over the key space for the RESP commands that go through many keys (KEYS, SCAN with a
// large COUNT, RANDOMKEY on a small store): small slices, a macrotask turn for other clients
// between two slices, and more turns while they keep the loop busy (giveWay,
// model/turn-budget.ts). Engine reads settle at once, so awaiting them alone would never let
// anyone else in; the slice size is what one turn may hold the event loop for (docs/limits.md).

import { setImmediate as yieldToOthers } from 'node:timers/promises';
import type { Caller, Page } from '../core/service.js';
import type { EntryInfo } from '../model/entry.js';
import type { RespService } from './command.js';
import { giveWay } from '../model/turn-budget.js';

/**
 * Keys one slice lists at most, and expired-but-not-yet-swept keys it passes over at most. Each
 * record listed costs about 10 us of CPU (read, checksum, decode) on the lmdb engine: measured
 * on the stall suite's store (100,000 keys, 100-byte values, bench/suites/stall.ts), one
 * 1,000-key page took 7.6-11 ms of the event loop and one 100-key slice 0.4 ms, the whole walk
 * the same time either way. Turns of 10 ms made KEYS *7 the stall suite's worst RESP phase
 * (plain GETs' p99 25x the idle run's, BENCHMARKS.md); with 100 a turn stays near 1 ms (turns
 * over 5 ms of CPU during two KEYS *7 on that store: 53 before, 5 after, bench/stall/turn-cpu.ts).
 */
export const WALK_SLICE_KEYS = 100;

/**
 * Expired keys one SCAN call passes over at most beyond its COUNT, in whole slices: as many as one
 * listing page may (docs/limits.md), so that SCAN over a range of expired keys not yet swept still
 * answers with a cursor after a bounded cost.
 */
export const SCAN_EXPIRED_MAX = 10 * WALK_SLICE_KEYS;

export interface WalkOptions {
  readonly prefix: string;
  /** Start after this key (a cursor), or undefined for the start of the prefix. */
  readonly after?: string | undefined;
  /** Live keys wanted in all (the walk stops once it has them), or undefined for every key. */
  readonly maxKeys?: number | undefined;
  /** Slices read at most (bounds what expired keys cost), or undefined for no bound. */
  readonly maxSlices?: number | undefined;
}

/**
 * The slices of a walk, in key order, with a turn for other clients before every slice but the
 * first. A slice may hold fewer keys than asked (even none) and still have a `next`: it met its
 * bound of expired keys. The walk ends after a slice whose `next` is null, or at maxKeys or
 * maxSlices; the consumer may stop earlier.
 */
export async function* walkKeys(
  service: RespService,
  caller: Caller,
  options: WalkOptions,
): AsyncGenerator<Page<EntryInfo>> {
  const slice = Math.min(WALK_SLICE_KEYS, service.limits.maxListLimit);
  const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
  const maxSlices = options.maxSlices ?? Number.POSITIVE_INFINITY;
  let after = options.after;
  let listed = 0;
  for (let slices = 0; slices < maxSlices && listed < maxKeys; slices++) {
    if (slices > 0) await giveWay(yieldToOthers);
    const page = await service.list(caller, options.prefix, after, Math.min(slice, maxKeys - listed), WALK_SLICE_KEYS);
    listed += page.items.length;
    yield page;
    if (page.next === null) return;
    after = page.next;
  }
}
