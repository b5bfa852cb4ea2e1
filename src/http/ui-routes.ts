// The web UI (docs/ui.md) at /ui/: web/index.html and web/ui.css as they are, and the compiled
// modules (web/tsconfig.json): the UI's own from dist/web/web/, and the shared vocabulary they
// import as ./model/*.js from dist/web/src/model/. /ui redirects to /ui/ so relative asset URLs work.

import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { KvsError } from '../core/errors.js';
import { sendError, toKvsError } from './error-render.js';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs as dist/src/http/ui-routes.js.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const sourceDir = join(repoRoot, 'web');
const compiledDir = join(repoRoot, 'dist', 'web', 'web');
const compiledSharedDir = join(repoRoot, 'dist', 'web', 'src');

/** What the UI serves: the page, its style sheet and the compiled modules; never the .ts sources. */
const SERVED = /^\/(?:|index\.html|ui\.css|(?:model\/)?[a-z][a-z0-9-]*\.js)$/;

export const uiRoutes: FastifyPluginAsync = async (app) => {
  if (!existsSync(join(compiledDir, 'main.js'))) {
    // A checkout compiled with `tsc -p .` only: the API works, the UI says how to build it.
    app.get('/ui*', { schema: { hide: true } }, async () => {
      throw new KvsError('unavailable', 'The web UI is not built: run `npm run build` (tsc -p web/tsconfig.json).');
    });
    return;
  }
  // @fastify/static refuses paths like /ui/%2e%2e/x with its own 403 error, which the shared
  // renderer does not know: answer them as the missing files they are.
  app.setErrorHandler(async (error, request, reply) => {
    const status = (error as { statusCode?: unknown }).statusCode;
    const kvsError =
      status === 403 || status === 404
        ? new KvsError('route_not_found', `No file ${request.url.split('?')[0]}.`)
        : typeof status === 'number' && status >= 400 && status < 500
          ? new KvsError('bad_request', error instanceof Error ? error.message : String(error))
          : toKvsError(error instanceof Error ? error : new Error(String(error)), request);
    return sendError(request, reply, kvsError);
  });
  // The UI's few small files are read whole: a Range (a 416 when unsatisfiable) or an If-Match /
  // If-Unmodified-Since (a 412) would only produce errors the shared renderer does not know. They
  // are ignored, as a server that does not support them does; If-None-Match still gives 304s.
  app.addHook('onRequest', (request, _reply, done) => {
    for (const name of ['range', 'if-range', 'if-match', 'if-unmodified-since']) delete request.raw.headers[name];
    done();
  });
  await app.register(fastifyStatic, {
    root: [compiledDir, compiledSharedDir, sourceDir],
    prefix: '/ui',
    redirect: true,
    index: 'index.html',
    // Files are not fingerprinted, so browsers revalidate each load (ETag/Last-Modified make it a 304).
    maxAge: 0,
    allowedPath: (pathName) => SERVED.test(pathName),
    setHeaders: (response) => {
      response.setHeader('x-content-type-options', 'nosniff');
      response.setHeader(
        'content-security-policy',
        // blob: images: the preview of an image value, made from its fetched bytes (docs/ui.md).
        "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      );
    },
  });
};
