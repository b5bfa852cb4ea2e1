// Routes for browsing a large store (the web UI, docs/ui.md): GET /v1/folders (the folders under
// a prefix with their key counts, and the store's key count) and GET /v1/whoami (what the
// request's token may do).

import type { FastifyPluginAsync } from 'fastify';
import { MAX_FOLDERS_PER_PAGE } from '../core/key-browsing.js';
import type { KvService } from '../core/service.js';
import type { FolderPageJson, WhoAmI } from '../model/http-json.js';
import { callerOf } from './caller.js';

export const browseRoutes: FastifyPluginAsync<{ service: KvService }> = async (app, { service }) => {
  app.get<{ Querystring: { prefix?: string; after?: string; limit?: number } }>(
    '/v1/folders',
    {
      schema: {
        summary: `Folders under a prefix (the next path segment up to '/'), each with its key count; at most ${MAX_FOLDERS_PER_PAGE} per answer`,
        querystring: {
          type: 'object',
          properties: {
            prefix: { type: 'string' },
            after: { type: 'string' },
            limit: { type: 'integer' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              folders: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { prefix: { type: 'string' }, keys: { type: 'integer' }, more: { type: 'boolean' } },
                },
              },
              next: { type: ['string', 'null'] },
              revision: { type: 'integer' },
              storeKeys: { type: ['integer', 'null'] },
              prefixKeys: { type: ['integer', 'null'] },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request);
      const { prefix = '', after, limit = MAX_FOLDERS_PER_PAGE } = request.query;
      const revision = await service.revision();
      const page = await service.folders(caller, prefix, after, limit);
      // The store's size is not for a caller limited to some prefixes of a private store.
      const everything = !service.privateReads || caller.principal?.unrestricted === true;
      return reply.send({
        folders: page.folders,
        next: page.next,
        revision,
        storeKeys: everything ? await service.count() : null,
        prefixKeys: (await service.folderKeys(caller, prefix)) ?? null,
      } satisfies FolderPageJson);
    },
  );

  app.get(
    '/v1/whoami',
    {
      schema: {
        summary: "The request token's scope, key prefixes and label (never the token), and whether reads need a token",
        response: {
          200: {
            type: 'object',
            properties: {
              authenticated: { type: 'boolean' },
              scope: { type: ['string', 'null'], enum: ['read', 'write', 'admin', null] },
              prefixes: { type: 'array', items: { type: 'string' } },
              label: { type: ['string', 'null'] },
              privateReads: { type: 'boolean' },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const grant = callerOf(service, request).principal?.grant;
      return reply.send({
        authenticated: grant !== undefined,
        scope: grant?.scope ?? null,
        prefixes: grant?.prefixes ?? [],
        label: grant?.label ?? null,
        privateReads: service.privateReads,
      } satisfies WhoAmI);
    },
  );
};
