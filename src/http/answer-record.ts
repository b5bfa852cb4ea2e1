// What every answered HTTP request leaves behind, whichever handler answered it (a fast path or a
// Fastify route): its duration in the request histogram, and with --access-log one JSON line
// (fields in docs/observability.md). The token is named by its label, never its secret.

import type { IncomingMessage } from 'node:http';
import type { Caller } from '../core/service.js';
import type { Logger } from '../core/logger.js';
import type { KvsMetrics } from '../core/metrics.js';

/**
 * Records one answer. `route` is the route pattern (undefined when no route matched), `bytes` the
 * body size when known (Content-Length), `caller` who the request authenticated as, if it did.
 */
export type RecordAnswer = (
  request: IncomingMessage,
  route: string | undefined,
  seconds: number,
  status: number,
  bytes: number | undefined,
  caller: Caller | undefined,
) => void;

export function createAnswerRecorder(metrics: KvsMetrics, accessLog: Logger | undefined): RecordAnswer {
  if (accessLog === undefined)
    return (request, route, seconds, status) => metrics.observeHttp(request.method ?? '', route, status, seconds);
  return (request, route, seconds, status, bytes, caller) => {
    const method = request.method ?? '';
    metrics.observeHttp(method, route, status, seconds);
    const url = request.url ?? '';
    const query = url.indexOf('?');
    accessLog.info(
      {
        frontEnd: 'http',
        client: request.socket.remoteAddress ?? null,
        method,
        route: route ?? null,
        // The query string is left out: the seed API accepts a token as ?auth=.
        path: query === -1 ? url : url.slice(0, query),
        status,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        bytes: bytes ?? null,
        token: caller?.principal?.grant.label ?? null,
      },
      'request',
    );
  };
}
