// The Authorization header of a request, read from its raw header list for the read fast path.
//
// Why: node:http builds `request.headers` (an object of every header, names lower-cased) on its
// first access; a bare node:http server that never looks at the headers does not pay for that
// object, and the read fast path needs only this one header. The answer is the one
// `request.headers.authorization` gives: node:http keeps the first Authorization header and
// drops its duplicates.

import type { IncomingMessage } from 'node:http';

const NAME = 'authorization';

// node:http reads at most maxHeadersCount (2000 by default) raw headers into `request.headers`;
// past this many the object is asked, so a header it leaves out is never read here.
const SCANNED_HEADERS_MAX = 64;

/** request.headers.authorization, without building request.headers. */
export function authorizationOf(request: IncomingMessage): string | undefined {
  const raw = request.rawHeaders;
  if (raw.length > SCANNED_HEADERS_MAX * 2) return request.headers.authorization;
  for (let index = 0; index < raw.length; index += 2) {
    const field = raw[index]!;
    if (field.length === NAME.length && (field === 'Authorization' || field.toLowerCase() === NAME))
      return raw[index + 1];
  }
  return undefined;
}
