// One benchmark run: its settings, its log, and the figures measured so far, so a peer measured
// by one suite (webdis, the etcd gateway) is not started and measured again by another.

import type { BenchContext, HttpSystem } from '../systems/context.js';
import { sendAll } from './http-client.js';
import { runWrk, type LoadResult } from './wrk.js';

export interface Settings {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly startupKeys: number;
  readonly startupRuns: number;
  readonly startupLoader: 'engine' | 'http';
  readonly peersOnly: boolean;
}

export interface HttpFigures {
  readonly system: string;
  /** The suite that measured these figures (a later suite may reuse them). */
  readonly suite: string;
  readonly get: LoadResult;
  readonly put: LoadResult;
}

export class Session {
  private readonly httpFigures = new Map<string, HttpFigures>();
  /** Set by the runner before each suite. */
  currentSuite = '';

  constructor(
    readonly context: BenchContext,
    readonly settings: Settings,
  ) {}

  log(message: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  }

  /** Starts the system, measures GET then PUT, stops it; cached per `id` for the rest of the run. */
  async http(id: string, start: () => Promise<HttpSystem>): Promise<HttpFigures> {
    const cached = this.httpFigures.get(id);
    if (cached !== undefined) {
      this.log(`${id}: reusing the figures measured earlier in this run`);
      return cached;
    }
    this.log(`${id}: starting`);
    const system = await start();
    try {
      const figures = await this.measure(system);
      this.httpFigures.set(id, figures);
      return figures;
    } finally {
      await system.stop();
      this.log(`${id}: stopped`);
    }
  }

  private async measure(system: HttpSystem): Promise<HttpFigures> {
    const { keys } = this.context;
    this.log(`${system.name}: preloading ${keys.length} keys at ${system.baseUrl}`);
    await sendAll(system.baseUrl, system.putSet);
    await system.checkGet(keys[0]!);
    await system.checkGet(keys[keys.length - 1]!);
    const get = await this.load(system, 'GET', system.getSet);
    const put = await this.load(system, 'PUT', system.putSet);
    // The store must still answer correctly after the load.
    await system.checkGet(keys[Math.floor(keys.length / 2)]!);
    return { system: system.name, suite: this.currentSuite, get, put };
  }

  private async load(system: HttpSystem, operation: string, set: HttpSystem['getSet']): Promise<LoadResult> {
    const common = { baseUrl: system.baseUrl, set, connections: this.settings.connections, workDir: this.context.workDir };
    if (this.settings.warmupSeconds > 0) {
      const warm = await runWrk({ ...common, durationSeconds: this.settings.warmupSeconds, label: `${system.name} ${operation} warm-up` });
      this.log(`${system.name} ${operation} warm-up: ${Math.round(warm.rps)} req/s${warm.ok ? '' : ` (${warm.non2xx} non-2xx, ${warm.socketErrors} socket errors)`}`);
    }
    const result = await runWrk({ ...common, durationSeconds: this.settings.durationSeconds, label: `${system.name} ${operation}` });
    this.log(
      `${system.name} ${operation}: ${Math.round(result.rps)} req/s, p99 ${result.latencyMs.p99.toFixed(2)} ms` +
        (result.ok ? '' : `, ERRORS: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`),
    );
    return result;
  }
}
