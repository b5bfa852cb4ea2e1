// The JSON of the history routes as the UI reads it (docs/history.md): a key's versions
// (GET /v1/kv/{key}?history), the diff of two of them (?diff) and the deleted keys
// (GET /v1/deleted).

/** Who committed a history entry: the audit entry of its revision (docs/audit.md). */
export interface HistoryWho {
  readonly token: string | null;
  readonly label: string | null;
  readonly via: string | null;
  readonly address: string | null;
}

/** One history entry. */
export interface HistoryVersion {
  readonly revision: number;
  /** The key's version after a put; 0 after a delete or an expiry. */
  readonly version: number;
  readonly type: 'put' | 'delete' | 'expire';
  /** ISO 8601. */
  readonly time: string;
  readonly size: number;
  readonly contentType: string | null;
  readonly expires: string | null;
  readonly who: HistoryWho | null;
}

export interface HistoryPage {
  readonly key: string;
  /** Newest first. */
  readonly versions: HistoryVersion[];
  /** The `before` of the next (older) page; null when no older entry is kept. */
  readonly next: number | null;
}

export interface HistoryEnd {
  readonly revision: number;
  readonly version: number;
}

/** ?diff: a unified patch of two text values, or why there is none. */
export interface HistoryDiff {
  readonly key: string;
  readonly from?: HistoryEnd;
  readonly to?: HistoryEnd;
  readonly binary: boolean;
  /** The values are over the server's diff limit: `message` says so, no patch. */
  readonly tooLarge?: boolean;
  readonly patch?: string;
  readonly added?: number;
  readonly removed?: number;
  readonly message?: string;
}

export interface DeletedKey {
  readonly key: string;
  /** The revision of the delete or the expiry. */
  readonly revision: number;
  readonly time: string;
  readonly type: 'delete' | 'expire';
  /** The last put still kept, which Restore writes back; null when none is kept. */
  readonly lastPut: { readonly revision: number; readonly version: number; readonly size: number } | null;
}

export interface DeletedKeysPage {
  readonly keys: DeletedKey[];
  /** The `after` of the next page; null on the last page. */
  readonly next: string | null;
}
