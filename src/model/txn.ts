// Transactions as the core hands them to an engine, and what a commit answers.

import type { WriteOrigin } from './audit.js';
import type { EntryInfo } from './entry.js';

/** A check evaluated inside a transaction; expired keys count as absent. */
export type Condition =
  | { readonly key: string; readonly kind: 'version'; readonly version: number }
  | { readonly key: string; readonly kind: 'modRevision'; readonly modRevision: number }
  | { readonly key: string; readonly kind: 'absent' }
  | { readonly key: string; readonly kind: 'exists' };

export type Operation =
  | {
      readonly type: 'put';
      readonly key: string;
      readonly value: Buffer;
      readonly contentType: string | null;
      /** Absolute expiry in ms, or null for none. Ignored when keepExpires is set and the key exists. */
      readonly expires: number | null;
      /** Keep the key's current expiry (Redis KEEPTTL, APPEND, INCR, ...). */
      readonly keepExpires?: boolean;
    }
  | { readonly type: 'delete'; readonly key: string }
  /** Removal of an expired key by the sweeper; recorded as an `expire` event. */
  | { readonly type: 'expire'; readonly key: string };

export interface Txn {
  readonly conditions: readonly Condition[];
  readonly operations: readonly Operation[];
  /** Who made it, for the audit trail (docs/audit.md); engines record it with the commit. */
  readonly origin?: WriteOrigin;
}

export type CommitResult =
  | {
      readonly ok: true;
      /** The transaction's revision; equals the store revision before it when nothing changed. */
      readonly revision: number;
      /** Meta of every put, in operation order. */
      readonly puts: readonly EntryInfo[];
      /** Keys that existed and were removed by delete/expire operations. */
      readonly deleted: readonly string[];
    }
  | {
      readonly ok: false;
      /** Index in `conditions` of the first check that failed. */
      readonly failed: number;
      /** What the failing key currently is (undefined when absent). */
      readonly current: EntryInfo | undefined;
    };
