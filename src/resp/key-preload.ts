// Reads the keys one command, one batch of commands or one EXEC works on: the snapshot of its
// KeyView (key-view.ts). What the read may hold is bounded in bytes (docs/limits.md,
// maxRespOutputBytes): once the values the commands use pass maxRespOutputBytes, the work is
// refused with the reply-too-large error without reading the rest. Those values go into the
// reply (MGET, GETs in EXEC) or into writes (bounded by maxBodyBytes far below it); only a few
// commands read values they do not answer (STRLEN, BITCOUNT, LCS: one or two keys each), so in
// practice only an EXEC of many of them is refused for values its reply does not hold. An MGET of
// maxBatch keys of maxValueBytes values so holds at most maxRespOutputBytes plus one value, not
// a gigabyte. Values no command uses (DEL, EXISTS, TTL, WATCH, ...) are let go once read.
//
// Consistency: on engines with synchronous reads (lmdb, memory) every key is read in one
// synchronous run, as before, so the snapshot is one state of the store and no other command of
// this process runs in between. Engines without them (etcd) are read in slices of
// maxRespOutputBytes / maxValueBytes keys (64 by default), each one consistent snapshot (etcd's
// own getMany splits at its --max-txn-ops, 128 by default); writes are still conditioned on
// every key read, so only a read-only command over more than one slice can see two states.

import type { Entry } from '../model/entry.js';
import type { Caller } from '../core/service.js';
import type { RespService } from './command.js';
import { VALUE_NOT_READ } from './key-view.js';
import { replyTooLarge } from './reply.js';

/** Whether the work uses a key's value (otherwise only its existence, expiry and revision). */
export type ValueNeed = (key: string) => boolean;

export const everyValue: ValueNeed = () => true;
export const noValue: ValueNeed = () => false;

/** What one value costs besides its bytes (RESP framing, the entry): as MGET counts its reply. */
const VALUE_OVERHEAD_BYTES = 16;

type Entries = (Entry | undefined)[];

/** The entry as the view holds it: without its value when the work does not use it. */
function withoutUnusedValue(entry: Entry | undefined, key: string, need: ValueNeed): Entry | undefined {
  return entry === undefined || need(key) ? entry : { ...entry, value: VALUE_NOT_READ };
}

/** Counts the values held; throws the reply-too-large error once they pass the limit. */
class ValueBudget {
  private bytes = 0;
  private values = 0;

  constructor(private readonly limit: number) {}

  keep(entry: Entry | undefined, key: string, need: ValueNeed): Entry | undefined {
    if (entry === undefined || !need(key)) return withoutUnusedValue(entry, key, need);
    this.bytes += entry.value.length + VALUE_OVERHEAD_BYTES;
    this.values++;
    // One value always fits: a GET of a value larger than the limit is the output bound's job.
    if (this.bytes > this.limit && this.values > 1) throw replyTooLarge(this.limit);
    return entry;
  }
}

/**
 * The entries of `keys`, read synchronously. null when the engine has no synchronous reads, or
 * when a read failed: the asynchronous read then reports the failure as the error catalogue has it.
 */
export function readKeysSync(
  service: RespService,
  caller: Caller,
  keys: readonly string[],
  need: ValueNeed,
): Entries | null {
  service.validateBatch(keys.length);
  const entries: Entries = new Array<Entry | undefined>(keys.length);
  // One key (GET, INCR, ...: the hot path) always fits: nothing to count.
  const budget = keys.length === 1 ? undefined : new ValueBudget(service.limits.maxRespOutputBytes);
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    let entry: Entry | undefined | null;
    try {
      entry = service.getSync(caller, key);
    } catch {
      return null;
    }
    if (entry === null) return null;
    entries[index] = budget === undefined ? withoutUnusedValue(entry, key, need) : budget.keep(entry, key, need);
  }
  return entries;
}

/** The entries of `keys`: synchronously when the engine can, otherwise slice by slice. */
export async function readKeys(
  service: RespService,
  caller: Caller,
  keys: readonly string[],
  need: ValueNeed,
): Promise<Entries> {
  const read = readKeysSync(service, caller, keys, need);
  if (read !== null) return read;
  const { maxRespOutputBytes, maxValueBytes } = service.limits;
  // A slice of maxValueBytes values holds at most the limit: the read holds at most twice it.
  const slice = Math.max(1, Math.floor(maxRespOutputBytes / maxValueBytes));
  const budget = new ValueBudget(maxRespOutputBytes);
  const entries: Entries = [];
  for (let start = 0; start < keys.length; start += slice) {
    const part = keys.length <= slice ? keys : keys.slice(start, start + slice);
    const found = await service.getMany(caller, part);
    for (let index = 0; index < part.length; index++) entries.push(budget.keep(found[index], part[index]!, need));
  }
  return entries;
}
