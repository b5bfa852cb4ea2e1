// Per-key history's vocabulary (docs/history.md): the versions a key went through, each one the
// state a committed transaction left it in. Every engine writes a key's entry in the same
// transaction as the commit, so an acknowledged write always has its entry and a refused one never
// does. Versions restart at 1 after a delete; the revision names one entry exactly.

import type { ChangeType } from './change-type.js';

/** One entry of a key's history. */
export interface KeyVersion {
  readonly key: string;
  /** The revision of the commit that left the key in this state. */
  readonly revision: number;
  /** The key's version after a put; 0 after a delete or an expiry. */
  readonly version: number;
  readonly type: ChangeType;
  /** When it was committed, in ms since the epoch. */
  readonly time: number;
  /** Bytes of the value (0 after a delete or an expiry). */
  readonly size: number;
  readonly contentType: string | null;
  /** The expiry the put set (ms since the epoch), or null. */
  readonly expires: number | null;
  /** The value, when asked for (puts only). */
  readonly value?: Buffer | undefined;
}

/** One page of a key's history, newest first (Engine.keyHistory). */
export interface KeyHistoryQuery {
  /** Only entries with a revision below this one (exclusive): the cursor of the next page. */
  readonly before?: number | undefined;
  readonly limit: number;
  /** Whether the entries carry their values. */
  readonly values: boolean;
}

export interface KeyHistoryPage {
  /** Newest first, at most `limit`. */
  readonly versions: KeyVersion[];
  /** Pass as `before` for the next page; undefined when no older entry is left. */
  readonly next: number | undefined;
}

/** A page of deleted keys (Engine.deletedKeys): keys whose newest history entry is a delete or an expiry. */
export interface DeletedKeysQuery {
  /** Only keys starting with this string ('' for all). */
  readonly prefix: string;
  /** Exclusive lower bound: the `next` of the previous page. */
  readonly after?: string | undefined;
  readonly limit: number;
}

/** The newest kept put of a deleted key: what restoring it would bring back. */
export interface LastPut {
  readonly revision: number;
  readonly version: number;
  readonly size: number;
}

/** One deleted key: its newest history entry, a delete or an expiry, and the put before it. */
export interface DeletedKey {
  readonly key: string;
  /** The revision and time (ms since the epoch) of the delete or expiry. */
  readonly revision: number;
  readonly time: number;
  readonly type: Exclude<ChangeType, 'put'>;
  /** The newest kept put before it, or null when none is kept. */
  readonly lastPut: LastPut | null;
}

export interface DeletedKeysPage {
  /** In key order, at most `limit`. */
  readonly keys: DeletedKey[];
  /**
   * Pass as `after` for the next page; undefined when no key is left. A page may hold fewer than
   * `limit` keys and still have one: an engine examines at most DELETED_SCAN_MAX keys with
   * history per call, so a call's cost is bounded whatever share of them is deleted.
   */
  readonly next: string | undefined;
}
