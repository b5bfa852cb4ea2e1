// Point in time (docs/history.md, "Point in time"): GET /v1/snapshot reads the store as it was at
// a revision or a time, a page at a time (`kvs export --at`); POST /v1/restore brings a prefix
// back to that point as one new transaction (`kvs restore --to`), or lists what it would change.
// The point is checked here into coded errors; reading and writing are the service's.

import type { FastifyPluginAsync } from 'fastify';
import { KvsError } from '../core/errors.js';
import type { PointInTimeTarget, ResolvedPoint } from '../core/point-in-time.js';
import type { KvService } from '../core/service.js';
import { MAX_EXPIRES_MS } from '../model/time.js';
import { callerOf } from './caller.js';
import { isoTime } from './iso-time.js';
import { type QueryError, queryText } from './query-text.js';

type SnapshotQuery = Partial<Record<'at' | 'prefix' | 'after' | 'limit' | 'values', unknown>>;
type RestoreQuery = Partial<Record<'to' | 'prefix' | 'dryRun', unknown>>;

const POINT_DESCRIPTION =
  'a revision (digits) or an ISO 8601 time such as 2026-11-30T08:00:00Z (the newest commit at or before it)';

const repeated: QueryError = (field, message) => new KvsError('bad_request', `${field}: ${message}.`, { field });

function text(query: Record<string, unknown>, field: string): string | undefined {
  return queryText(query, field, repeated);
}

/** `at` / `to`: a revision, or an ISO 8601 time. */
export function parsePoint(value: string | undefined, field: string): PointInTimeTarget {
  if (value === undefined || value === '')
    throw new KvsError('invalid_point_in_time', `${field}: give a revision or an ISO 8601 time.`, { field });
  if (/^\d{1,16}$/.test(value)) {
    const revision = Number(value);
    if (Number.isSafeInteger(revision)) return { revision };
  } else if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const time = Date.parse(value);
    if (Number.isSafeInteger(time) && time >= 0 && time <= MAX_EXPIRES_MS) return { time };
  }
  throw new KvsError(
    'invalid_point_in_time',
    `${field}: ${POINT_DESCRIPTION}; got ${JSON.stringify(value.slice(0, 64))}.`,
    {
      field,
    },
  );
}

function pointJson(point: ResolvedPoint): { revision: number; time: string | null } {
  return { revision: point.revision, time: point.time === undefined ? null : isoTime(point.time) };
}

const pointSchema = {
  type: 'object',
  properties: { revision: { type: 'integer' }, time: { type: ['string', 'null'] } },
} as const;

export const pointInTimeRoutes: FastifyPluginAsync<{ service: KvService }> = async (app, { service }) => {
  app.get<{ Querystring: SnapshotQuery }>(
    '/v1/snapshot',
    {
      schema: {
        summary:
          'The store as it was at a revision or a time, in key order, one page at a time (keys absent then are left out); within the history kept, else history_not_kept naming the oldest revision that can be read',
        querystring: {
          type: 'object',
          properties: {
            at: { type: 'string', description: POINT_DESCRIPTION },
            prefix: { type: 'string', description: 'only keys starting with this' },
            after: { type: 'string', description: 'the `next` of the previous page' },
            limit: {
              type: 'string',
              description:
                'keys per page, at most (the listing limit); a page may hold fewer and still have a next one',
            },
            values: { type: 'string', description: '1: the items carry their values (base64)' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              at: pointSchema,
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    key: { type: 'string' },
                    version: { type: 'integer' },
                    modRevision: { type: 'integer' },
                    expires: { type: ['string', 'null'] },
                    size: { type: 'integer' },
                    contentType: { type: ['string', 'null'] },
                    value: { type: 'string', description: 'base64, only with values=1' },
                  },
                },
              },
              next: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const target = parsePoint(text(query, 'at'), 'at');
      const prefix = text(query, 'prefix') ?? '';
      const after = text(query, 'after');
      const limitText = text(query, 'limit');
      const limit = limitText === undefined ? 100 : /^\d{1,7}$/.test(limitText) ? Number(limitText) : Number.NaN;
      const values = text(query, 'values');
      const withValues = values === '1' || values === 'true';
      const page = await service.snapshot(callerOf(service, request), target, prefix, after, limit);
      return reply.send({
        at: pointJson(page.point),
        items: page.items.map((item) => ({
          key: item.key,
          version: item.version,
          modRevision: item.modRevision,
          expires: item.expires === null ? null : isoTime(item.expires),
          size: item.value.length,
          contentType: item.contentType,
          ...(withValues && { value: item.value.toString('base64') }),
        })),
        next: page.next,
      });
    },
  );

  app.post<{ Querystring: RestoreQuery }>(
    '/v1/restore',
    {
      schema: {
        summary:
          "Brings every key under a prefix back to its state at a revision or a time, as one new transaction (audited as via restore, watched, in history: undoable); dryRun=1 lists the changes without writing. Guarded by each key's current revision: a write meanwhile refuses it with txn_check_failed",
        querystring: {
          type: 'object',
          properties: {
            to: { type: 'string', description: POINT_DESCRIPTION },
            prefix: { type: 'string', description: 'only keys starting with this (the token must cover it)' },
            dryRun: { type: 'string', description: '1: list the changes, write nothing' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              to: pointSchema,
              dryRun: { type: 'boolean' },
              revision: {
                type: ['integer', 'null'],
                description: "the restore's commit; null on a dry run or when nothing changes",
              },
              changes: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    key: { type: 'string' },
                    action: { type: 'string', enum: ['put', 'delete'] },
                    restoredRevision: { type: ['integer', 'null'] },
                    currentRevision: { type: ['integer', 'null'] },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const target = parsePoint(text(query, 'to'), 'to');
      const prefix = text(query, 'prefix') ?? '';
      const dryRunText = text(query, 'dryRun');
      const dryRun = dryRunText === '1' || dryRunText === 'true';
      const answer = await service.restore(callerOf(service, request), target, prefix, dryRun);
      return reply.send({
        to: pointJson(answer.point),
        dryRun,
        revision: answer.revision,
        changes: answer.changes.map((change) => ({
          key: change.key,
          action: change.action,
          restoredRevision: change.restored?.modRevision ?? null,
          currentRevision: change.currentRevision,
        })),
      });
    },
  );
};
