// GET /v1/audit: the audit trail, newest first, for admin tokens on every key (docs/audit.md).
// The query is checked here into coded errors (invalid_audit_query naming the field); the
// filtering and its bound are the service's.

import type { FastifyPluginAsync } from 'fastify';
import { KvsError } from '../core/errors.js';
import {
  AUDIT_PAGE_DEFAULT,
  AUDIT_PAGE_MAX,
  AUDIT_SCAN_MAX,
  type AuditRequest,
  type KvService,
} from '../core/service.js';
import type { AuditEntry } from '../model/audit.js';
import type { AuditEntryJson, AuditPageJson } from '../model/http-json.js';
import { MAX_EXPIRES_MS } from '../model/time.js';
import { callerOf } from './caller.js';
import { isoTime } from './iso-time.js';
import { queryText } from './query-text.js';

type AuditQueryText = Partial<Record<'key' | 'prefix' | 'token' | 'since' | 'until' | 'before' | 'limit', unknown>>;

export const auditRoutes: FastifyPluginAsync<{ service: KvService }> = async (app, { service }) => {
  app.get<{ Querystring: AuditQueryText }>(
    '/v1/audit',
    {
      schema: {
        summary: `The audit trail, newest first: who made each commit (token id and label, front end, client address, revision, time, keys). Admin tokens on every key only; at most ${AUDIT_SCAN_MAX} entries examined per answer`,
        // No type on the fields: a repeated one is an array, refused by text() with the
        // route's own code (a schema type would answer bad_request first).
        querystring: {
          type: 'object',
          properties: {
            key: { description: 'only commits that changed this key' },
            prefix: { description: 'only commits that changed a key starting with this' },
            token: { description: 'only commits of this token id (tok_… or file:…)' },
            since: { description: 'committed at or after: ms since the epoch or an ISO 8601 time' },
            until: { description: 'committed at or before: ms since the epoch or an ISO 8601 time' },
            before: { description: 'only revisions below this one: the `next` of the previous answer' },
            limit: {
              description: `entries per answer, 1 to ${AUDIT_PAGE_MAX} (${AUDIT_PAGE_DEFAULT})`,
            },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              entries: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    revision: { type: 'integer' },
                    time: { type: 'string' },
                    timeMs: { type: 'integer' },
                    tokenId: { type: ['string', 'null'] },
                    label: { type: ['string', 'null'] },
                    via: { type: 'string' },
                    address: { type: ['string', 'null'] },
                    keys: { type: 'array', items: { type: 'string' } },
                    keyCount: { type: 'integer' },
                  },
                },
              },
              next: { type: ['integer', 'null'] },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request);
      const answer = await service.audit(caller, auditRequestOf(service, request.query));
      return reply.send({ entries: answer.entries.map(auditEntryJson), next: answer.next } satisfies AuditPageJson);
    },
  );
};

export function auditEntryJson(entry: AuditEntry): AuditEntryJson {
  return {
    revision: entry.revision,
    time: isoTime(entry.time),
    timeMs: entry.time,
    tokenId: entry.tokenId,
    label: entry.label,
    via: entry.via,
    address: entry.address,
    keys: [...entry.keys],
    keyCount: entry.keyCount,
  };
}

function invalid(field: string, message: string): KvsError {
  return new KvsError('invalid_audit_query', `${field}: ${message}`, { field });
}

function text(query: AuditQueryText, field: keyof AuditQueryText): string | undefined {
  return queryText(query, field, invalid);
}

/** ms since the epoch (digits) or an ISO 8601 time, within the times kvs can show. */
function time(query: AuditQueryText, field: 'since' | 'until'): number | undefined {
  const value = text(query, field);
  if (value === undefined) return undefined;
  const ms = /^\d{1,16}$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}/.test(value)
      ? Date.parse(value)
      : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_EXPIRES_MS)
    throw invalid(field, 'a time is ms since the epoch or an ISO 8601 time such as 2026-11-30T08:00:00Z');
  return ms;
}

function wholeNumber(query: AuditQueryText, field: 'before' | 'limit', min: number, max: number): number | undefined {
  const value = text(query, field);
  if (value === undefined) return undefined;
  const number = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max)
    throw invalid(field, `a whole number from ${min} to ${max}`);
  return number;
}

function auditRequestOf(service: KvService, query: AuditQueryText): AuditRequest {
  const key = text(query, 'key');
  const prefix = text(query, 'prefix');
  const token = text(query, 'token');
  if (key !== undefined && prefix !== undefined) throw invalid('prefix', 'give key or prefix, not both');
  if (key !== undefined) service.validateKey(key);
  if (prefix !== undefined && prefix !== '') service.validateKey(prefix);
  return {
    key,
    prefix: prefix === '' ? undefined : prefix,
    token: token === '' ? undefined : token,
    since: time(query, 'since'),
    until: time(query, 'until'),
    before: wholeNumber(query, 'before', 1, Number.MAX_SAFE_INTEGER),
    limit: wholeNumber(query, 'limit', 1, AUDIT_PAGE_MAX) ?? AUDIT_PAGE_DEFAULT,
  };
}
