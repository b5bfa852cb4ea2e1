// Per-key history over HTTP (docs/history.md): query parameters of /v1/kv/{key}, not path
// suffixes, select it, since a key may contain '/' and end in "/diff". GET ?history, ?version=,
// ?revision= and ?diff are answered from the GET route (kv-routes.ts, given historyReads);
// POST ?revert= and GET /v1/deleted are this plugin's. The query is checked here into coded
// errors (invalid_history_query naming the field); the reads and the bounds are the service's.

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { KvsError } from '../core/errors.js';
import type { KeyVersionWithWho, KvService, VersionRef } from '../core/service.js';
import type { KeyVersion } from '../model/history.js';
import type { DeletedKeysJson, DiffJson, KeyHistoryJson, KeyVersionJson } from '../model/http-json.js';
import { callerOf } from './caller.js';
import { DEFAULT_CONTENT_TYPE } from './entry-headers.js';
import { isoTime } from './iso-time.js';
import { describe, type KeyQueryReads, keyFromUrl, parseVersionHeader, setEntryHeaders } from './kv-routes.js';
import { queryText } from './query-text.js';
import { addValueSafetyHeaders } from './value-safety.js';

type QueryText = Readonly<Record<string, unknown>>;

/** The parameters that make a GET of /v1/kv/{key} a history read; at most one per request. */
const READ_SELECTORS = ['history', 'version', 'revision', 'diff'] as const;
type HistoryRead = (typeof READ_SELECTORS)[number];

/** The history reads of GET /v1/kv/{key}, for kvRoutes. */
export function historyReads(service: KvService): KeyQueryReads {
  return {
    parameters: historyReadParameters,
    answer: (request, reply) => {
      const read = historyReadOf(request.query);
      return read === undefined ? undefined : answerHistoryRead(service, read, request, reply);
    },
  };
}

/** The history read a GET of /v1/kv/{key} asks for, or undefined for a plain read of the value. */
function historyReadOf(query: unknown): HistoryRead | undefined {
  const given = READ_SELECTORS.filter((name) => (query as QueryText)[name] !== undefined);
  if (given.length > 1) throw invalid(given[1]!, `give one of ${READ_SELECTORS.join(', ')}`);
  return given[0];
}

/** The OpenAPI description of the GET route's history parameters (kv-routes.ts). */
const historyReadParameters = {
  history: { description: "this key's history, newest first (JSON)" },
  before: { description: 'with history: only revisions below this one, the `next` of the previous answer' },
  limit: { description: 'with history: entries per answer, 1 to 1000 (100)' },
  values: { description: 'with history: 1 to carry each put value, base64' },
  version: { description: 'the value of the newest kept entry with this version number' },
  revision: { description: 'the value of the kept entry at exactly this revision' },
  diff: { description: 'a unified line diff of two kept versions (JSON), with from/fromRevision and to/toRevision' },
  from: { description: 'with diff: the older version number' },
  fromRevision: { description: 'with diff: the older revision' },
  to: { description: 'with diff: the newer version number (the current value when neither to nor toRevision)' },
  toRevision: { description: 'with diff: the newer revision' },
} as const;

/** Answers a GET of /v1/kv/{key} that historyReadOf named. */
async function answerHistoryRead(
  service: KvService,
  read: HistoryRead,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const caller = callerOf(service, request);
  const key = keyFromUrl(request.url);
  const query = request.query as QueryText;
  switch (read) {
    case 'history': {
      const answer = await service.keyHistory(caller, key, {
        before: wholeNumber(query, 'before'),
        limit: wholeNumber(query, 'limit'),
        values: flag(query, 'values'),
      });
      return reply.send({
        key,
        versions: answer.versions.map(versionJson),
        next: answer.next,
      } satisfies KeyHistoryJson);
    }
    case 'version':
    case 'revision': {
      const ref: VersionRef =
        read === 'version'
          ? { version: wholeNumber(query, 'version')! }
          : { revision: wholeNumber(query, 'revision')! };
      const entry = await service.keyVersion(caller, key, ref);
      reply.headers(addValueSafetyHeaders(versionHeaders(entry)));
      return reply.send(entry.value);
    }
    case 'diff': {
      const from = versionRef(query, 'from', 'fromRevision');
      if (from === undefined) throw invalid('from', 'give from (a version) or fromRevision');
      const answer = await service.diff(caller, key, from, versionRef(query, 'to', 'toRevision'));
      return reply.send({ key, from: answer.from, to: answer.to, ...answer.diff } satisfies DiffJson);
    }
  }
}

export const historyRoutes: FastifyPluginAsync<{ service: KvService }> = async (app, { service }) => {
  app.post<{ Querystring: QueryText }>(
    '/v1/kv/*',
    {
      schema: {
        summary:
          "Revert a key to a kept version (?revert=VERSION or ?revertRevision=REVISION): its value and content type written back as the key's next version, without expiry; restores a deleted key. If-Match for compare-and-swap",
        querystring: {
          type: 'object',
          properties: {
            revert: { description: 'the version number to write back (the newest kept entry with it)' },
            revertRevision: { description: 'the revision of the entry to write back' },
          },
        },
      },
    },
    async (request, reply) => {
      const ref = versionRef(request.query, 'revert', 'revertRevision');
      if (ref === undefined)
        throw new KvsError('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`);
      const caller = callerOf(service, request);
      const ifMatch = request.headers['if-match'];
      const info = await service.revert(caller, keyFromUrl(request.url), ref, {
        ifVersion: ifMatch === undefined ? undefined : parseVersionHeader(ifMatch),
      });
      setEntryHeaders(reply, info);
      return reply.code(info.version === 1 ? 201 : 200).send(describe(info));
    },
  );

  app.get<{ Querystring: QueryText }>(
    '/v1/deleted',
    {
      schema: {
        summary:
          'Deleted keys that can be restored: keys whose newest history entry is a delete or an expiry, in key order, with the newest kept put before it',
        querystring: {
          type: 'object',
          properties: {
            prefix: { description: 'only keys starting with this' },
            after: { description: 'only keys after this one: the `next` of the previous answer' },
            limit: { description: 'keys per answer, 1 to 1000 (100)' },
          },
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request);
      const query = request.query;
      const answer = await service.deletedKeys(caller, {
        prefix: text(query, 'prefix'),
        after: text(query, 'after'),
        limit: wholeNumber(query, 'limit'),
      });
      return reply.send({
        keys: answer.keys.map((deleted) => ({ ...deleted, time: isoTime(deleted.time) })),
        next: answer.next,
      } satisfies DeletedKeysJson);
    },
  );
};

function versionJson(entry: KeyVersionWithWho): KeyVersionJson {
  const who = entry.who;
  return {
    revision: entry.revision,
    version: entry.version,
    type: entry.type,
    time: isoTime(entry.time),
    size: entry.size,
    contentType: entry.contentType,
    expires: entry.expires === null ? null : isoTime(entry.expires),
    who: who === null ? null : { token: who.tokenId, label: who.label, via: who.via, address: who.address },
    ...(entry.value !== undefined && { value: entry.value.toString('base64') }),
  };
}

/**
 * The headers of a kept version served as a value: those of a normal GET, for that entry
 * (`Kvs-Revision` is the entry's revision), and their X- spellings.
 */
function versionHeaders(entry: KeyVersion): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': entry.contentType ?? DEFAULT_CONTENT_TYPE,
    etag: `"${entry.version}"`,
    'last-modified': new Date(entry.time).toUTCString(),
    'kvs-revision': String(entry.revision),
    'kvs-version': String(entry.version),
    'x-kvs-revision': String(entry.revision),
    'x-kvs-version': String(entry.version),
  };
  if (entry.expires !== null) headers['kvs-expires'] = isoTime(entry.expires);
  return headers;
}

function invalid(field: string, message: string): KvsError {
  return new KvsError('invalid_history_query', `${field}: ${message}`, { field });
}

function text(query: QueryText, field: string): string | undefined {
  return queryText(query, field, invalid);
}

/** A whole number from 1, as digits; range checks beyond that are the service's. */
function wholeNumber(query: QueryText, field: string): number | undefined {
  const value = text(query, field);
  if (value === undefined) return undefined;
  const number = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < 1) throw invalid(field, 'a whole number from 1');
  return number;
}

function flag(query: QueryText, field: string): boolean {
  const value = text(query, field);
  if (value === undefined || value === '0' || value === 'false') return false;
  if (value === '' || value === '1' || value === 'true') return true;
  throw invalid(field, 'give 1 or 0');
}

/** A version given by number (`byVersion`) or by revision (`byRevision`), not both; undefined for neither. */
function versionRef(query: QueryText, byVersion: string, byRevision: string): VersionRef | undefined {
  const version = wholeNumber(query, byVersion);
  const revision = wholeNumber(query, byRevision);
  if (version !== undefined && revision !== undefined)
    throw invalid(byRevision, `give ${byVersion} or ${byRevision}, not both`);
  if (version !== undefined) return { version };
  if (revision !== undefined) return { revision };
  return undefined;
}
