// The working set of one command, or of one MULTI/EXEC transaction: the entries read from the
// store before the command ran (the snapshot) plus the writes the commands made so far. Commands
// run synchronously against it; afterwards the runner commits the writes as one KvService.txn
// with a `modRevision` condition on every key that was read, so the result is exactly as if the
// commands had run alone on the store (optimistic concurrency; a failed condition means retry).

import type { TxnOperation } from '../core/service.js';
import type { Condition } from '../model/txn.js';
import type { Entry } from '../model/entry.js';
import { KvsError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';

/** What a command sees of a live key. */
export interface KeyState {
  readonly value: Buffer;
  /** Absolute expiry (ms) or null. */
  readonly expires: number | null;
  readonly contentType: string | null;
}

/** The expiry of a write: an absolute time, none, or "whatever the key has now". */
export type WriteExpiry = number | null | 'keep';

interface PendingPut {
  readonly value: Buffer;
  readonly expires: WriteExpiry;
  readonly contentType: string | null;
}

/** null: deleted by this view. */
type Pending = PendingPut | null;

/**
 * The value of a snapshot entry whose value no command of the view uses (key-preload.ts lets it
 * go once read). Reading it through get() is a bug in the command's declaration (usesValues).
 */
export const VALUE_NOT_READ: Buffer = Buffer.alloc(0);

/**
 * Views over at most this many keys find a key by comparing it with each (a GET's view holds one);
 * larger ones index their keys in a Map.
 */
const LINEAR_LOOKUP_KEYS = 8;
/** Reads of the first this many keys are marked in a number's bits; later ones in `manyReads`. */
const READ_MASK_BITS = 30;

export class KeyView {
  // Allocated on first use: a read-only command (GET, the hot path) writes and rolls back
  // nothing. With a Map, a Set and an array made for every GET (and the run context spread, see
  // command-runner.ts runContext), runReadOnlySync's own time was 16% of kvs's CPU under
  // `redis-benchmark -c 50 -P 16 -t get -d 100`; 1.2% without them.
  private pending: Map<string, Pending> | undefined;
  private undoLog: [string, Pending | undefined][] | undefined;
  /** Which snapshot keys were read: bit i of readMask for key i < READ_MASK_BITS. */
  private readMask = 0;
  private manyReads: Set<number> | undefined;
  /** Key -> index in `keys`, for views over more than LINEAR_LOOKUP_KEYS keys. */
  private readonly index: Map<string, number> | undefined;

  /**
   * @param keys the keys read before the commands ran, distinct; keys outside them may only be
   *   written blindly.
   * @param entries their entries (undefined: absent), in the same order.
   */
  private constructor(
    private readonly keys: readonly string[],
    private readonly entries: readonly (Entry | undefined)[],
    readonly now: number,
    private readonly limits: Limits,
  ) {
    if (keys.length > LINEAR_LOOKUP_KEYS) {
      this.index = new Map();
      for (let position = 0; position < keys.length; position++) this.index.set(keys[position]!, position);
    }
  }

  static fromEntries(
    keys: readonly string[],
    entries: readonly (Entry | undefined)[],
    now: number,
    limits: Limits,
  ): KeyView {
    return new KeyView(keys, entries, now, limits);
  }

  /** The position of the key in the snapshot, or -1. */
  private positionOf(key: string): number {
    if (this.index !== undefined) return this.index.get(key) ?? -1;
    const keys = this.keys;
    for (let position = 0; position < keys.length; position++) if (keys[position] === key) return position;
    return -1;
  }

  /** The live key, as this view has it. */
  get(key: string): KeyState | undefined {
    const pending = this.pending?.get(key);
    if (pending === undefined) {
      const base = this.base(key);
      if (base?.value === VALUE_NOT_READ) {
        throw new KvsError('internal', `resp: the value of ${JSON.stringify(key)} was not read`);
      }
      return base;
    }
    if (pending === null) return undefined;
    if (pending.expires !== 'keep') return pending as KeyState;
    const base = this.base(key);
    return { value: pending.value, contentType: pending.contentType, expires: base?.expires ?? null };
  }

  /** Whether the key is live in this view; needs no value. */
  exists(key: string): boolean {
    return this.expiresOf(key) !== undefined;
  }

  /** The live key's expiry (null: none), or undefined when it does not exist; needs no value. */
  expiresOf(key: string): number | null | undefined {
    const pending = this.pending?.get(key);
    if (pending === undefined) return this.base(key)?.expires;
    if (pending === null) return undefined;
    if (pending.expires !== 'keep') return pending.expires;
    return this.base(key)?.expires ?? null;
  }

  /** The key's modRevision in the store when it was read (0: absent); for WATCH. */
  modRevision(key: string): number {
    const entry = this.snapshotEntry(key);
    return entry === undefined || this.expired(entry) ? 0 : entry.modRevision;
  }

  /** Whether the key was live in the store when read (without counting as a read). */
  existedBefore(key: string): boolean {
    return this.modRevision(key) !== 0;
  }

  private snapshotEntry(key: string): Entry | undefined {
    return this.entries[this.snapshotPosition(key)];
  }

  private snapshotPosition(key: string): number {
    const position = this.positionOf(key);
    if (position < 0) throw new KvsError('internal', `resp: key ${JSON.stringify(key)} was not read before use`);
    return position;
  }

  private expired(entry: Entry): boolean {
    return entry.expires !== null && entry.expires <= this.now;
  }

  private base(key: string): KeyState | undefined {
    const position = this.snapshotPosition(key);
    if (position < READ_MASK_BITS) this.readMask |= 1 << position;
    else (this.manyReads ??= new Set()).add(position);
    const entry = this.entries[position];
    return entry === undefined || this.expired(entry) ? undefined : entry;
  }

  put(key: string, value: Buffer, expires: WriteExpiry, contentType: string | null = null): void {
    if (value.length > this.limits.maxValueBytes) {
      throw new KvsError('value_too_large', undefined, { limit: this.limits.maxValueBytes, size: value.length });
    }
    this.record(key);
    this.writes().set(key, { value, expires, contentType });
  }

  /** Writes a new value, keeping the key's expiry and content type (APPEND, INCR, SETRANGE, ...). */
  replace(key: string, value: Buffer): void {
    const current = this.get(key);
    this.put(key, value, current?.expires ?? null, current?.contentType ?? null);
  }

  delete(key: string): void {
    this.record(key);
    this.writes().set(key, null);
  }

  private writes(): Map<string, Pending> {
    this.pending ??= new Map();
    return this.pending;
  }

  private record(key: string): void {
    (this.undoLog ??= []).push([key, this.pending?.get(key)]);
  }

  /** Whether a command run in this view wrote the key. */
  writtenHere(key: string): boolean {
    return this.pending?.has(key) === true;
  }

  /** The keys this view wrote, and whether each exists afterwards. */
  *pendingKeys(): Generator<[string, boolean]> {
    if (this.pending === undefined) return;
    for (const [key, pending] of this.pending) yield [key, pending !== null];
  }

  get hasWrites(): boolean {
    return this.pending !== undefined && this.pending.size > 0;
  }

  /** A point to roll back to if the next command fails half-way. */
  mark(): number {
    return this.undoLog === undefined ? 0 : this.undoLog.length;
  }

  rollback(mark: number): void {
    const undoLog = this.undoLog;
    if (undoLog === undefined) return;
    while (undoLog.length > mark) {
      const [key, previous] = undoLog.pop()!;
      if (previous === undefined) this.pending!.delete(key);
      else this.pending!.set(key, previous);
    }
  }

  /** The writes, as one transaction's operations. */
  operations(): TxnOperation[] {
    const operations: TxnOperation[] = [];
    if (this.pending === undefined) return operations;
    for (const [key, pending] of this.pending) {
      if (pending === null) {
        operations.push({ type: 'delete', key });
      } else if (pending.expires === 'keep') {
        operations.push({ type: 'put', key, value: pending.value, contentType: pending.contentType, keepTtl: true });
      } else {
        operations.push({
          type: 'put',
          key,
          value: pending.value,
          contentType: pending.contentType,
          expiresAt: pending.expires,
        });
      }
    }
    return operations;
  }

  /** One condition per key read (in snapshot order): it must still be what was read (0 = absent) at commit. */
  conditions(): Condition[] {
    const conditions: Condition[] = [];
    for (let position = 0; position < this.keys.length; position++) {
      const wasRead =
        position < READ_MASK_BITS ? (this.readMask & (1 << position)) !== 0 : this.manyReads?.has(position) === true;
      if (!wasRead) continue;
      const key = this.keys[position]!;
      conditions.push({ key, kind: 'modRevision', modRevision: this.modRevision(key) });
    }
    return conditions;
  }
}
