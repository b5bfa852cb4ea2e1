// POST /v1/txn: checks + operations, all or nothing, one revision (docs/consistency.md,
// "Transactions are atomic and serializable").

import type { FastifyPluginAsync } from 'fastify';
import { KvsError } from '../core/errors.js';
import type { KvService, TxnCheck, TxnOperation } from '../core/service.js';
import { callerOf } from './caller.js';
import { describe } from './kv-routes.js';

interface TxnBody {
  checks?: { key: string; version?: number; absent?: boolean; exists?: boolean }[];
  operations?: (
    | {
        op: 'put';
        key: string;
        value: string;
        encoding?: 'utf8' | 'base64';
        ttl?: number;
        expires?: string;
        contentType?: string;
      }
    | { op: 'delete'; key: string }
  )[];
}

const txnSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    checks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key'],
        additionalProperties: false,
        properties: {
          key: { type: 'string' },
          version: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
          absent: { type: 'boolean', const: true },
          exists: { type: 'boolean', const: true },
        },
      },
    },
    operations: {
      type: 'array',
      items: {
        type: 'object',
        required: ['op', 'key'],
        additionalProperties: false,
        properties: {
          op: { type: 'string', enum: ['put', 'delete'] },
          key: { type: 'string' },
          value: { type: 'string' },
          encoding: { type: 'string', enum: ['utf8', 'base64'] },
          // No maximum here: the service refuses an expiry past its one bound (MAX_EXPIRES_MS) with invalid_ttl.
          ttl: { type: 'integer', minimum: 1 },
          // Absolute expiry (ISO 8601), exact to the ms; wins over ttl. Lets `kvs import` restore expiries exactly.
          expires: { type: 'string', format: 'date-time' },
          contentType: { type: 'string' },
        },
      },
    },
  },
} as const;

export function toChecks(body: TxnBody): TxnCheck[] {
  return (body.checks ?? []).map((check, index) => {
    const kinds = [check.version !== undefined, check.absent === true, check.exists === true].filter(Boolean).length;
    if (kinds !== 1)
      throw new KvsError('invalid_txn', `checks[${index}] needs exactly one of version, absent, exists.`);
    if (check.version !== undefined) return { key: check.key, kind: 'version', version: check.version };
    return check.absent ? { key: check.key, kind: 'absent' } : { key: check.key, kind: 'exists' };
  });
}

export function toOperations(body: TxnBody): TxnOperation[] {
  return (body.operations ?? []).map((operation, index) => {
    if (operation.op === 'delete') return { type: 'delete', key: operation.key };
    if (typeof operation.value !== 'string')
      throw new KvsError('invalid_txn', `operations[${index}] (put) needs a string value.`);
    const value = Buffer.from(operation.value, operation.encoding === 'base64' ? 'base64' : 'utf8');
    const expiresAt = operation.expires === undefined ? null : Date.parse(operation.expires);
    if (Number.isNaN(expiresAt))
      throw new KvsError('invalid_txn', `operations[${index}].expires is not an ISO 8601 time.`);
    return {
      type: 'put',
      key: operation.key,
      value,
      contentType: operation.contentType ?? null,
      ttlSeconds: operation.ttl ?? null,
      expiresAt,
    };
  });
}

export const txnRoutes: FastifyPluginAsync<{ service: KvService }> = async (app, { service }) => {
  app.post<{ Body: TxnBody }>(
    '/v1/txn',
    {
      schema: {
        summary: 'Atomic transaction: all checks must hold, then every operation is applied under one revision',
        body: txnSchema,
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request);
      const operations = toOperations(request.body);
      if (operations.length === 0 && (request.body.checks ?? []).length === 0) {
        throw new KvsError('invalid_txn', 'A transaction needs at least one check or operation.');
      }
      const result = await service.txnCountingItems(caller, toChecks(request.body), operations);
      reply.header('kvs-revision', String(result.revision));
      return reply.send({ revision: result.revision, puts: result.puts.map(describe), deleted: result.deleted });
    },
  );
};
