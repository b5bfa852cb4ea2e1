// Cross-origin requests from browsers (docs/tokens.md, "CORS"): off unless `--cors-origin`
// lists origins. An allowed origin gets Access-Control-Allow-Origin on every answer, and its
// preflight (OPTIONS with Access-Control-Request-Method) a 204 naming the methods and headers
// kvs takes; a preflight from any other origin is refused with 403 `forbidden`. Tokens travel in
// the Authorization header, never in cookies, so credentials are not allowed.
// Headers go on the raw response: the watch stream writes its own head (watch-routes.ts).

import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KvsError } from '../core/errors.js';

/** How long a browser may cache a preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;
const ALLOWED_METHODS = 'GET, HEAD, PUT, POST, DELETE, OPTIONS';
const ALLOWED_HEADERS = 'Authorization, Content-Type, If-Match, If-None-Match, Last-Event-ID';
/** Answer headers a script may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS =
  'ETag, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Kvs-Revision, Kvs-Create-Revision, Kvs-Version, Kvs-Expires, Kvs-Key';

export class CorsPolicy {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.any = origins.includes('*');
    this.origins = new Set(origins);
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0;
  }

  allows(origin: string): boolean {
    return this.any || this.origins.has(origin);
  }

  /** Whether a request needs the CORS handling (the HTTP fast paths leave those to the routes). */
  concerns(request: IncomingMessage): boolean {
    return this.enabled && request.headers.origin !== undefined;
  }

  /** Adds the headers of an answer to an allowed origin. */
  decorate(origin: string, response: ServerResponse): void {
    response.setHeader('access-control-allow-origin', this.any ? '*' : origin);
    response.setHeader('vary', 'Origin');
    response.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  }
}

export function installCors(app: FastifyInstance, policy: CorsPolicy): void {
  if (!policy.enabled) return;
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    if (origin === undefined) {
      done();
      return;
    }
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (!policy.allows(origin)) {
      if (preflight)
        done(new KvsError('forbidden', `Cross-origin requests from ${origin} are not allowed (--cors-origin).`));
      else done();
      return;
    }
    policy.decorate(origin, reply.raw);
    if (!preflight) {
      done();
      return;
    }
    reply.raw.setHeader('access-control-allow-methods', ALLOWED_METHODS);
    reply.raw.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
    reply.raw.setHeader('access-control-max-age', String(CORS_MAX_AGE_SECONDS));
    void reply.code(204).send();
  });
}
