// One benchmark run: its settings, its log, and the figures measured so far, so a peer measured
// by one suite (webdis, the etcd gateway) is not started and measured again by another.

import type { BenchContext, HttpSystem } from '../systems/context.js';
import { sendAll } from './http-client.js';
import { medianRound } from './rounds.js';
import { runWrk, type LoadResult } from './wrk.js';

export interface Settings {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly startupKeys: number;
  readonly startupRuns: number;
  readonly startupLoader: 'engine' | 'http';
  readonly peersOnly: boolean;
  /** Measurements per system (HTTP and RESP suites); the systems take turns within each round. */
  readonly rounds: number;
}

export interface HttpFigures {
  readonly system: string;
  /** The suite that measured these figures (a later suite may reuse them). */
  readonly suite: string;
  /** The median round (or a round with errors, which always shows). */
  readonly get: LoadResult;
  readonly put: LoadResult;
  /** Every round, in order. */
  readonly getRounds: readonly LoadResult[];
  readonly putRounds: readonly LoadResult[];
}

export interface HttpEntry {
  /** Figures are cached per id for the rest of the run (a peer measured by an earlier suite). */
  readonly id: string;
  readonly start: () => Promise<HttpSystem>;
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

  /** One system: see httpSystems. */
  async http(id: string, start: () => Promise<HttpSystem>): Promise<HttpFigures> {
    return (await this.httpSystems([{ id, start }]))[0]!;
  }

  /**
   * Measures each system `settings.rounds` times: in every round each system in turn is started
   * fresh, loaded with GET then PUT, and stopped, so a slow spell of the machine falls on all of
   * them rather than on one. Figures are cached per id for the rest of the run.
   */
  async httpSystems(entries: readonly HttpEntry[]): Promise<HttpFigures[]> {
    const pending = entries.filter((entry) => !this.httpFigures.has(entry.id));
    for (const entry of entries)
      if (this.httpFigures.has(entry.id)) this.log(`${entry.id}: reusing the figures measured earlier in this run`);
    const rounds = new Map<string, { system: string; get: LoadResult[]; put: LoadResult[] }>();
    for (let round = 1; round <= this.settings.rounds; round++) {
      for (const entry of pending) {
        this.log(
          `${entry.id}: starting${this.settings.rounds > 1 ? ` (round ${round} of ${this.settings.rounds})` : ''}`,
        );
        const system = await entry.start();
        try {
          const { get, put } = await this.measure(system);
          const collected = rounds.get(entry.id) ?? { system: system.name, get: [], put: [] };
          collected.get.push(get);
          collected.put.push(put);
          rounds.set(entry.id, collected);
        } finally {
          await system.stop();
          this.log(`${entry.id}: stopped`);
        }
      }
    }
    for (const [id, collected] of rounds) {
      this.httpFigures.set(id, {
        system: collected.system,
        suite: this.currentSuite,
        get: medianRound(collected.get),
        put: medianRound(collected.put),
        getRounds: collected.get,
        putRounds: collected.put,
      });
    }
    return entries.map((entry) => this.httpFigures.get(entry.id)!);
  }

  private async measure(system: HttpSystem): Promise<{ get: LoadResult; put: LoadResult }> {
    const { keys } = this.context;
    this.log(`${system.name}: preloading ${keys.length} keys at ${system.baseUrl}`);
    await sendAll(system.baseUrl, system.putSet);
    await system.checkGet(keys[0]!);
    await system.checkGet(keys[keys.length - 1]!);
    const get = await this.load(system, 'GET', system.getSet);
    const put = await this.load(system, 'PUT', system.putSet);
    // The store must still answer correctly after the load.
    await system.checkGet(keys[Math.floor(keys.length / 2)]!);
    return { get, put };
  }

  private async load(system: HttpSystem, operation: string, set: HttpSystem['getSet']): Promise<LoadResult> {
    const common = {
      baseUrl: system.baseUrl,
      set,
      connections: this.settings.connections,
      workDir: this.context.workDir,
    };
    if (this.settings.warmupSeconds > 0) {
      const warm = await runWrk({
        ...common,
        durationSeconds: this.settings.warmupSeconds,
        label: `${system.name} ${operation} warm-up`,
      });
      this.log(
        `${system.name} ${operation} warm-up: ${Math.round(warm.rps)} req/s${warm.ok ? '' : ` (${warm.non2xx} non-2xx, ${warm.socketErrors} socket errors)`}`,
      );
    }
    const result = await runWrk({
      ...common,
      durationSeconds: this.settings.durationSeconds,
      label: `${system.name} ${operation}`,
    });
    this.log(
      `${system.name} ${operation}: ${Math.round(result.rps)} req/s, p99 ${result.latencyMs.p99.toFixed(2)} ms` +
        (result.ok ? '' : `, ERRORS: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`),
    );
    return result;
  }
}
