// Answers to requests Node's HTTP parser refuses before any route sees them (a malformed request
// line or header, a raw non-ASCII byte in the URL, conflicting Content-Length/Transfer-Encoding,
// a client too slow to send its request), rendered from the catalogue like every other error.

import type { Socket } from 'node:net';
import { KvsError } from '../core/errors.js';

export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nothing left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status: number;
  let body: string;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    // The catalogue has no 431; the headers limit is Node's (docs/limits.md).
    status = 431;
    body = JSON.stringify(
      new KvsError('bad_request', 'The request headers are larger than the server accepts.').toJSON(),
    );
  } else {
    const kvsError =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new KvsError('request_timeout')
        : new KvsError('bad_request', `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'}).`);
    status = kvsError.status;
    body = JSON.stringify(kvsError.toJSON());
  }
  if (socket.writable) {
    const reason =
      status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
