// /v1/tokens: minting, listing and revoking API tokens (docs/tokens.md). Admin tokens only.

import type { FastifyPluginAsync } from 'fastify';
import { KvsError } from '../core/errors.js';
import type { KvService } from '../core/service.js';
import { MAX_TOKEN_LABEL, MAX_TOKEN_PREFIXES, type TokenInfo } from '../core/token-registry.js';
import type { Scope } from '../core/tokens.js';
import { callerOf } from './caller.js';
import { isoTime } from './iso-time.js';

interface MintBody {
  label?: string;
  scope: Scope;
  prefixes?: string[];
  ttl?: number;
  expires?: string;
}

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    label: { type: 'string' },
    scope: { type: 'string', enum: ['read', 'write', 'admin'] },
    prefixes: { type: 'array', items: { type: 'string' } },
    created: { type: 'string', format: 'date-time' },
    expires: { type: 'string', format: 'date-time', nullable: true },
    lastUsed: { type: 'string', format: 'date-time', nullable: true },
  },
} as const;

function describeToken(info: TokenInfo) {
  return {
    id: info.id,
    label: info.label,
    scope: info.scope,
    prefixes: info.prefixes,
    created: isoTime(info.created),
    expires: info.expires === null ? null : isoTime(info.expires),
    lastUsed: info.lastUsed === null ? null : isoTime(info.lastUsed),
  };
}

export const tokenRoutes: FastifyPluginAsync<{ service: KvService }> = async (app, { service }) => {
  app.post<{ Body: MintBody }>(
    '/v1/tokens',
    {
      schema: {
        summary: 'Mint a token (admin): the secret is in this answer only; the store keeps its SHA-256',
        body: {
          type: 'object',
          required: ['scope'],
          additionalProperties: false,
          properties: {
            label: { type: 'string', maxLength: MAX_TOKEN_LABEL },
            scope: { type: 'string', enum: ['read', 'write', 'admin'] },
            prefixes: { type: 'array', items: { type: 'string' }, maxItems: MAX_TOKEN_PREFIXES },
            ttl: { type: 'integer', minimum: 1 },
            expires: { type: 'string', format: 'date-time' },
          },
        },
        response: {
          201: { type: 'object', properties: { ...tokenSchema.properties, token: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request);
      const body = request.body;
      let expires: number | undefined;
      if (body.expires !== undefined) {
        expires = Date.parse(body.expires);
        if (Number.isNaN(expires)) throw new KvsError('invalid_ttl', 'expires is not an ISO 8601 time.');
      }
      const minted = await service.mintToken(caller, {
        label: body.label ?? '',
        scope: body.scope,
        prefixes: body.prefixes ?? [],
        ...(body.ttl !== undefined && { ttlSeconds: body.ttl }),
        ...(expires !== undefined && { expires }),
      });
      reply.header('cache-control', 'no-store');
      reply.code(201);
      return { ...describeToken(minted.info), token: minted.secret };
    },
  );

  app.get(
    '/v1/tokens',
    {
      schema: {
        summary: 'List tokens (admin): never the secrets',
        response: { 200: { type: 'object', properties: { tokens: { type: 'array', items: tokenSchema } } } },
      },
    },
    async (request) => ({ tokens: service.listTokens(callerOf(service, request)).map(describeToken) }),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/tokens/:id',
    {
      schema: {
        summary: 'Revoke a token (admin): refused from the next request on, open watch streams end',
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      },
    },
    async (request, reply) => {
      await service.revokeToken(callerOf(service, request), request.params.id);
      return reply.code(204).send();
    },
  );
};
