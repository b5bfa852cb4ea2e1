// Builds the HTTP front end: Fastify with the route plugins, one error renderer, and the
// connection-level bounds (URL length, connections, slow clients).

import swagger from '@fastify/swagger';
import { tokenRoutes } from './token-routes.js';
import { CorsPolicy, installCors } from './cors.js';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from '../core/config.js';
import { KvsError } from '../core/errors.js';
import type { KvService } from '../core/service.js';
import { KVS_VERSION } from '../core/version.js';
import type { WatchHub } from '../core/watch-hub.js';
import type { Logger } from '../core/logger.js';
import { KvsMetrics } from '../core/metrics.js';
import './route-config.js';
import { createAnswerRecorder } from './answer-record.js';
import { answerClientError } from './client-errors.js';
import { limitConnections } from './connection-limit.js';
import { sendError, toKvsError } from './error-render.js';
import { healthRoutes } from './health-routes.js';
import { checkQueryEncoding } from './key-decoding.js';
import { browseRoutes } from './browse-routes.js';
import { auditRoutes } from './audit-routes.js';
import { pointInTimeRoutes } from './point-in-time-routes.js';
import { historyReads, historyRoutes } from './history-routes.js';
import { kvRoutes } from './kv-routes.js';
import { createReadFastPath, type FastPath } from './read-fast-path.js';
import { createWriteFastPath } from './write-fast-path.js';
import { seedRoutes } from './seed-routes.js';
import { drainRefusedBody } from './refused-body.js';
import { awaitsContinue, checkContinue, continueIfTaken } from './expect-continue.js';
import { txnRoutes } from './txn-routes.js';
import { uiRoutes } from './ui-routes.js';
import { DeferredCompiles } from './deferred-compiles.js';
import { schemaControllerFor } from './validation.js';
import { watchRoutes } from './watch-routes.js';

export interface HttpServerOptions {
  readonly service: KvService;
  readonly hub: WatchHub;
  readonly config: Config;
  /** Internal errors, and each request with config.accessLog; nothing when absent. */
  readonly logger?: Logger;
  /** The process's metrics (shared with RESP and the core service); a fresh set when absent. */
  readonly metrics?: KvsMetrics;
}

/** Each app's deferred schema compiles (compileRouteSchemas). */
const deferredCompiles = new WeakMap<FastifyInstance, DeferredCompiles>();

/** Compiles every route schema of `app` not compiled yet, now; returns how many; throws the first that fails. */
export function compileRouteSchemas(app: FastifyInstance): number {
  return deferredCompiles.get(app)?.compileAll() ?? 0;
}

export async function buildHttpApp(options: HttpServerOptions): Promise<FastifyInstance> {
  const { service, hub, config, logger } = options;
  const log = logger === undefined ? undefined : (message: string) => logger.error(message);
  const limits = config.limits;
  const https =
    config.tlsCert !== undefined && config.tlsKey !== undefined
      ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) }
      : null;
  // The read fast path sits in front of Fastify (see read-fast-path.ts); it needs the metrics
  // before the app exists, so they are made first.
  const metrics = options.metrics ?? new KvsMetrics();
  metrics.gauge('kvs_revision', 'Store-wide revision (last committed transaction)', () => service.revision());
  metrics.gauge('kvs_keys', 'Number of keys stored (may include expired keys not yet swept)', () => service.count());
  metrics.gauge('kvs_watchers', 'Open watch streams in this process', () => hub.size);
  let fastPath: FastPath | undefined;
  const schemas = new DeferredCompiles();
  const cors = new CorsPolicy(config.corsOrigins);
  const app = Fastify({
    serverFactory: (handler) => {
      // Cross-origin requests go through the routes, where the CORS hook adds its headers.
      const listener = (request: IncomingMessage, response: ServerResponse) => {
        if (fastPath === undefined || cors.concerns(request) || !fastPath(request, response, performance.now()))
          handler(request, response);
      };
      // Node checks these two timeouts only every connectionsCheckingInterval (30 s by default), so a
      // 10 s headersTimeout cut slow clients at ~30 s: check often enough that the limits in
      // docs/limits.md hold to within a quarter of the smaller one (at most 1 s late).
      const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
      const timing = {
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout,
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
      };
      const server = https ? createHttpsServer({ ...https, ...timing }, listener) : createHttpServer(timing, listener);
      server.keepAliveTimeout = 72_000;
      // Expect: 100-continue: no 100 for a body refused from its declared length (expect-continue.ts).
      const smallestBodyLimit = Math.min(limits.maxValueBytes, limits.maxBodyBytes);
      server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
        checkContinue(request, response, smallestBodyLimit);
        listener(request, response);
      });
      return server;
    },
    logger: false,
    schemaController: schemaControllerFor(schemas),
    clientErrorHandler: answerClientError,
    bodyLimit: limits.maxBodyBytes,
    routerOptions: { maxParamLength: limits.maxUrlBytes },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: 72_000,
    return503OnClosing: true,
    forceCloseConnections: true,
    // Errors raised by the router before any route runs (e.g. malformed %-escapes).
    frameworkErrors: (error, request, reply) => {
      const code =
        error.code === 'FST_ERR_BAD_URL' && request.url.startsWith('/v1/kv/') ? 'invalid_key' : 'bad_request';
      const kvsError = new KvsError(
        code,
        code === 'invalid_key' ? 'The key is not valid percent-encoded UTF-8.' : error.message,
      );
      // The reply's generic typing does not fit this early hook; it is an ordinary reply.
      const plain = reply as unknown as FastifyReply;
      void plain.code(kvsError.status).type('application/json; charset=utf-8').send(JSON.stringify(kvsError.toJSON()));
    },
  });
  deferredCompiles.set(app, schemas);
  // Route schemas compile on first use; once listening, the rest compile in the background. A
  // schema that cannot compile is a bug: logged here, an internal error for the requests that need it.
  app.addHook('onListen', (done) => {
    schemas.compileAhead((error) =>
      log?.(`a route schema does not compile: ${error instanceof Error ? error.message : String(error)}`),
    );
    done();
  });
  app.addHook('onClose', (_app, done) => {
    schemas.stop();
    done();
  });
  app.server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  limitConnections(app.server, limits.maxConnections, https !== null);
  // Every answered request is measured and, with --access-log, logged, whichever of a fast path
  // or a Fastify route answered it: the access log and the fast paths are independent settings.
  const recordAnswer = createAnswerRecorder(metrics, config.accessLog ? logger : undefined);
  if (config.fastPaths) {
    const read = createReadFastPath(service, limits.maxUrlBytes, recordAnswer);
    const write = createWriteFastPath(service, recordAnswer, log);
    fastPath = (request, response, started) => read(request, response, started) || write(request, response, started);
  }
  // Set by callerOf (caller.ts) once a route has authenticated the request: the access log names
  // its token by label.
  app.decorateRequest('caller', undefined);

  installCors(app, cors);
  // Callback-style hooks: an async hook costs a promise per request on every route.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.url.length > limits.maxUrlBytes) {
      done(new KvsError('uri_too_long', undefined, { limit: limits.maxUrlBytes, size: request.url.length }));
      return;
    }
    try {
      checkQueryEncoding(request.url);
    } catch (error) {
      done(error as KvsError);
      return;
    }
    // Only for a request waiting for its 100: routeOptions builds an object on every read.
    if (awaitsContinue(request.raw)) continueIfTaken(request.raw, reply.raw, request.routeOptions.bodyLimit);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const length = reply.getHeader('content-length');
    recordAnswer(
      request.raw,
      request.routeOptions.url,
      reply.elapsedTime / 1000,
      reply.statusCode,
      length === undefined ? undefined : Number(length),
      request.caller,
    );
    done();
  });
  app.setErrorHandler(async (thrown, request, reply) => {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    const kvsError = toKvsError(error, request);
    if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') drainRefusedBody(request, reply);
    if (kvsError.code === 'internal')
      log?.(`internal error on ${request.method} ${request.url.split('?')[0]}: ${error.stack ?? error.message}`);
    return sendError(request, reply, kvsError);
  });
  app.setNotFoundHandler(async (request, reply) =>
    sendError(
      request,
      reply,
      new KvsError('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`),
    ),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'kvs',
        description: 'Durable key/value server: seed API, REST v1, transactions and watch.',
        version: KVS_VERSION,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(seedRoutes, { service });
  await app.register(kvRoutes, { service, queryReads: historyReads(service) });
  await app.register(historyRoutes, { service });
  await app.register(browseRoutes, { service });
  await app.register(txnRoutes, { service });
  await app.register(tokenRoutes, { service });
  await app.register(auditRoutes, { service });
  await app.register(pointInTimeRoutes, { service });
  await app.register(watchRoutes, { service, hub, heartbeatMs: config.watchHeartbeatMs });
  await app.register(healthRoutes, { service, registry: metrics.registry });
  await app.register(uiRoutes);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

export async function startHttpServer(
  options: HttpServerOptions,
): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const app = await buildHttpApp(options);
  await app.listen({ host: options.config.host, port: options.config.port });
  const address = app.server.address() as AddressInfo;
  const scheme = options.config.tlsCert ? 'https' : 'http';
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { app, url: `${scheme}://${host}:${address.port}`, close: () => app.close() };
}
