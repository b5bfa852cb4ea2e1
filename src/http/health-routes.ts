// Liveness, readiness and the Prometheus metrics (made in core/metrics.ts).

import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { KvService } from '../core/service.js';

export const healthRoutes: FastifyPluginAsync<{ service: KvService; registry: Registry }> = async (
  app,
  { service, registry },
) => {
  app.get('/healthz', { schema: { summary: 'Liveness: the process answers' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { summary: 'Readiness: the storage engine answers' } }, async (_request, reply) => {
    try {
      const revision = await service.revision();
      return { status: 'ready', engine: service.engine.kind, revision };
    } catch (error) {
      return reply.code(503).send({
        status: 'unavailable',
        error: { code: 'unavailable', message: error instanceof Error ? error.message : String(error) },
      });
    }
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)' } }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
};
