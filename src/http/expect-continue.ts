// `Expect: 100-continue`: the client sends the head and waits for `100 Continue` before it sends
// the body (curl does for bodies over 1 MiB, which is also the largest value kvs takes). Node
// answers 100 at once unless the server listens for 'checkContinue', so a value over the limit
// was uploaded whole before its 413. kvs listens: the 100 goes out only for a request whose
// declared Content-Length its route accepts (at once when no route takes less than it, else from
// the route's own bodyLimit in the first Fastify hook). A request refused from its declared length
// gets its 413 instead of the 100, sends no body, and its connection is closed (Node does so for
// an answer without the 100; refused-body.ts reads nothing). docs/limits.md, "A refused body".

import type { IncomingMessage, ServerResponse } from 'node:http';
import { declaredLength } from './content-length.js';

/** Requests waiting for a 100 Continue kvs has not sent. */
const awaiting = new WeakSet<IncomingMessage>();

/**
 * The 'checkContinue' listener: a request whose declared length every route takes (`smallestLimit`)
 * is told to go on now; the others wait for their route (continueIfTaken).
 */
export function checkContinue(request: IncomingMessage, response: ServerResponse, smallestLimit: number): void {
  if ((declaredLength(request) ?? 0) <= smallestLimit) {
    response.writeContinue();
    return;
  }
  awaiting.add(request);
}

/** Sends the 100 a waiting request is owed once its route is known and takes its declared length. */
export function continueIfTaken(request: IncomingMessage, response: ServerResponse, bodyLimit: number): void {
  if (!awaiting.has(request)) return;
  if ((declaredLength(request) ?? 0) > bodyLimit) return;
  awaiting.delete(request);
  response.writeContinue();
}

/** The client has not been told to send its body (so none of it is coming). */
export function awaitsContinue(request: IncomingMessage): boolean {
  return awaiting.has(request);
}
