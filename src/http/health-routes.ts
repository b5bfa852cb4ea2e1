// Liveness, readiness and Prometheus metrics.

import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { KvService } from '../core/service.js';
import type { WatchHub } from '../core/watch-hub.js';

export interface HttpMetrics {
  readonly registry: Registry;
  /** Counts one answered request; a plain map increment, folded into the counter at scrape time. */
  countRequest(method: string, status: number): void;
}

export function createMetrics(service: KvService, hub: WatchHub): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kvs_process_' });
  // prom-client's labels().inc() hashes the label set on every call; on the GET hot path a
  // plain Map keyed by "METHOD status" is cheaper, and the counter is brought up to date on scrape.
  const counts = new Map<string, number>();
  const folded = new Map<string, number>();
  new Counter({
    name: 'kvs_http_requests_total',
    help: 'HTTP requests answered, by method and status code',
    labelNames: ['method', 'status'] as const,
    registers: [registry],
    collect() {
      for (const [label, count] of counts) {
        const [method, status] = label.split(' ') as [string, string];
        this.labels(method, status).inc(count - (folded.get(label) ?? 0));
        folded.set(label, count);
      }
    },
  });
  new Gauge({
    name: 'kvs_revision',
    help: 'Store-wide revision (last committed transaction)',
    registers: [registry],
    async collect() {
      this.set(await service.revision());
    },
  });
  new Gauge({
    name: 'kvs_keys',
    help: 'Number of keys stored (may include expired keys not yet swept)',
    registers: [registry],
    async collect() {
      this.set(await service.count());
    },
  });
  new Gauge({
    name: 'kvs_watchers',
    help: 'Open watch streams in this process',
    registers: [registry],
    collect() {
      this.set(hub.size);
    },
  });
  return {
    registry,
    countRequest(method, status) {
      const label = `${method} ${status}`;
      counts.set(label, (counts.get(label) ?? 0) + 1);
    },
  };
}

export const healthRoutes: FastifyPluginAsync<{ service: KvService; metrics: HttpMetrics }> = async (
  app,
  { service, metrics },
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
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
};
