// The seed-compatible API (docs/architecture.md, "HTTP"), answered in plain text as the
// original CGI did:
//   GET /?k=KEY            the raw value, 404 if absent
//   GET /?k=K1,K2,...      the value of the most recently updated existing key; Kvs-Key names it
//   POST / k=v&k2=v2&auth= every pair in one transaction
//   GET /                  the index page

import formbody from '@fastify/formbody';
import type { FastifyPluginAsync } from 'fastify';
import { KvsError } from '../core/errors.js';
import type { KvService } from '../core/service.js';
import { callerOf } from './caller.js';
import { DEFAULT_CONTENT_TYPE, entryHeaders, headerSafeKey } from './entry-headers.js';
import { renderIndexPage } from './index-page.js';
import { seedKeys } from './key-decoding.js';
import { addValueSafetyHeaders } from './value-safety.js';

export const seedRoutes: FastifyPluginAsync<{ service: KvService }> = async (app, { service }) => {
  await app.register(formbody, { bodyLimit: service.limits.maxBodyBytes });

  app.get<{ Querystring: { k?: string | string[]; auth?: string } }>(
    '/',
    {
      config: { plainErrors: true },
      schema: {
        summary: 'Seed read (?k=KEY or ?k=K1,K2) or, without k, the index page',
        querystring: { type: 'object', properties: { k: { type: 'string' }, auth: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const caller = callerOf(
        service,
        request,
        typeof request.query.auth === 'string' ? request.query.auth : undefined,
      );
      const k = request.query.k;
      if (k === undefined) {
        const [keyCount, revision, recent] = await Promise.all([
          service.count(),
          service.revision(),
          service.recentlyModified(caller, 20),
        ]);
        const html = renderIndexPage({
          baseUrl: `${request.protocol}://${request.host}`,
          keyCount,
          revision,
          recent,
          now: service.now(),
          privateReads: service.privateReads,
          engine: service.engine.kind,
        });
        return reply.type('text/html; charset=utf-8').send(html);
      }
      const keys = seedKeys(Array.isArray(k) ? k.join(',') : k);
      const entry = keys.length === 1 ? await service.get(caller, keys[0]!) : await service.getMostRecent(caller, keys);
      if (entry === undefined)
        throw new KvsError('not_found', keys.length === 1 ? 'No such key.' : 'None of these keys exists.');
      reply.headers(addValueSafetyHeaders(entryHeaders(entry)));
      reply.header('kvs-key', headerSafeKey(entry.key));
      return reply.send(entry.value);
    },
  );

  app.post<{ Body: Record<string, string | string[]> }>(
    '/',
    {
      config: { plainErrors: true },
      schema: {
        summary: 'Seed write: every form pair saved in one atomic transaction',
        // A form gives strings (arrays of strings for repeated names); a JSON body must say the same.
        body: {
          type: 'object',
          additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body === null || typeof body !== 'object')
        throw new KvsError('bad_request', 'Send the pairs as a form: key=value&auth=TOKEN.');
      const auth = body.auth;
      const caller = callerOf(service, request, Array.isArray(auth) ? auth[auth.length - 1] : auth);
      if (caller.principal === undefined)
        throw new KvsError('auth_required', 'Writes need a passcode: add auth=TOKEN to the form.');
      const pairs: [string, Buffer][] = [];
      for (const [key, value] of Object.entries(body)) {
        if (key === 'auth') continue;
        for (const item of Array.isArray(value) ? value : [value]) pairs.push([key, Buffer.from(item, 'utf8')]);
      }
      if (pairs.length === 0) throw new KvsError('bad_request', 'No key=value pairs in the form.');
      const result = await service.putMany(caller, pairs);
      reply.header('kvs-revision', String(result.revision));
      return reply.type(DEFAULT_CONTENT_TYPE).send('OK\n');
    },
  );
};
