// REST v1 keys (docs/architecture.md, "HTTP"): GET/HEAD/PUT/DELETE /v1/kv/{key} and the
// listing GET /v1/kv.
// The key is the rest of the path after /v1/kv/, percent-decoded, so it may contain '/'.

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KvsError } from '../core/errors.js';
import type { Entry, EntryInfo } from '../model/entry.js';
import type { KeyInfo, KeyPage } from '../model/http-json.js';
import { isoTime } from './iso-time.js';
import type { KvService } from '../core/service.js';
import { callerOf } from './caller.js';
import { entryHeaders } from './entry-headers.js';
import { decodeKeyComponent } from './key-decoding.js';
import { storedContentType } from './put-content-type.js';
import { addValueSafetyHeaders } from './value-safety.js';
import { sendPage } from './sliced-page.js';

/** Where the key starts in a /v1/kv/{key} URL (the fast paths match on it too). */
export const KEY_PATH = '/v1/kv/';

/** The key named by the raw URL (rest of the path, percent-decoded); never Fastify's partial decoding. */
export function keyFromUrl(url: string): string {
  const query = url.indexOf('?');
  return decodeKeyComponent(url.slice(KEY_PATH.length, query === -1 ? undefined : query));
}

/** Parses an If-Match value: "3", W/"3" or 3. */
export function parseVersionHeader(value: string): number {
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(value);
  if (!match)
    throw new KvsError('invalid_version', `If-Match must be a version like "3" (got ${JSON.stringify(value)}).`);
  return Number(match[1]);
}

export function setEntryHeaders(reply: FastifyReply, entry: EntryInfo | Entry, withContentType = false): void {
  reply.headers(entryHeaders(entry, withContentType));
}

export function describe(entry: EntryInfo): KeyInfo {
  return {
    key: entry.key,
    version: entry.version,
    createRevision: entry.createRevision,
    modRevision: entry.modRevision,
    updated: isoTime(entry.updated),
    expires: entry.expires === null ? null : isoTime(entry.expires),
    size: entry.size,
    contentType: entry.contentType,
  };
}

/**
 * A listing item with its value (values=1): describe's fields and the value in base64. One object
 * literal rather than `{ ...describe({ ...entry, size }), value }`: with the two spreads (and the
 * serializer reading what they made) a page of 1,000 100-byte values cost 25-29 ms of CPU, with
 * the literal 18.6-20.5 ms (bench/stall/turn-cpu.ts --http on 100,000 keys, a busy 2-core machine).
 */
function describeWithValue(entry: Entry): KeyInfo & { readonly value: string } {
  return {
    key: entry.key,
    version: entry.version,
    createRevision: entry.createRevision,
    modRevision: entry.modRevision,
    updated: isoTime(entry.updated),
    expires: entry.expires === null ? null : isoTime(entry.expires),
    size: entry.value.length,
    contentType: entry.contentType,
    value: entry.value.toString('base64'),
  };
}

function parseTtl(ttl: string | undefined): number | undefined {
  if (ttl === undefined) return undefined;
  // The latest expiry allowed is the service's one bound for every front end (MAX_EXPIRES_MS).
  if (!/^\d{1,16}$/.test(ttl) || Number(ttl) === 0)
    throw new KvsError('invalid_ttl', `ttl must be a whole number of seconds >= 1 (got ${JSON.stringify(ttl)}).`);
  return Number(ttl);
}

const entryMetaSchema = {
  type: 'object',
  properties: {
    key: { type: 'string' },
    version: { type: 'integer' },
    createRevision: { type: 'integer' },
    modRevision: { type: 'integer' },
    updated: { type: 'string', format: 'date-time' },
    expires: { type: ['string', 'null'], format: 'date-time' },
    size: { type: 'integer' },
    contentType: { type: ['string', 'null'] },
    value: { type: 'string', description: 'base64, only with values=1' },
  },
} as const;

/** GET /v1/kv's answer (sliced-page.ts renders it in slices, `items` first). */
const keyPageSchema = {
  type: 'object',
  properties: {
    items: { type: 'array', items: entryMetaSchema },
    next: { type: ['string', 'null'] },
    revision: { type: 'integer' },
  },
} as const;

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      additionalProperties: true,
    },
  },
} as const;

/**
 * Reads of /v1/kv/{key} that its query parameters select instead of the value (history-routes.ts):
 * given to the plugin, so that this module does not import the one that imports it.
 */
export interface KeyQueryReads {
  /** The OpenAPI description of the parameters. */
  readonly parameters: Readonly<Record<string, { readonly description: string }>>;
  /** Answers the request when its query selects such a read; undefined for a plain read of the value. */
  answer(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> | undefined;
}

export const kvRoutes: FastifyPluginAsync<{ service: KvService; queryReads?: KeyQueryReads }> = async (
  app,
  { service, queryReads },
) => {
  // Values are bytes of any type: take every body as a Buffer in this plugin.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const get = async (request: FastifyRequest, reply: FastifyReply) => {
    const answered = queryReads?.answer(request, reply);
    if (answered !== undefined) return answered;
    const entry = await service.get(callerOf(service, request), keyFromUrl(request.url));
    if (entry === undefined) throw new KvsError('not_found');
    reply.headers(addValueSafetyHeaders(entryHeaders(entry)));
    return reply.send(entry.value);
  };
  app.get(
    '/v1/kv/*',
    {
      schema: {
        summary:
          "Read a value (raw bytes) with its metadata in headers; ?history, ?version=, ?revision= and ?diff read the key's history instead (docs/history.md)",
        querystring: { type: 'object', properties: queryReads?.parameters ?? {} },
        response: { 404: errorSchema },
      },
    },
    get,
  );

  app.put<{ Querystring: { ttl?: string; keepTtl?: string } }>(
    '/v1/kv/*',
    {
      bodyLimit: service.limits.maxValueBytes,
      config: { valueBody: true },
      schema: {
        summary:
          'Write a value; If-Match for compare-and-swap, If-None-Match: * to create only, ?ttl=SECONDS, ?keepTtl to keep the current expiry (without either, the key no longer expires)',
        querystring: {
          type: 'object',
          properties: {
            ttl: { type: 'string', pattern: '^[0-9]+$' },
            keepTtl: { type: 'string', enum: ['', 'true', '1'] },
          },
        },
        response: { 200: entryMetaSchema, 201: entryMetaSchema, 412: errorSchema, 413: errorSchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request);
      const key = keyFromUrl(request.url);
      const value = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const ifMatch = request.headers['if-match'];
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
        throw new KvsError('bad_request', 'If-None-Match supports only "*" (create only).');
      }
      const keepTtl = request.query.keepTtl !== undefined;
      if (keepTtl && request.query.ttl !== undefined)
        throw new KvsError('bad_request', 'Give ttl or keepTtl, not both.');
      const info = await service.put(caller, key, value, {
        contentType: storedContentType(request.headers['content-type']),
        keepTtl,
        ttlSeconds: parseTtl(request.query.ttl),
        ifVersion: ifMatch === undefined ? undefined : parseVersionHeader(ifMatch),
        ifAbsent: ifNoneMatch !== undefined,
      });
      setEntryHeaders(reply, info);
      return reply.code(info.version === 1 ? 201 : 200).send(describe(info));
    },
  );

  app.delete(
    '/v1/kv/*',
    {
      schema: {
        summary: 'Delete a key; If-Match makes it conditional',
        response: { 404: errorSchema, 412: errorSchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request);
      const key = keyFromUrl(request.url);
      const ifMatch = request.headers['if-match'];
      const revision = await service.delete(caller, key, {
        ifVersion: ifMatch === undefined ? undefined : parseVersionHeader(ifMatch),
      });
      if (revision === undefined) throw new KvsError('not_found');
      return reply.send({ deleted: true, revision });
    },
  );

  app.get<{ Querystring: { prefix?: string; after?: string; limit?: number; values?: string; match?: string } }>(
    '/v1/kv',
    {
      schema: {
        summary:
          'List keys in order with metadata; cursor pagination with after=; match=GLOB (Redis syntax) searches, at most 10000 keys examined per page',
        querystring: {
          type: 'object',
          properties: {
            prefix: { type: 'string' },
            after: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: service.limits.maxListLimit },
            values: { type: 'string', enum: ['0', '1', 'true', 'false'] },
            match: { type: 'string' },
          },
        },
        response: { 200: keyPageSchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request);
      const { prefix = '', after, limit = 100 } = request.query;
      const withValues = request.query.values === '1' || request.query.values === 'true';
      const match = request.query.match;
      if (match !== undefined && (withValues || request.query.prefix !== undefined))
        throw new KvsError(
          'bad_request',
          'match= takes neither prefix= (its literal start is the prefix) nor values=.',
        );
      const revision = await service.revision();
      const page =
        match !== undefined
          ? await service.search(caller, match, after, limit)
          : withValues
            ? await service.listEntries(caller, prefix, after, limit)
            : await service.list(caller, prefix, after, limit);
      return sendPage(reply, {
        items: page.items as readonly (EntryInfo | Entry)[],
        toJson: (item) => ('value' in item ? describeWithValue(item) : describe(item)),
        schema: keyPageSchema,
        rest: { next: page.next, revision } satisfies Omit<KeyPage, 'items'>,
      });
    },
  );
};
