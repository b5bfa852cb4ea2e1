// The response headers that describe a stored entry, shared by every read route.

import type { EntryInfo, KeyMeta } from '../model/entry.js';
import { isoTime } from './iso-time.js';
import { valueSafetyHeaderList } from './value-safety.js';

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

/**
 * The entry's headers as a flat [name, value, ...] list, the form response.writeHead takes
 * without walking an object's keys (the read fast path passes it as is).
 */
export function entryHeaderList(entry: KeyMeta | EntryInfo, withContentType = true): string[] {
  const version = String(entry.version);
  const list = [
    'etag',
    `"${version}"`,
    'last-modified',
    httpDate(entry.updated),
    'kvs-revision',
    String(entry.modRevision),
    'kvs-create-revision',
    String(entry.createRevision),
    'kvs-version',
    version,
  ];
  if (withContentType) list.push('content-type', entry.contentType ?? DEFAULT_CONTENT_TYPE);
  if (entry.expires !== null) list.push('kvs-expires', isoTime(entry.expires));
  return list;
}

/**
 * Every header of a 200 answer that carries an entry's value of `size` bytes, as one flat list:
 * the entry's headers, the value-safety headers for its type, and its length (the read fast
 * path's answer; the node:http peer's `--kvs-headers` sends the same list).
 */
export function valueAnswerHeaderList(entry: KeyMeta | EntryInfo, size: number): string[] {
  const headers = entryHeaderList(entry);
  const safety = valueSafetyHeaderList(entry.contentType ?? DEFAULT_CONTENT_TYPE);
  for (let index = 0; index < safety.length; index++) headers.push(safety[index]!);
  headers.push('content-length', String(size));
  return headers;
}

/** The same headers as an object, for Fastify's reply.headers(). */
export function entryHeaders(entry: KeyMeta | EntryInfo, withContentType = true): Record<string, string> {
  const list = entryHeaderList(entry, withContentType);
  const headers: Record<string, string> = {};
  for (let index = 0; index < list.length; index += 2) headers[list[index]!] = list[index + 1]!;
  return headers;
}
