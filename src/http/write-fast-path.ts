// The hot write path: PUT /v1/kv/{key} in its plain form, answered by the node:http listener in
// front of Fastify, as read-fast-path.ts does for reads.
//
// Why: with wrk -c50, 100-byte values and durable writes, a bare node:http server calling
// KvService.put answered 18.8k PUT/s where the Fastify route answered 11.3k: Fastify's
// per-request work (routing, hooks, body parser, serializer) competes for the two cores with
// lmdb's write thread. Three interleaved A/B pairs of kvs itself: 11.6k, 12.6k, 14.4k PUT/s with
// this path; 11.6k, 11.1k, 11.0k without (writes wait on the disk flush, so CPU saved shows
// only in part). `npm run bench -- --suite http --fast-paths off` measures kvs without it.
//
// Taken only for the plain case: no query string, no If-Match/If-None-Match, a Content-Length
// within maxValueBytes and no Transfer-Encoding, no content type or one of the plain
// `type/subtype[; name=value]` form, and a token that is valid and may write the key (by the
// service's rule, KvService.may, which put() enforces again). Everything
// else goes to the Fastify route, which remains the complete implementation. A request taken
// here is answered here, errors included, rendered from the catalogue as the route renders them.

import { CLIENT_HEADER, viaOf } from './write-via.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KvsError, isKvsError } from '../core/errors.js';
import type { Caller, KvService } from '../core/service.js';
import type { RecordAnswer } from './answer-record.js';
import { ConnectionCallers } from './connection-callers.js';
import { entryHeaders } from './entry-headers.js';
import { JSON_TYPE, sendRawError } from './error-render.js';
import { storedContentType } from './put-content-type.js';
import { tryDecodeComponent } from './key-decoding.js';
import { describe, KEY_PATH } from './kv-routes.js';
import { authorizationOf } from './raw-header.js';
import { declaredLength } from './content-length.js';
import { type FastPath, KEY_ROUTE } from './read-fast-path.js';

/** RFC 9110 media type with token or quoted-string parameters; anything else is Fastify's to judge. */
const PLAIN_MEDIA_TYPE =
  /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+(?:[ \t]*;[ \t]*[\w!#$%&'*+.^`|~-]+=(?:[\w!#$%&'*+.^`|~-]+|"[^"\\\x00-\x1f\x7f]*"))*$/;

export function createWriteFastPath(
  service: KvService,
  recordAnswer: RecordAnswer,
  log?: (message: string) => void,
): FastPath {
  const { maxUrlBytes, maxValueBytes } = service.limits;
  const callers = new ConnectionCallers(service);

  /** What the answer to one taken request needs besides its status and body. */
  interface Taken {
    readonly request: IncomingMessage;
    readonly response: ServerResponse;
    readonly started: number;
    readonly caller: Caller;
  }

  const answer = (taken: Taken, status: number, headers: Record<string, string>, body: string) => {
    const bytes = Buffer.byteLength(body);
    headers['content-type'] = JSON_TYPE;
    headers['content-length'] = String(bytes);
    taken.response.writeHead(status, headers);
    taken.response.end(body);
    record(taken, status, bytes);
  };

  const record = (taken: Taken, status: number, bytes: number | undefined) =>
    recordAnswer(taken.request, KEY_ROUTE, (performance.now() - taken.started) / 1000, status, bytes, taken.caller);

  const store = async (taken: Taken, put: () => ReturnType<KvService['put']>) => {
    const { response } = taken;
    try {
      const info = await put();
      answer(taken, info.version === 1 ? 201 : 200, entryHeaders(info, false), JSON.stringify(describe(info)));
    } catch (thrown) {
      const error = isKvsError(thrown) ? thrown : new KvsError('internal');
      if (!isKvsError(thrown))
        log?.(
          `internal error on PUT /v1/kv: ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}`,
        );
      if (response.headersSent || response.destroyed) return;
      record(taken, error.status, sendRawError(response, error));
    }
  };

  return (request: IncomingMessage, response: ServerResponse, started: number): boolean => {
    const url = request.url;
    if (
      request.method !== 'PUT' ||
      url === undefined ||
      !url.startsWith(KEY_PATH) ||
      url.length > maxUrlBytes ||
      url.includes('?')
    )
      return false;
    const headers = request.headers;
    if (
      headers.expect !== undefined ||
      headers['if-match'] !== undefined ||
      headers['if-none-match'] !== undefined ||
      headers['transfer-encoding'] !== undefined
    )
      return false;
    const length = declaredLength(request);
    if (length === undefined || length > maxValueBytes) return false;
    const contentType = headers['content-type'];
    if (contentType !== undefined && !PLAIN_MEDIA_TYPE.test(contentType)) return false;
    // A keep-alive connection re-presenting its token is re-checked without hashing it again
    // (connection-callers.ts): token hashing was 2.7% of the server's CPU under PUT load.
    const caller = callers.callerOf(request, authorizationOf(request), viaOf(url, headers[CLIENT_HEADER]));
    if (caller === undefined) return false;
    const key = tryDecodeComponent(url.slice(KEY_PATH.length));
    if (key === undefined || !service.may(caller, 'write', key)) return false;

    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    request.on('end', () => {
      const value = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      void store({ request, response, started, caller }, () =>
        service.put(caller, key, value, { contentType: storedContentType(contentType) }),
      );
    });
    return true;
  };
}
