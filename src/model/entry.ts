// The data model shared by the core and every engine (DESIGN 3).

/** What the store records about a key besides its value. */
export interface KeyMeta {
  /** Revision of the transaction that created this incarnation of the key. */
  readonly createRevision: number;
  /** Revision of the transaction that last wrote the key. "Most recent" always means highest modRevision. */
  readonly modRevision: number;
  /** Number of writes to this incarnation of the key; 1 after creation. */
  readonly version: number;
  /** Wall-clock time (ms since epoch) of the last write. Display only: never used for ordering. */
  readonly updated: number;
  /** Expiry time (ms since epoch), or null for none. */
  readonly expires: number | null;
  /** Content type given on write, or null (served as text/plain; charset=utf-8). */
  readonly contentType: string | null;
}

export interface Entry extends KeyMeta {
  readonly key: string;
  readonly value: Buffer;
}

/** An entry without its value, for listings. */
export interface EntryInfo extends KeyMeta {
  readonly key: string;
  readonly size: number;
}

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
}

export type ChangeType = 'put' | 'delete' | 'expire';

export interface ChangeEvent {
  readonly type: ChangeType;
  readonly key: string;
  readonly revision: number;
  /** The key's version after a put; 0 after delete/expire. */
  readonly version: number;
  /** The value after a put, when the engine kept it in the change log (small values only). */
  readonly value?: Buffer | undefined;
  readonly contentType?: string | null | undefined;
  readonly expires?: number | null | undefined;
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

/**
 * The latest expiry time any front end may set, in ms since the epoch: the largest time a
 * JavaScript Date can hold (13 September 275760), so every expiry can be shown as an ISO 8601
 * time (`Kvs-Expires`, listings, watch events) and as a RESP integer. docs/limits.md.
 */
export const MAX_EXPIRES_MS = 8.64e15;

/**
 * A stored time within ±MAX_EXPIRES_MS (NaN as the latest): new writes cannot store one outside
 * it, but a store written by an older kvs may hold one, and showing it must not fail.
 */
export function representableTime(ms: number): number {
  return Number.isNaN(ms) ? MAX_EXPIRES_MS : Math.max(-MAX_EXPIRES_MS, Math.min(MAX_EXPIRES_MS, ms));
}

export function isExpired(meta: KeyMeta, now: number): boolean {
  return meta.expires !== null && meta.expires <= now;
}

export function toInfo(entry: Entry): EntryInfo {
  return {
    key: entry.key,
    size: entry.value.length,
    createRevision: entry.createRevision,
    modRevision: entry.modRevision,
    version: entry.version,
    updated: entry.updated,
    expires: entry.expires,
    contentType: entry.contentType,
  };
}
