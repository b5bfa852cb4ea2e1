// What happens to the rest of a request body kvs refused before reading it (413 from its declared
// Content-Length): docs/limits.md, "A refused body".
//
// Fastify answers such a request with `Connection: close`, and Node then closes the socket while
// the client may still be sending the body. The kernel answers those bytes with a reset, and a
// reset throws away the answer the client has not read yet: measured here, Node's fetch lost the
// 413 of a 3 MiB form POST in 20 of 30 tries, and of a 40 MiB PUT in 22 of 30 ("fetch failed").
// So a body refused from a declared length of up to REFUSED_BODY_DRAIN_BYTES is read to its end
// and dropped (Node's own req._dump once the answer is sent, nothing kept in memory), the answer
// is read by the client, and the connection stays usable. Reading it is bounded by that size and
// by requestTimeoutMs (Node cuts a request not received in time). A longer declared body, or a
// chunked one (its length unknown), is not read: the connection is closed at once, as before, and
// such a client may see a reset in place of the answer.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { declaredLength } from './content-length.js';
import { awaitsContinue } from './expect-continue.js';

/** The largest declared body kvs reads to its end after refusing it (64 MiB). */
export const REFUSED_BODY_DRAIN_BYTES = 64 * 1024 * 1024;

/** Keeps the connection of a refused request whose body will be read and dropped (see above). */
export function drainRefusedBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  // Told no 100 Continue: the client sends no body, and Node closes the connection.
  if (awaitsContinue(raw)) return;
  const length = declaredLength(raw);
  if (raw.complete || (length !== undefined && length <= REFUSED_BODY_DRAIN_BYTES)) reply.removeHeader('connection');
}
