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
