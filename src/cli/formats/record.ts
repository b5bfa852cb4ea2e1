// One key as export/import files hold it: what a key needs to be re-created exactly.
// Versions and revisions are not part of it: the importing server assigns its own.

export interface KvRecord {
  readonly key: string;
  readonly value: Buffer;
  /** Content type given on write, or null for none (served as text/plain; charset=utf-8). */
  readonly contentType: string | null;
  /** Expiry time in ms since the epoch, or null for none. */
  readonly expires: number | null;
}

/** A file that cannot be read as the format it claims; the message names the place. */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** Text that a key or field name is quoted as in messages. */
export function quote(key: string): string {
  const shown = key.length > 60 ? `${key.slice(0, 57)}...` : key;
  return JSON.stringify(shown);
}
