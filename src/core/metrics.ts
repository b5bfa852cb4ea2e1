// The Prometheus metrics of one kvs process (docs/observability.md lists them): Node's stock
// process metrics, build info, HTTP and RESP latency histograms, commit latency, refused tokens,
// and gauges read at scrape time. Every label has a bounded set of values: HTTP routes are
// Fastify's route patterns (never the URL), RESP commands are names from the command table.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
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

type Observe = (seconds: number) => void;

export class KvsMetrics {
  readonly registry = new Registry();
  /** Handed to the core service (KvService options.observer). */
  readonly service: ServiceObserver;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly respDuration: Histogram<'command'>;
  /** Bound histogram children by label key: prom-client's labels() hashes its argument on every call. */
  private readonly httpChildren = new Map<string, Observe>();
  private readonly respChildren = new Map<string, Observe>();
  // A plain map increment per request, folded into kvs_http_requests_total at scrape time (as cheap
  // as it gets on the read fast path).
  private readonly requestCounts = new Map<string, number>();
  private readonly requestsFolded = new Map<string, number>();

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
    const counts = this.requestCounts;
    const folded = this.requestsFolded;
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
    this.httpDuration = new Histogram({
      name: 'kvs_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to answering it, by method, route pattern and status code (watch streams: their whole life)',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.respDuration = new Histogram({
      name: 'kvs_resp_command_duration_seconds',
      help: `Time from taking a RESP command to its reply being ready, by command ("${UNKNOWN_COMMAND}" for commands kvs does not know)`,
      labelNames: ['command'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
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

  /** One answered HTTP request: counted, and its duration observed under its route pattern. */
  observeHttp(method: string, route: string | undefined, status: number, seconds: number): void {
    const counted = `${method} ${status}`;
    this.requestCounts.set(counted, (this.requestCounts.get(counted) ?? 0) + 1);
    const key = `${counted} ${route ?? UNMATCHED_ROUTE}`;
    let observe = this.httpChildren.get(key);
    if (observe === undefined) {
      observe = this.child(this.httpDuration, { method, route: route ?? UNMATCHED_ROUTE, status });
      this.httpChildren.set(key, observe);
    }
    observe(seconds);
  }

  /** One RESP command answered; `command` must come from the command table (or be UNKNOWN_COMMAND). */
  observeResp(command: string, seconds: number): void {
    let observe = this.respChildren.get(command);
    if (observe === undefined) {
      observe = this.child(this.respDuration, { command });
      this.respChildren.set(command, observe);
    }
    observe(seconds);
  }

  private child<T extends string>(histogram: Histogram<T>, labels: LabelValues<T>): Observe {
    const bound = histogram.labels(labels);
    return (seconds) => bound.observe(seconds);
  }
}
