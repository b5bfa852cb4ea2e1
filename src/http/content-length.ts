// A request's declared body length, as the fast paths and the refused-body rules read it.

import type { IncomingMessage } from 'node:http';

const DIGITS = /^\d{1,16}$/;

/** The declared Content-Length, or undefined (none, chunked, or not a plain number). */
export function declaredLength(request: IncomingMessage): number | undefined {
  const length = request.headers['content-length'];
  if (length === undefined || request.headers['transfer-encoding'] !== undefined || !DIGITS.test(length))
    return undefined;
  return Number(length);
}
