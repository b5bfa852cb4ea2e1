// The hot read path, answered by a plain node:http listener in front of Fastify.
//
// Why: GET /v1/kv/{key} and the seed's GET /?k=KEY are most of the traffic (the TV-set client
// polls). This listener answers only their 200 case — found, allowed, engine with synchronous
// reads — and hands every other request, including every error, to the Fastify routes, which
// remain the complete implementation (so errors are rendered in one place).
// Measured (wrk -c50, 100-byte values, three interleaved A/B pairs on the 2-core machine):
// 34.6k, 35.8k, 41.6k GET/s with it; 25.4k, 29.8k, 22.6k through the Fastify route alone.
// `kvs serve --fast-paths off` turns both fast paths off (config.ts); the benchmark's
// `npm run bench -- --suite http --fast-paths off` measures the B side.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Entry } from '../model/entry.js';
import type { Caller, KvService } from '../core/service.js';
import type { RecordAnswer } from './answer-record.js';
import { ConnectionCallers } from './connection-callers.js';
import { headerSafeKey, valueAnswerHeaderList } from './entry-headers.js';
import { seedKeys, tryDecodeComponent } from './key-decoding.js';
import { KEY_PATH } from './kv-routes.js';
import { authorizationOf } from './raw-header.js';

const SEED_SINGLE = /^\/\?k=([^&,]*)$/;

/** Values up to this many bytes are sent as a string (see the end of the listener). */
const SMALL_VALUE_BYTES = 8192;

/**
 * Answers the request and returns true, or returns false having touched nothing. `started` is
 * performance.now() when the request arrived, for the request-duration histogram.
 */
export type FastPath = (request: IncomingMessage, response: ServerResponse, started: number) => boolean;

/** The route patterns of the Fastify routes the fast paths stand in for (the same metric labels). */
export const KEY_ROUTE = '/v1/kv/*';
const SEED_ROUTE = '/';

export function createReadFastPath(service: KvService, maxUrlBytes: number, recordAnswer: RecordAnswer): FastPath {
  // Who the last lookup authenticated as (a read is synchronous: no other request runs between).
  let caller: Caller | undefined;
  const callers = new ConnectionCallers(service);
  const lookup = (request: IncomingMessage, encodedKey: string, seed: boolean): Entry | undefined => {
    // A key that does not decode is refused by the Fastify route (key-decoding.ts, one rule).
    const decoded = tryDecodeComponent(encodedKey, seed);
    if (decoded === undefined) return undefined;
    // `?k=a%2Cb` is the list a,b, as for the seed route (seedKeys); lists are the route's.
    if (seed && seedKeys(decoded).length !== 1) return undefined;
    // A refused token is left to the Fastify route, which answers it and counts the failure
    // once (authenticating here as well counted every bad read twice).
    caller = callers.callerOf(request, authorizationOf(request));
    if (caller === undefined) return undefined;
    try {
      const entry = service.getSync(caller, decoded);
      return entry ?? undefined;
    } catch {
      // Invalid key, not allowed, ...: the Fastify route answers it properly.
      return undefined;
    }
  };

  return (request, response, started) => {
    const url = request.url;
    if (request.method !== 'GET' || url === undefined || url.length > maxUrlBytes) return false;
    let entry: Entry | undefined;
    let seed = false;
    if (url.startsWith(KEY_PATH)) {
      if (url.includes('?')) return false;
      entry = lookup(request, url.slice(KEY_PATH.length), false);
    } else if (url.startsWith('/?k=')) {
      const match = SEED_SINGLE.exec(url);
      if (match === null) return false;
      seed = true;
      entry = lookup(request, match[1]!, true);
    }
    if (entry === undefined) return false;
    // One flat list in one writeHead call: node:http walks it without an object's key walk.
    const headers = valueAnswerHeaderList(entry, entry.value.length);
    if (seed) headers.push('kvs-key', headerSafeKey(entry.key));
    response.writeHead(200, headers);
    // A small value goes out as a latin1 string, byte for byte the same: node:http then joins
    // head and body into one string, one chunk for the socket's writev (with end()'s empty one),
    // where a Buffer body is a chunk of its own beside the head. Measured (wrk -c50, 100-byte values, two runs of six
    // alternating rounds on the shared 2-core machine): median 61 and 74 µs of server CPU per GET
    // against 77 and 86 µs with the Buffer. A larger value stays a Buffer: copying it into a
    // string would cost more than the write saves.
    if (entry.value.length <= SMALL_VALUE_BYTES) response.end(entry.value.toString('latin1'), 'latin1');
    else response.end(entry.value);
    recordAnswer(
      request,
      seed ? SEED_ROUTE : KEY_ROUTE,
      (performance.now() - started) / 1000,
      200,
      entry.value.length,
      caller,
    );
    return true;
  };
}
