// The stall suite: does any request hold the event loop long enough to stall everybody else?
// One kvs over a large store (N live keys, E keys expired but not yet swept, one hot key that
// fills the change log), 50 connections of plain HTTP GETs (wrk), and in each phase one client
// that hits one heavy route back to back. Each heavy phase sits between two idle phases (plain GETs
// only), and its GETs' p99 is compared with theirs: on a shared 2-core machine the idle p99 drifts
// over a run, so one idle phase at the start made the ratios of later phases mostly drift. The
// whole sequence runs --rounds times; reported per route: each round's ratio, their median, and
// the server's own worst event-loop delay (perf_hooks.monitorEventLoopDelay, read through
// KVS_EVENT_LOOP_DELAY_REPORT: src/core/event-loop-delay-report.ts), with the CPU the server and
// the harness (which runs the heavy client) spent per second of each phase.

import { mkdirSync } from 'node:fs';
import { Agent } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { httpCall } from '../attacks/attack-http.js';
import { latencyStats } from '../attacks/latency-stats.js';
import { runToCompletion } from '../lib/children.js';
import { processCpuMs } from '../lib/process-cpu.js';
import { httpRequest } from '../lib/http-client.js';
import { formatMs, type SuiteReport, type TargetCheck } from '../lib/report.js';
import { benchKeys } from '../lib/request-set.js';
import type { Session } from '../lib/session.js';
import { runWrk, type LoadResult } from '../lib/wrk.js';
import { systemDir } from '../systems/context.js';
import { startKvs, type KvsServer } from '../systems/kvs.js';
import { findLmdbStore } from '../startup/store-path.js';

export const stallBinaries = ['wrk'];

export interface StallSettings {
  /** Live keys in the store. */
  readonly keys: number;
  /** Keys expired but not yet swept (the sweeper is held off for the run). */
  readonly expired: number;
  /** Length of each phase's measured load. */
  readonly phaseSeconds: number;
  /** Only the heavy routes whose name contains one of these (case-insensitive); every route when empty. */
  readonly routeFilter: readonly string[];
}

const LIVE_PREFIX = 'stall/';
const EXPIRED_PREFIX = 'exp/';
const HOT_KEY = 'stall-hot';
const LOG_LENGTH = 1000;
const HOT_WRITES = 1200;
/** Plain GETs spread over this many of the live keys. */
const GET_KEYS = 10_000;
/** What `?k=` may carry: the URL limit (--max-url-bytes, 8192) less room for the path. */
const SEED_LIST_URL_BYTES = 8000;

interface Phase {
  readonly name: string;
  /** One request of the heavy route; undefined for the idle phase. */
  readonly heavy?: () => Promise<void>;
}

interface PhaseResult {
  readonly name: string;
  readonly get: LoadResult;
  readonly heavyCount: number;
  readonly heavyErrors: number;
  readonly heavyP50: number;
  readonly heavyMax: number;
  readonly loopDelay: LoopDelay | undefined;
  /** CPU the server and the harness (the heavy client, ioredis or node:http) used, ms per second. */
  readonly serverCpu: number;
  readonly harnessCpu: number;
  /** The 1-minute load average as the phase started. */
  readonly loadAverage: number;
}

function harnessCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface LoopDelay {
  readonly maxMs: number;
  readonly p99Ms: number;
}

/** Reads the server's event-loop delay since the previous read (SIGUSR2, one stderr line back). */
class LoopDelayReader {
  private readonly waiting: ((delay: LoopDelay | undefined) => void)[] = [];
  private partial = '';

  constructor(private readonly server: KvsServer) {
    server.child.process.stderr!.on('data', (text: string) => {
      this.partial += text;
      let newline = this.partial.indexOf('\n');
      while (newline >= 0) {
        const line = this.partial.slice(0, newline);
        this.partial = this.partial.slice(newline + 1);
        const match = line.match(/kvs event-loop delay: (?:max ([\d.]+) ms, p99 ([\d.]+) ms|no samples)/);
        if (match) {
          const delay = match[1] === undefined ? undefined : { maxMs: Number(match[1]), p99Ms: Number(match[2]) };
          this.waiting.shift()?.(delay);
        }
        newline = this.partial.indexOf('\n');
      }
    });
  }

  async read(): Promise<LoopDelay | undefined> {
    const answer = new Promise<LoopDelay | undefined>((resolve) => this.waiting.push(resolve));
    process.kill(this.server.child.pid, 'SIGUSR2');
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000).unref());
    return Promise.race([answer, timeout]);
  }
}

async function loadStore(session: Session, store: string, args: readonly string[]): Promise<string> {
  const loader = join(session.context.repoRoot, 'dist', 'bench', 'startup', 'load-lmdb-store.js');
  const run = await runToCompletion(
    'load-lmdb-store',
    process.execPath,
    [loader, '--path', store, ...args],
    60 * 60_000,
  );
  if (run.code !== 0) throw new Error(`load-lmdb-store failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  return run.stdout.trim();
}

/** The keys of one `?k=` request: as many live keys as fit in the URL. */
function seedListQuery(keys: readonly string[]): string {
  let query = '/?k=';
  for (const key of keys) {
    const next = `${query}${query.endsWith('=') ? '' : ','}${encodeURIComponent(key)}`;
    if (next.length > SEED_LIST_URL_BYTES) break;
    query = next;
  }
  return query;
}

function heavyRoutes(server: KvsServer, liveKeys: readonly string[], redis: Redis, agent: Agent): Phase[] {
  const port = Number(new URL(server.baseUrl).port);
  const get = async (path: string): Promise<string> => {
    const outcome = await httpCall({ port, path, agent, timeoutMs: 120_000, keepBytes: 1 << 20 });
    if (outcome.status !== 200) throw new Error(`GET ${path.slice(0, 80)}: ${outcome.status || outcome.error}`);
    return outcome.body;
  };
  const seedList = seedListQuery(liveKeys.filter((_, index) => index % 97 === 0));
  let scanCursor = '0';
  let exportAfter: string | null = null;
  return [
    { name: 'GET / (index page)', heavy: async () => void (await get('/')) },
    {
      name: `GET /v1/kv?prefix=${EXPIRED_PREFIX}&limit=50 (over expired keys)`,
      heavy: async () => void (await get(`/v1/kv?prefix=${encodeURIComponent(EXPIRED_PREFIX)}&limit=50`)),
    },
    { name: `GET /?k= (${seedList.split(',').length} keys)`, heavy: async () => void (await get(seedList)) },
    { name: 'RESP KEYS *7', heavy: async () => void (await redis.call('KEYS', '*7')) },
    {
      name: 'RESP SCAN cursor MATCH *7 COUNT 1000 (whole store, round and round)',
      heavy: async () => {
        const [next] = (await redis.call('SCAN', scanCursor, 'MATCH', '*7', 'COUNT', '1000')) as [string, string[]];
        scanCursor = next;
      },
    },
    { name: 'RESP DBSIZE', heavy: async () => void (await redis.call('DBSIZE')) },
    { name: 'RESP RANDOMKEY', heavy: async () => void (await redis.call('RANDOMKEY')) },
    {
      name: 'export (GET /v1/kv?values=1&limit=1000 page after page, round and round)',
      heavy: async () => {
        const after = exportAfter === null ? '' : `&after=${encodeURIComponent(exportAfter)}`;
        const page = JSON.parse(await get(`/v1/kv?values=1&limit=1000${after}`)) as { next: string | null };
        exportAfter = page.next;
      },
    },
  ];
}

async function runPhase(
  session: Session,
  server: KvsServer,
  delays: LoopDelayReader,
  phase: Phase,
  getSet: Parameters<typeof runWrk>[0]['set'],
  seconds: number,
): Promise<PhaseResult> {
  await delays.read(); // starts the phase's delay histogram afresh
  const loadAverage = loadavg()[0]!;
  const cpuStarted = { server: processCpuMs(server.child.pid), harness: harnessCpuMs(), at: performance.now() };
  let running = true;
  const times: number[] = [];
  let heavyErrors = 0;
  let firstError = '';
  const heavyLoop = (async () => {
    if (phase.heavy === undefined) return;
    while (running) {
      const started = performance.now();
      try {
        await phase.heavy();
        times.push(performance.now() - started);
      } catch (error) {
        heavyErrors++;
        if (firstError === '') firstError = error instanceof Error ? error.message : String(error);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  })();
  const get = await runWrk({
    baseUrl: server.baseUrl,
    set: getSet,
    connections: session.settings.connections,
    durationSeconds: seconds,
    workDir: session.context.workDir,
    label: `stall: plain GETs during ${phase.name}`,
  });
  running = false;
  await heavyLoop;
  const elapsedSeconds = (performance.now() - cpuStarted.at) / 1000;
  const serverCpu = (processCpuMs(server.child.pid) - cpuStarted.server) / elapsedSeconds;
  const harnessCpu = (harnessCpuMs() - cpuStarted.harness) / elapsedSeconds;
  const loopDelay = await delays.read();
  const heavy = latencyStats(times);
  session.log(
    `stall: ${phase.name}: GET ${Math.round(get.rps)} req/s, p50 ${formatMs(get.latencyMs.p50)} p99 ${formatMs(get.latencyMs.p99)} max ${formatMs(get.latencyMs.max)} ms; ` +
      `heavy ${heavy.count} requests (p50 ${formatMs(heavy.p50)} ms, max ${formatMs(heavy.max)} ms, ${heavyErrors} errors${firstError ? `: ${firstError}` : ''}); ` +
      `event-loop max ${loopDelay === undefined ? 'n/a' : `${formatMs(loopDelay.maxMs)} ms`}; ` +
      `CPU ms/s: server ${Math.round(serverCpu)}, harness ${Math.round(harnessCpu)}; load average ${loadAverage.toFixed(2)}`,
  );
  return {
    name: phase.name,
    get,
    heavyCount: heavy.count,
    heavyErrors,
    heavyP50: heavy.p50,
    heavyMax: heavy.max,
    loopDelay,
    serverCpu,
    harnessCpu,
    loadAverage,
  };
}

export async function runStallSuite(session: Session, settings: StallSettings): Promise<SuiteReport> {
  const { context } = session;
  const title = `Stall: plain GETs while one client hits a heavy route (${settings.keys.toLocaleString('en-US')} keys)`;
  if (session.settings.peersOnly)
    return { suite: 'stall', title, method: [], tables: [], targets: [], notes: ['not run (--peers-only).'] };

  const dataDir = join(systemDir(context, 'stall'), 'data');
  mkdirSync(dataDir, { recursive: true });
  // A first start lays out the store; the loader then writes into it directly.
  const first = await startKvs(context, { dataDir });
  try {
    const probe = await httpRequest(`${first.baseUrl}/v1/kv/${LIVE_PREFIX}probe`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${first.token}`, 'Content-Type': 'application/octet-stream' },
      body: 'probe',
    });
    if (probe.status !== 200 && probe.status !== 201) throw new Error(`probe PUT answered ${probe.status}`);
  } finally {
    await first.stop();
  }
  const store = findLmdbStore(dataDir);
  const loadStarted = performance.now();
  session.log(`stall: loading ${settings.keys} live keys and ${settings.expired} expiring keys into ${store}`);
  const liveLoad = await loadStore(session, store, ['--keys', String(settings.keys), '--prefix', LIVE_PREFIX]);
  const expiredLoad =
    settings.expired > 0
      ? await loadStore(session, store, [
          '--keys',
          String(settings.expired),
          '--prefix',
          EXPIRED_PREFIX,
          '--expires-in-ms',
          '1',
        ])
      : 'none';
  const loadSeconds = (performance.now() - loadStarted) / 1000;

  // The sweeper is held off (one sweep a day) so that the expired keys stay for the whole run:
  // the state a store is in when expiries come faster than the sweeper's 2,000 keys/s.
  const server = await startKvs(context, {
    dataDir,
    resp: true,
    readyTimeoutMs: 600_000,
    extraArgs: ['--log-length', String(LOG_LENGTH), '--sweep-interval-ms', String(86_400_000)],
    env: { KVS_EVENT_LOOP_DELAY_REPORT: '1' },
  });
  const redis = new Redis({ host: '127.0.0.1', port: server.respPort!, lazyConnect: true, maxRetriesPerRequest: 0 });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  /** Per round: the idle phases (one more than the routes) and the routes' phases. */
  const rounds: { idle: PhaseResult[]; routes: PhaseResult[] }[] = [];
  let hotSeconds = 0;
  try {
    await redis.connect();
    await redis.call('AUTH', server.token);
    const hotStarted = performance.now();
    for (let written = 0; written < HOT_WRITES; written += 100) {
      const pipeline = redis.pipeline();
      for (let index = written; index < Math.min(HOT_WRITES, written + 100); index++)
        pipeline.set(HOT_KEY, `position-${index}`);
      await pipeline.exec();
    }
    hotSeconds = (performance.now() - hotStarted) / 1000;
    const liveKeys = benchKeys(settings.keys, LIVE_PREFIX);
    const step = Math.max(1, Math.floor(liveKeys.length / GET_KEYS));
    const getSet = {
      method: 'GET' as const,
      headers: {},
      lines: liveKeys
        .filter((_, index) => index % step === 0)
        .map((key) => ({ path: `/v1/kv/${encodeURIComponent(key)}`, body: '' })),
    };
    const check = await httpRequest(`${server.baseUrl}${getSet.lines[0]!.path}`);
    if (check.status !== 200) throw new Error(`GET ${getSet.lines[0]!.path} answered ${check.status}`);
    const delays = new LoopDelayReader(server);
    if (session.settings.warmupSeconds > 0) {
      await runWrk({
        baseUrl: server.baseUrl,
        set: getSet,
        connections: session.settings.connections,
        durationSeconds: session.settings.warmupSeconds,
        workDir: context.workDir,
        label: 'stall: warm-up',
      });
    }
    const routes = heavyRoutes(server, liveKeys, redis, agent).filter(
      (route) =>
        settings.routeFilter.length === 0 ||
        settings.routeFilter.some((part) => route.name.toLowerCase().includes(part.toLowerCase())),
    );
    if (routes.length === 0) throw new Error(`--stall-routes ${settings.routeFilter.join(',')} names no heavy route`);
    const idlePhase: Phase = { name: 'idle (plain GETs only)' };
    const roundCount = session.settings.rounds;
    for (let round = 1; round <= roundCount; round++) {
      session.log(`stall: round ${round} of ${roundCount}`);
      const measured = {
        idle: [await runPhase(session, server, delays, idlePhase, getSet, settings.phaseSeconds)],
        routes: [] as PhaseResult[],
      };
      for (const route of routes) {
        measured.routes.push(await runPhase(session, server, delays, route, getSet, settings.phaseSeconds));
        measured.idle.push(await runPhase(session, server, delays, idlePhase, getSet, settings.phaseSeconds));
      }
      rounds.push(measured);
    }
  } finally {
    redis.disconnect();
    agent.destroy();
    await server.stop();
  }

  const ratioOf = (round: (typeof rounds)[number], index: number): number | undefined => {
    const [before, phase, after] = [round.idle[index]!, round.routes[index]!, round.idle[index + 1]!];
    if (!before.get.ok || !phase.get.ok || !after.get.ok) return undefined;
    return phase.get.latencyMs.p99 / ((before.get.latencyMs.p99 + after.get.latencyMs.p99) / 2);
  };
  const idleNoise = (round: (typeof rounds)[number]): number | undefined => {
    let worst = 1;
    for (let index = 1; index < round.idle.length; index++) {
      const [a, b] = [round.idle[index - 1]!, round.idle[index]!];
      if (!a.get.ok || !b.get.ok) return undefined;
      worst = Math.max(worst, a.get.latencyMs.p99 / b.get.latencyMs.p99, b.get.latencyMs.p99 / a.get.latencyMs.p99);
    }
    return worst;
  };
  const rateCell = (rate: number) => (rate < 10 ? rate.toFixed(1) : String(Math.round(rate)));
  const ratioCell = (ratio: number | undefined) => (ratio === undefined ? 'errors' : `${ratio.toFixed(2)}×`);
  const routeCount = rounds[0]?.routes.length ?? 0;
  const targets: TargetCheck[] = [];
  const rows: string[][] = [];
  for (let index = 0; index < routeCount; index++) {
    const phases = rounds.map((round) => round.routes[index]!);
    const name = phases[0]!.name;
    const ratios = rounds.map((round) => ratioOf(round, index));
    const clean = ratios.every((ratio) => ratio !== undefined);
    const medianRatio = clean ? median(ratios as number[]) : undefined;
    const delays = phases.map((phase) => phase.loopDelay);
    const loopMax = delays.every((delay) => delay !== undefined)
      ? Math.max(...delays.map((delay) => delay!.maxMs))
      : undefined;
    const pass = medianRatio === undefined || loopMax === undefined ? undefined : medianRatio <= 2 && loopMax < 50;
    const heavyErrors = phases.reduce((sum, phase) => sum + phase.heavyErrors, 0);
    rows.push([
      name,
      ...ratios.map(ratioCell),
      medianRatio === undefined ? 'n/a' : `${medianRatio.toFixed(2)}×`,
      loopMax === undefined ? 'not read' : formatMs(loopMax),
      rateCell(median(phases.map((phase) => phase.heavyCount / settings.phaseSeconds))) +
        (heavyErrors > 0 ? ` (${heavyErrors} errors)` : ''),
      String(Math.round(median(phases.map((phase) => phase.serverCpu)))),
      String(Math.round(median(phases.map((phase) => phase.harnessCpu)))),
      pass === undefined ? 'n/a' : pass ? 'pass' : 'MISS',
    ]);
    targets.push({
      target: `${name}: plain GET p99 within 2× idle (median over rounds)`,
      measured: medianRatio === undefined ? 'n/a (errors)' : `${medianRatio.toFixed(2)}×`,
      pass: medianRatio === undefined ? undefined : medianRatio <= 2,
    });
    targets.push({
      target: `${name}: event-loop max delay < 50 ms (worst round)`,
      measured: loopMax === undefined ? 'not read' : `${formatMs(loopMax)} ms`,
      pass: loopMax === undefined ? undefined : loopMax < 50,
    });
  }
  const idlePhases = rounds.flatMap((round) => round.idle);
  const noise = rounds.map(idleNoise);
  const noiseClean = noise.every((ratio) => ratio !== undefined);
  rows.push([
    `idle noise: idle p99 over its neighbour's, worst pair (idle p99 ${idlePhases.length > 0 ? `${formatMs(Math.min(...idlePhases.map((phase) => phase.get.latencyMs.p99)))}-${formatMs(Math.max(...idlePhases.map((phase) => phase.get.latencyMs.p99)))}` : 'n/a'} ms)`,
    ...noise.map(ratioCell),
    noiseClean ? `${median(noise as number[]).toFixed(2)}×` : 'n/a',
    idlePhases.every((phase) => phase.loopDelay !== undefined)
      ? formatMs(Math.max(...idlePhases.map((phase) => phase.loopDelay!.maxMs)))
      : 'not read',
    '–',
    String(Math.round(median(idlePhases.map((phase) => phase.serverCpu)))),
    String(Math.round(median(idlePhases.map((phase) => phase.harnessCpu)))),
    '–',
  ]);
  return {
    suite: 'stall',
    title,
    method: [
      `Store: ${settings.keys.toLocaleString('en-US')} live keys (\`${LIVE_PREFIX}…\`, 100-byte values) and ${settings.expired.toLocaleString('en-US')} keys under \`${EXPIRED_PREFIX}\` that expired at once and are never swept during the run (\`--sweep-interval-ms 86400000\`), written with kvs's LmdbEngine (bench/startup/load-lmdb-store.ts) in ${loadSeconds.toFixed(1)} s (${liveLoad}; expiring: ${expiredLoad}); then \`--log-length ${LOG_LENGTH}\` and one hot key SET ${HOT_WRITES} times over RESP (${hotSeconds.toFixed(1)} s), so the whole change log is that one key.`,
      `Plain GETs: wrk, ${session.settings.connections} connections, \`GET /v1/kv/{key}\` over ${Math.min(GET_KEYS, settings.keys).toLocaleString('en-US')} of the live keys, ${settings.phaseSeconds} s per phase (after a ${session.settings.warmupSeconds} s warm-up before the first); ${rounds.length} round(s), each: idle, route 1, idle, route 2, …, idle.`,
      "Heavy client: one connection (HTTP keep-alive, or RESP with ioredis) sending the phase's heavy request back to back, each after the previous answer.",
      "p99 / idle: the phase's plain-GET p99 over the mean of the two idle phases around it (same round); median over the rounds. Idle noise: the two idle phases around each route compared with each other (the larger over the smaller), the round's worst.",
      "Event-loop delay: the server's perf_hooks.monitorEventLoopDelay (5 ms resolution) over the phase, read with SIGUSR2 under KVS_EVENT_LOOP_DELAY_REPORT=1 (src/core/event-loop-delay-report.ts); the worst phase over the rounds. CPU: ms of CPU per second of the phase, from /proc for the server and process.cpuUsage() for the harness (which runs the heavy client), median over the rounds.",
    ],
    tables: [
      {
        headers: [
          'heavy route',
          ...rounds.map((_, index) => `round ${index + 1} p99 / idle`),
          'median',
          'event-loop max ms',
          'heavy req/s',
          'server CPU ms/s',
          'harness CPU ms/s',
          'verdict',
        ],
        rows,
      },
    ],
    targets,
    notes: [
      'wrk and the heavy client run on the same machine as kvs (2 cores shared): a heavy route that costs CPU takes it from the GETs whether or not it blocks the event loop, so the GET p99 ratio mixes the two; the event-loop delay is the stall itself.',
      "The server's CPU column shows kvs's one thread near 1,000 ms/s already in the idle phases (50 closed-loop connections keep it busy): every ms of CPU the heavy route takes is taken from the plain GETs however it is sliced, so a route that costs much CPU raises their p99 even with no long turn. The idle-noise row is the floor: a route's ratio below it says nothing.",
      '`export` is measured as the requests `kvs export` sends (pages of GET /v1/kv?values=1), issued from the harness rather than by spawning the CLI.',
      "The expiring keys are written after the live ones, so they are the newest by modRevision: every `GET /` passes over 1000 of them (its bound, docs/limits.md) and lists only the hot key, the index page's most expensive case.",
    ],
  };
}
