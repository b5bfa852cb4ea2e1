// Public types of the kvs client (the package's main export).

export interface KvsClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  readonly url: string;
  /** Sent as `Authorization: Bearer TOKEN`; writes always need one, reads with --private. */
  readonly token?: string | undefined;
  /** A fetch implementation; defaults to the global fetch (undici in Node 20). */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** Headers sent with every request (`kvs import` marks its writes with `X-Kvs-Client: import`). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export interface RequestOptions {
  readonly signal?: AbortSignal | undefined;
}

/** What the store records about a key besides its value. */
export interface KeyMetadata {
  readonly key: string;
  /** Writes to this incarnation of the key; 1 after creation. */
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Time of the last write (display only; ordering uses revisions). */
  readonly updated: Date;
  readonly expires: Date | null;
}

export interface KvsEntry extends KeyMetadata {
  readonly value: Buffer;
  /** The stored content type, or the server's default (text/plain; charset=utf-8) when none was stored. */
  readonly contentType: string;
}

export interface PutOptions extends RequestOptions {
  /** Stored with the value and served back on reads; none by default. */
  readonly contentType?: string | undefined;
  /** Time to live in whole seconds. Without it (or keepTtl) the key no longer expires. */
  readonly ttl?: number | undefined;
  /** Keep the key's current expiry (`?keepTtl`); cannot be given with ttl. */
  readonly keepTtl?: boolean | undefined;
  /** Compare-and-swap: write only if the key's current version is this (If-Match). */
  readonly ifVersion?: number | undefined;
  /** Create only: fail with key_exists when the key exists (If-None-Match: *). */
  readonly ifAbsent?: boolean | undefined;
}

export type PutResult = KeyMetadata;

export interface DeleteOptions extends RequestOptions {
  readonly ifVersion?: number | undefined;
}

export interface ListOptions extends RequestOptions {
  readonly prefix?: string | undefined;
  /** Start after this key (the `next` of the previous page). */
  readonly after?: string | undefined;
  /** Page size (the server caps it, 1000 by default). */
  readonly limit?: number | undefined;
  /** Include values (decoded from base64 into Buffers). */
  readonly values?: boolean | undefined;
  /**
   * Only keys matching this glob (Redis syntax); the server examines at most 10,000 keys per
   * page, so a page may be short and still have a `next`. Not with `prefix` or `values`.
   */
  readonly match?: string | undefined;
}

export interface FoldersOptions extends RequestOptions {
  /** The parent folder ('' for the top), ending in '/' for a folder. */
  readonly prefix?: string | undefined;
  /** The `next` of the previous answer. */
  readonly after?: string | undefined;
  /** Folders per answer (at most 100). */
  readonly limit?: number | undefined;
}

/** A folder: the keys under `prefix`, exactly `keys` unless `more` (then at least that many). */
export interface FolderInfo {
  readonly prefix: string;
  readonly keys: number;
  readonly more: boolean;
}

export interface FolderPage {
  readonly folders: FolderInfo[];
  /** Pass as `after` for the next folders; null when these are all. */
  readonly next: string | null;
  readonly revision: number;
  /** Keys in the whole store, or null for a caller who may not read every key. */
  readonly storeKeys: number | null;
}

/** What the client's token may do (GET /v1/whoami; never the token itself). */
export interface WhoAmI {
  readonly authenticated: boolean;
  readonly scope: TokenScope | null;
  /** Key prefixes the token is limited to; empty for every key. */
  readonly prefixes: readonly string[];
  readonly label: string | null;
  /** The server needs a token for reads too (--private). */
  readonly privateReads: boolean;
}

export interface ListItem extends KeyMetadata {
  readonly size: number;
  /** The stored content type, or null when none was given on write. */
  readonly contentType: string | null;
  /** Present only when listing with `values: true`. */
  readonly value?: Buffer | undefined;
}

export interface ListPage {
  readonly items: ListItem[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly next: string | null;
  /** Store revision when the page was read. */
  readonly revision: number;
}

export type TxnCheck =
  | { readonly key: string; readonly version: number }
  | { readonly key: string; readonly absent: true }
  | { readonly key: string; readonly exists: true };

export type TxnOperation =
  | {
      readonly op: 'put';
      readonly key: string;
      /** A string is sent as UTF-8 text, a Buffer as base64. */
      readonly value: string | Buffer;
      readonly contentType?: string | null | undefined;
      /** Time to live in whole seconds. */
      readonly ttl?: number | undefined;
      /** Absolute expiry (exact to the millisecond); wins over ttl. */
      readonly expires?: Date | undefined;
    }
  | { readonly op: 'delete'; readonly key: string };

export interface TxnRequest extends RequestOptions {
  readonly checks?: readonly TxnCheck[] | undefined;
  readonly operations: readonly TxnOperation[];
}

export interface TxnResult {
  readonly revision: number;
  readonly puts: KeyMetadata[];
  readonly deleted: string[];
}

export type WatchEventType = 'put' | 'delete' | 'expire';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly key: string;
  readonly revision: number;
  /** The key's version after a put; 0 after delete/expire. */
  readonly version: number;
  /** The value after a put, when watching with `values: true` and the server had it. */
  readonly value?: Buffer | undefined;
}

export interface WatchOptions {
  readonly prefix?: string | undefined;
  /** Deliver events with revisions after this one (replayed from the server's change log). */
  readonly since?: number | undefined;
  readonly values?: boolean | undefined;
  /** Aborting ends the iteration cleanly. */
  readonly signal?: AbortSignal | undefined;
  /** Wait before reconnecting after a dropped stream, ms. Default: the server's `retry:` advice, else 1000. */
  readonly retryDelayMs?: number | undefined;
  /** Give up after this many reconnects in a row without an event. Default: never give up. */
  readonly maxRetries?: number | undefined;
}

export interface SeedValue {
  /** The key whose value was returned (the most recently updated one for a list of keys). */
  readonly key: string;
  readonly value: Buffer;
  readonly contentType: string;
}

/** Who a token lets do what: read, write (implies read) or admin. */
export type TokenScope = 'read' | 'write' | 'admin';

export interface CreateTokenOptions extends RequestOptions {
  readonly scope: TokenScope;
  readonly label?: string;
  /** Limit the token to keys starting with one of these; empty or absent: every key. */
  readonly prefixes?: readonly string[];
  /** Expire after this many seconds, or at this time (give at most one). */
  readonly ttl?: number;
  readonly expires?: Date;
}

/** A token as GET /v1/tokens lists it: never its secret. */
export interface TokenInfo {
  readonly id: string;
  readonly label: string;
  readonly scope: TokenScope;
  readonly prefixes: readonly string[];
  readonly created: Date;
  readonly expires: Date | null;
  /** Recorded at most once an hour per token and server process (docs/tokens.md). */
  readonly lastUsed: Date | null;
}

/** A newly minted token: `token` is the secret, shown only in this answer. */
export interface CreatedToken extends TokenInfo {
  readonly token: string;
}

/** A query of the audit trail (GET /v1/audit; admin tokens on every key; docs/audit.md). */
export interface AuditQuery extends RequestOptions {
  /** Only commits that changed this key. */
  readonly key?: string | undefined;
  /** Only commits that changed a key starting with this. */
  readonly prefix?: string | undefined;
  /** Only commits of this token id (`tok_…` or `file:…`). */
  readonly tokenId?: string | undefined;
  /** Committed at or after / at or before: a Date, ms since the epoch, or an ISO 8601 string. */
  readonly since?: Date | number | string | undefined;
  readonly until?: Date | number | string | undefined;
  /** Only revisions below this one: the `next` of the previous page. */
  readonly before?: number | undefined;
  /** Entries per page, 1 to 1000 (100 by default). */
  readonly limit?: number | undefined;
}

/** Who made one commit. Never a token's secret. */
export interface AuditRecord {
  readonly revision: number;
  readonly time: Date;
  readonly tokenId: string | null;
  readonly label: string | null;
  /** seed, v1, txn, resp, ui, expiry, import, revert. */
  readonly via: string;
  readonly address: string | null;
  /** The keys the commit changed, at most 32; keyCount says how many there were. */
  readonly keys: readonly string[];
  readonly keyCount: number;
}

export interface AuditPage {
  /** Newest first. */
  readonly entries: AuditRecord[];
  /** Pass as `before` for the next page; null on the last one. */
  readonly next: number | null;
}

// ---- per-key history (docs/history.md) ----------------------------------------------------

export interface HistoryQuery extends RequestOptions {
  /** Only revisions below this one: the `next` of the previous page. */
  readonly before?: number | undefined;
  /** Entries per page, 1 to 1000 (100 by default). */
  readonly limit?: number | undefined;
  /** Carry each put's value. */
  readonly values?: boolean | undefined;
}

/** Who made a commit, from its audit entry. */
export interface HistoryWho {
  readonly tokenId: string | null;
  readonly label: string | null;
  readonly via: string;
  readonly address: string | null;
}

/** One entry of a key's history. */
export interface KeyVersionRecord {
  readonly revision: number;
  /** The key's version after a put; 0 after a delete or an expiry. */
  readonly version: number;
  readonly type: 'put' | 'delete' | 'expire';
  readonly time: Date;
  readonly size: number;
  readonly contentType: string | null;
  readonly expires: Date | null;
  /** Null once the audit trail no longer keeps the commit's entry. */
  readonly who: HistoryWho | null;
  /** With `values: true`, on puts. */
  readonly value?: Buffer | undefined;
}

export interface KeyHistoryPage {
  readonly key: string;
  /** Newest first. */
  readonly versions: KeyVersionRecord[];
  /** Pass as `before` for the next page; null on the last one. */
  readonly next: number | null;
}

/** A kept version's value, as `getVersion`/`getRevision` read it. */
export interface KeyVersionValue {
  readonly key: string;
  readonly value: Buffer;
  readonly contentType: string;
  readonly version: number;
  readonly revision: number;
  readonly time: Date;
  readonly expires: Date | null;
}

/** One side of a diff: a version number, or `{ revision }`. */
export type VersionSelector = number | { readonly revision: number };

export interface DiffQuery extends RequestOptions {
  readonly from: VersionSelector;
  /** The current value when left out. */
  readonly to?: VersionSelector | undefined;
}

export interface DiffResult {
  readonly key: string;
  readonly from: { readonly revision: number; readonly version: number };
  readonly to: { readonly revision: number; readonly version: number };
  /** Either value is not UTF-8 text: `message` says whether they differ. */
  readonly binary: boolean;
  /** Over the diff's bounds (1 MiB a side): `message` says so, no patch. */
  readonly tooLarge: boolean;
  /** The unified diff, when neither binary nor too large. */
  readonly patch: string | null;
  readonly added: number;
  readonly removed: number;
  readonly message: string | null;
}

export interface RevertOptions extends RequestOptions {
  /** Compare-and-swap: revert only if the key's current version is this (0: absent). */
  readonly ifMatch?: number | undefined;
}

export interface DeletedQuery extends RequestOptions {
  readonly prefix?: string | undefined;
  /** Only keys after this one: the `next` of the previous page. */
  readonly after?: string | undefined;
  /** Keys per page, 1 to 1000 (100 by default). */
  readonly limit?: number | undefined;
}

/** A key whose newest history entry is a delete or an expiry. */
export interface DeletedKeyRecord {
  readonly key: string;
  /** The revision, time and type of the delete or expiry. */
  readonly revision: number;
  readonly time: Date;
  readonly type: 'delete' | 'expire';
  /** The newest kept put before it (what a restore brings back), or null. */
  readonly lastPut: { readonly revision: number; readonly version: number; readonly size: number } | null;
}

export interface DeletedPage {
  /** In key order. */
  readonly keys: DeletedKeyRecord[];
  /** Pass as `after` for the next page; null on the last one. */
  readonly next: string | null;
}
