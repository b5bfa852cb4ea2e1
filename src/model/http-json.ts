// The JSON the HTTP API sends that the web UI reads: written by src/http, read by web/ (which
// compiles this file too, so it must not mention Node types).

import type { ChangeType } from './change-type.js';

/** One key as GET /v1/kv lists it. */
export interface KeyInfo {
  readonly key: string;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
  /** ISO 8601. */
  readonly updated: string;
  readonly expires: string | null;
  readonly size: number;
  readonly contentType: string | null;
}

/** One page of GET /v1/kv (items carry a base64 `value` too when listing with values=1). */
export interface KeyPage {
  readonly items: KeyInfo[];
  /** The `after` of the next page; null on the last page. */
  readonly next: string | null;
  readonly revision: number;
}

/** The `data:` of one GET /v1/watch event (built field by field, so not readonly). */
export interface WatchEventData {
  type: ChangeType;
  key: string;
  revision: number;
  /** The key's version after a put; 0 after delete/expire. */
  version: number;
  /** A put's expiry (ISO 8601), when it has one. */
  expires?: string;
  /** A put's value in base64, when watching with values=1 and the change log kept it. */
  value?: string;
  /** Set instead of `value` when the value was too large for the change log. */
  valueOmitted?: true;
}

/** One folder of GET /v1/folders: keys under `prefix`, exact unless `more` (then at least `keys`). */
export interface FolderInfo {
  readonly prefix: string;
  readonly keys: number;
  readonly more: boolean;
}

/** GET /v1/folders. */
export interface FolderPageJson {
  readonly folders: FolderInfo[];
  /** The `after` of the next folders; null when these are all. */
  readonly next: string | null;
  readonly revision: number;
  /**
   * Keys in the whole store (the engine's O(1) count, which may include expired keys not yet
   * swept); null for a caller who may not read every key.
   */
  readonly storeKeys: number | null;
  /**
   * Keys under `prefix` itself, from the folder index, when it is a folder the index counts and
   * the caller may read every key of; else null.
   */
  readonly prefixKeys: number | null;
}

/** GET /v1/whoami: what the request's token may do (never the token). */
export interface WhoAmI {
  /** False without a token. */
  readonly authenticated: boolean;
  readonly scope: 'read' | 'write' | 'admin' | null;
  /** Key prefixes the token is limited to; empty for every key. */
  readonly prefixes: readonly string[];
  readonly label: string | null;
  /** Reads need a token too (the server runs with --private). */
  readonly privateReads: boolean;
}

/** One entry of GET /v1/audit (docs/audit.md): who made a commit. Never a token's secret. */
export interface AuditEntryJson {
  readonly revision: number;
  /** ISO 8601, and the same time in ms. */
  readonly time: string;
  readonly timeMs: number;
  readonly tokenId: string | null;
  readonly label: string | null;
  readonly via: string;
  readonly address: string | null;
  /** The keys the commit changed, at most 32 (keyCount says how many there were). */
  readonly keys: string[];
  readonly keyCount: number;
}

/** GET /v1/audit: newest first; `next` goes in `before` for the next page. */
export interface AuditPageJson {
  readonly entries: AuditEntryJson[];
  readonly next: number | null;
}

/** Who made a commit, from its audit entry (docs/history.md). */
export interface HistoryWhoJson {
  /** The token's public id, or null (the server itself, or no token). */
  readonly token: string | null;
  readonly label: string | null;
  readonly via: string;
  readonly address: string | null;
}

/** One entry of GET /v1/kv/{key}?history. */
export interface KeyVersionJson {
  readonly revision: number;
  readonly version: number;
  readonly type: ChangeType;
  /** ISO 8601. */
  readonly time: string;
  readonly size: number;
  readonly contentType: string | null;
  readonly expires: string | null;
  /** Null when the audit trail no longer keeps the commit's entry. */
  readonly who: HistoryWhoJson | null;
  /** base64, only with values=1 and on puts. */
  readonly value?: string;
}

/** GET /v1/kv/{key}?history: newest first. */
export interface KeyHistoryJson {
  readonly key: string;
  readonly versions: KeyVersionJson[];
  /** The `before` of the next page; null when no older entry is left. */
  readonly next: number | null;
}

/** The entries a diff compares. */
export interface DiffSideJson {
  readonly revision: number;
  readonly version: number;
}

/** GET /v1/kv/{key}?diff: a unified diff, or a verdict when the values are binary or too large. */
export type DiffJson = { readonly key: string; readonly from: DiffSideJson; readonly to: DiffSideJson } & (
  | { readonly binary: false; readonly patch: string; readonly added: number; readonly removed: number }
  | { readonly binary: true; readonly message: string }
  | { readonly binary: false; readonly tooLarge: true; readonly message: string }
);

/** One key of GET /v1/deleted. */
export interface DeletedKeyJson {
  readonly key: string;
  /** The revision and time (ISO 8601) of the delete or expiry. */
  readonly revision: number;
  readonly time: string;
  readonly type: ChangeType;
  readonly lastPut: { readonly revision: number; readonly version: number; readonly size: number } | null;
}

/** GET /v1/deleted: in key order. */
export interface DeletedKeysJson {
  readonly keys: DeletedKeyJson[];
  /** The `after` of the next page; null when no key is left. */
  readonly next: string | null;
}
