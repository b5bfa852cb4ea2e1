// Headers that keep a stored value inert when a browser opens it (docs/ui.md, "Values are never
// active content"). Any token holder with write access can store any bytes under any content
// type; served as they are on the UI's origin, an HTML or SVG value would run its scripts with
// the UI's sessionStorage (where the admin's token lives). So every raw value answer
//  - carries `Content-Security-Policy: sandbox; default-src 'none'`: the document gets an
//    opaque origin (no storage, no cookies of this origin) and may run no script, load nothing;
//  - carries `X-Content-Type-Options: nosniff`: the browser never guesses an active type;
//  - is an attachment (download, not displayed) unless its type is one a browser only shows
//    (plain text, JSON, raster images): defence in depth for browsers without CSP sandbox.
// The stored Content-Type itself is sent unchanged: API clients rely on it.

/** Media types (essence, lower case) a browser displays without running anything. */
const INERT_TYPES = new Set([
  'text/plain',
  'text/csv',
  'application/json',
  'application/octet-stream',
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
]);

export const VALUE_CSP = "sandbox; default-src 'none'";

function essence(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

// The two possible sets, built once: flat [name, value, ...] lists.
const INERT_VALUE_HEADERS: readonly string[] = [
  'content-security-policy',
  VALUE_CSP,
  'x-content-type-options',
  'nosniff',
];
const ATTACHMENT_VALUE_HEADERS: readonly string[] = [...INERT_VALUE_HEADERS, 'content-disposition', 'attachment'];

/** The inert-value headers of a value of `contentType` (undefined: none) as a flat list. */
export function valueSafetyHeaderList(contentType: string | undefined): readonly string[] {
  return contentType !== undefined && INERT_TYPES.has(essence(contentType))
    ? INERT_VALUE_HEADERS
    : ATTACHMENT_VALUE_HEADERS;
}

/** Adds the inert-value headers to `headers` (which carries the value's content-type). */
export function addValueSafetyHeaders(headers: Record<string, string>): Record<string, string> {
  const list = valueSafetyHeaderList(headers['content-type']);
  for (let index = 0; index < list.length; index += 2) headers[list[index]!] = list[index + 1]!;
  return headers;
}
