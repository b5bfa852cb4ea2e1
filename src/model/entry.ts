// Keys as the store records them: vocabulary every layer shares (the layers: scripts/check-imports.mjs).

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

export function isExpired(meta: Pick<KeyMeta, 'expires'>, now: number): boolean {
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
