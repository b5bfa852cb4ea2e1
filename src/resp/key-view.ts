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

export class KeyView {
  private readonly pending = new Map<string, Pending>();
  private readonly read = new Set<string>();
  private undoLog: [string, Pending | undefined][] = [];

  /**
   * @param snapshot entries read before the commands ran (undefined: absent); keys outside it
   *   may only be written blindly.
   */
  constructor(
    private readonly snapshot: ReadonlyMap<string, Entry | undefined>,
    readonly now: number,
    private readonly limits: Limits,
  ) {}

  static fromEntries(
    keys: readonly string[],
    entries: readonly (Entry | undefined)[],
    now: number,
    limits: Limits,
  ): KeyView {
    const snapshot = new Map<string, Entry | undefined>();
    for (let index = 0; index < keys.length; index++) snapshot.set(keys[index]!, entries[index]);
    return new KeyView(snapshot, now, limits);
  }

  /** The live key, as this view has it. */
  get(key: string): KeyState | undefined {
    const pending = this.pending.get(key);
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
    const pending = this.pending.get(key);
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
    if (!this.snapshot.has(key))
      throw new KvsError('internal', `resp: key ${JSON.stringify(key)} was not read before use`);
    return this.snapshot.get(key);
  }

  private expired(entry: Entry): boolean {
    return entry.expires !== null && entry.expires <= this.now;
  }

  private base(key: string): KeyState | undefined {
    const entry = this.snapshotEntry(key);
    this.read.add(key);
    return entry === undefined || this.expired(entry) ? undefined : entry;
  }

  put(key: string, value: Buffer, expires: WriteExpiry, contentType: string | null = null): void {
    if (value.length > this.limits.maxValueBytes) {
      throw new KvsError('value_too_large', undefined, { limit: this.limits.maxValueBytes, size: value.length });
    }
    this.record(key);
    this.pending.set(key, { value, expires, contentType });
  }

  /** Writes a new value, keeping the key's expiry and content type (APPEND, INCR, SETRANGE, ...). */
  replace(key: string, value: Buffer): void {
    const current = this.get(key);
    this.put(key, value, current?.expires ?? null, current?.contentType ?? null);
  }

  delete(key: string): void {
    this.record(key);
    this.pending.set(key, null);
  }

  private record(key: string): void {
    this.undoLog.push([key, this.pending.get(key)]);
  }

  /** Whether a command run in this view wrote the key. */
  writtenHere(key: string): boolean {
    return this.pending.has(key);
  }

  /** The keys this view wrote, and whether each exists afterwards. */
  *pendingKeys(): Generator<[string, boolean]> {
    for (const [key, pending] of this.pending) yield [key, pending !== null];
  }

  get hasWrites(): boolean {
    return this.pending.size > 0;
  }

  /** A point to roll back to if the next command fails half-way. */
  mark(): number {
    return this.undoLog.length;
  }

  rollback(mark: number): void {
    while (this.undoLog.length > mark) {
      const [key, previous] = this.undoLog.pop()!;
      if (previous === undefined) this.pending.delete(key);
      else this.pending.set(key, previous);
    }
  }

  /** The writes, as one transaction's operations. */
  operations(): TxnOperation[] {
    const operations: TxnOperation[] = [];
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

  /** One condition per key read: it must still be what was read (0 = absent) at commit. */
  conditions(): Condition[] {
    const conditions: Condition[] = [];
    for (const key of this.read) conditions.push({ key, kind: 'modRevision', modRevision: this.modRevision(key) });
    return conditions;
  }
}
