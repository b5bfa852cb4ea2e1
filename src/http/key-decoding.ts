// One rule for turning the text of a URL into keys, on every route and both fast paths: a URL is
// ASCII with UTF-8 percent-escapes (RFC 3986); anything else — an invalid escape (`%FF`, `%2`),
// escapes that are not UTF-8, a raw byte outside printable ASCII — names no key and is refused
// with 400 invalid_key (docs/errors.md). Before this, `/?k=%FF` read the literal key "%FF" while
// `/v1/kv/%FF` was refused.

import { KvsError } from '../core/errors.js';

const NOT_URL_TEXT = /[^\x21-\x7e]/;

/** The decoded text, or undefined when `encoded` is not ASCII with valid UTF-8 %-escapes. */
export function tryDecodeComponent(encoded: string, plusIsSpace = false): string | undefined {
  if (NOT_URL_TEXT.test(encoded)) return undefined;
  const text = plusIsSpace ? encoded.replace(/\+/g, ' ') : encoded;
  // Without an escape there is nothing to decode (decodeURIComponent would return `text`): the
  // usual key, read on every GET of the fast path.
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

export function decodeKeyComponent(encoded: string, plusIsSpace = false): string {
  const decoded = tryDecodeComponent(encoded, plusIsSpace);
  if (decoded === undefined) throw new KvsError('invalid_key', 'The key is not valid percent-encoded UTF-8.');
  return decoded;
}

/**
 * The keys of the seed's `?k=` value, already decoded: a ',' separates keys whether it was sent
 * as ',' or as '%2C' (the typed client sends the list through URLSearchParams, which escapes it),
 * so a key that contains ',' cannot be read through `?k=`. The seed route and the read fast path
 * both split here.
 */
export function seedKeys(decoded: string): string[] {
  return decoded.split(',');
}

/** Query parameters that name keys (or key prefixes / cursors): their bad encoding is invalid_key. */
const KEY_PARAMETERS = new Set(['k', 'key', 'prefix', 'after']);

/**
 * Checks every parameter of a URL's query string with the same rule; throws invalid_key for a
 * key parameter, bad_request (naming it) for any other. Fastify's own parser keeps a bad escape
 * as literal text, which would silently name another key.
 */
export function checkQueryEncoding(url: string): void {
  const start = url.indexOf('?');
  if (start === -1) return;
  for (const pair of url.slice(start + 1).split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const rawName = equals === -1 ? pair : pair.slice(0, equals);
    const name = tryDecodeComponent(rawName, true);
    if (name === undefined)
      throw new KvsError('bad_request', 'A query parameter name is not valid percent-encoded UTF-8.');
    if (equals === -1 || tryDecodeComponent(pair.slice(equals + 1), true) !== undefined) continue;
    if (KEY_PARAMETERS.has(name))
      throw new KvsError('invalid_key', `The ${name} parameter is not valid percent-encoded UTF-8.`, { field: name });
    throw new KvsError('bad_request', `The ${name} parameter is not valid percent-encoded UTF-8.`, { field: name });
  }
}
