// The Prometheus metrics of one kvs process (docs/observability.md lists them): Node's stock
// process metrics, build info, HTTP and RESP latency histograms, commit latency, refused tokens,
// and gauges read at scrape time. Every label has a bounded set of values: HTTP routes are
// Fastify's route patterns (never the URL), RESP commands are names from the command table.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FastHistogram, type Observe } from './fast-histogram.js';
import type { ServiceObserver } from './service-observer.js';
import { KVS_VERSION } from './version.js';

/** Seconds; from a cached GET (~50 µs) to a slow fsync or a long request (10 s). */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** The route label of a request no route matched (404s, malformed URLs). */
export const UNMATCHED_ROUTE = 'unmatched';
/** The command label of a RESP command not in the command table. */
export const UNKNOWN_COMMAND = 'unknown';

/** A value read when /metrics is scraped (a number, or a promise of one). */
export type Reading = () => number | Promise<number>;

export class KvsMetrics {
  readonly registry = new Registry();
  /** Handed to the core service (KvService options.observer). */
  readonly service: ServiceObserver;
  private readonly httpDuration: FastHistogram;
  private readonly respDuration: FastHistogram;
  /** Bound series by route, then method, then status: found without building a key or label object. */
  private readonly httpSeries = new Map<string, Map<string, Map<number, Observe>>>();
  private readonly respSeries = new Map<string, Observe>();

  constructor() {
    const registry = this.registry;
    // Stock names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...): the Node.js
    // dashboards people already have expect them unprefixed.
    collectDefaultMetrics({ register: registry });
    new Gauge({
      name: 'kvs_build_info',
      help: 'Always 1; the labels say which kvs and which Node.js run',
      labelNames: ['version', 'node'] as const,
      registers: [registry],
    }).set({ version: KVS_VERSION, node: process.version }, 1);
    // The two request histograms are observed on the fast paths: FastHistogram (see why there).
    this.httpDuration = new FastHistogram(
      'kvs_http_request_duration_seconds',
      'Time from receiving an HTTP request to answering it, by method, route pattern and status code (watch streams: their whole life)',
      ['method', 'route', 'status'],
      LATENCY_BUCKETS,
      registry,
    );
    this.respDuration = new FastHistogram(
      'kvs_resp_command_duration_seconds',
      `Time from taking a RESP command to its reply being ready, by command ("${UNKNOWN_COMMAND}" for commands kvs does not know)`,
      ['command'],
      LATENCY_BUCKETS,
      registry,
    );
    // Derived from the duration histogram at scrape time: nothing more to count per request.
    const httpDuration = this.httpDuration;
    new Counter({
      name: 'kvs_http_requests_total',
      help: 'HTTP requests answered, by method and status code',
      labelNames: ['method', 'status'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, count] of httpDuration.counts()) this.labels(labels.method!, labels.status!).inc(count);
      },
    });
    const commitDuration = new Histogram({
      name: 'kvs_commit_duration_seconds',
      help: 'Time of one storage-engine commit as the core service sees it (durable when --durability strict)',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    const authFailures = new Counter({
      name: 'kvs_auth_failures_total',
      help: 'Wrong tokens presented (answered auth_invalid), every front end',
      registers: [registry],
    });
    const rateLimited = new Counter({
      name: 'kvs_auth_rate_limited_total',
      help: 'Tokens refused because the address or the store is locked after failures (too_many_auth_failures)',
      registers: [registry],
    });
    this.service = {
      commitDone: (seconds) => commitDuration.observe(seconds),
      authFailed: () => authFailures.inc(),
      rateLimited: () => rateLimited.inc(),
    };
  }

  /**
   * A counter whose running total is read when /metrics is scraped (a total the engine keeps, so
   * nothing is counted twice on the hot path).
   */
  counter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** A gauge whose value is read when /metrics is scraped. */
  gauge(name: string, help: string, read: Reading): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /** One answered HTTP request: its duration observed under its method, route pattern and status. */
  observeHttp(method: string, route: string | undefined, status: number, seconds: number): void {
    const pattern = route ?? UNMATCHED_ROUTE;
    let byMethod = this.httpSeries.get(pattern);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.httpSeries.set(pattern, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let observe = byStatus.get(status);
    if (observe === undefined) {
      observe = this.httpDuration.bind({ method, route: pattern, status: String(status) });
      byStatus.set(status, observe);
    }
    observe(seconds);
  }

  /** One RESP command answered; `command` must come from the command table (or be UNKNOWN_COMMAND). */
  observeResp(command: string, seconds: number): void {
    let observe = this.respSeries.get(command);
    if (observe === undefined) {
      observe = this.respDuration.bind({ command });
      this.respSeries.set(command, observe);
    }
    observe(seconds);
  }
}
