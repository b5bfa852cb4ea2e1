// The response headers that describe a stored entry, shared by every read route.

import type { EntryInfo, KeyMeta } from '../model/entry.js';
import { isoTime } from './iso-time.js';

export const DEFAULT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** A key as a header value: printable ASCII as is, everything else (and '%') percent-encoded. */
export function headerSafeKey(key: string): string {
  return key.replace(/[^\x21-\x7e]|%/gu, (char) => encodeURIComponent(char));
}

// HTTP dates have one-second resolution; formatting one is the costliest header of a read.
let cachedSecond = -1;
let cachedDate = '';
function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(second * 1000).toUTCString();
  }
  return cachedDate;
}

export function entryHeaders(entry: KeyMeta | EntryInfo, withContentType = true): Record<string, string> {
  const headers: Record<string, string> = {
    etag: `"${entry.version}"`,
    'last-modified': httpDate(entry.updated),
    'kvs-revision': String(entry.modRevision),
    'kvs-create-revision': String(entry.createRevision),
    'kvs-version': String(entry.version),
  };
  if (withContentType) headers['content-type'] = entry.contentType ?? DEFAULT_CONTENT_TYPE;
  if (entry.expires !== null) headers['kvs-expires'] = isoTime(entry.expires);
  return headers;
}
