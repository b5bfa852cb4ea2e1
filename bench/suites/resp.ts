// The resp suite: redis-benchmark GET/SET at pipeline depths 1 and 16 against kvs's RESP
// listener, a bare node:net RESP server over a Map (Node's own ceiling for the protocol), the same
// with an append-only file fdatasynced per turn (Node's ceiling for a durable SET), redis-server
// without persistence, and redis-server with an fsync per write; `--rounds` times, the systems
// taking turns within each round, the median round reported next to every round.

import {
  measureResp,
  checkRespRoundTrip,
  RESP_CLIENTS,
  RESP_KEYSPACE,
  type RespResult,
  type RespTarget,
} from '../lib/redis-benchmark.js';
import { atLeast, formatMs, formatRate, formatRatio, type SuiteReport, type TargetCheck } from '../lib/report.js';
import { eachRoundCell, medianRound, roundsMethod } from '../lib/rounds.js';
import type { Session } from '../lib/session.js';
import { startKvs } from '../systems/kvs.js';
import { startNodeNetRespMap } from '../systems/node-net-resp-map.js';
import { startRedis } from '../systems/redis.js';

export const respBinaries = ['redis-server', 'redis-benchmark', 'redis-cli'];

const PIPELINES = [1, 16] as const;
const NODE_NET_PEER = 'node:net RESP + Map (bench/peers/node-net-resp-map.ts)';
const NODE_NET_AOF_POOL = 'node:net RESP + Map + AOF, fdatasync on the thread pool (--aof)';
const NODE_NET_AOF_LOOP = 'node:net RESP + Map + AOF, fdatasync on the event loop (--aof-sync loop)';

/** One system of the suite: how to start it fresh for a round, and the target it then serves. */
interface RespEntry {
  readonly system: string;
  readonly start: () => Promise<{ readonly target: RespTarget; stop(): Promise<void> }>;
}

interface RespFigures {
  readonly system: string;
  /** Per test and pipeline depth: the median round (or a round with errors, which always shows). */
  readonly results: Map<string, RespResult>;
  /** Per test and pipeline depth: every round, in order. */
  readonly rounds: Map<string, RespResult[]>;
}

const slot = (test: string, pipeline: number) => `${test}-P${pipeline}`;

/** One round of one system, already started: a RESP round trip, then SET and GET at each depth. */
async function measureTarget(session: Session, system: string, target: RespTarget): Promise<Map<string, RespResult>> {
  const { settings, context } = session;
  await checkRespRoundTrip(target, 'bench-resp-check', context.value);
  const results = new Map<string, RespResult>();
  for (const pipeline of PIPELINES) {
    // SET first: its random keys fill the keyspace that GET then reads.
    for (const test of ['set', 'get'] as const) {
      const result = await measureResp(target, test, pipeline, settings.warmupSeconds, settings.durationSeconds);
      session.log(
        `${system} ${test.toUpperCase()} -P ${pipeline}: ${result.ok ? `${Math.round(result.rps)} req/s, p99 ${result.p99Ms} ms` : `ERRORS: ${result.problem}`}`,
      );
      results.set(slot(test, pipeline), result);
    }
  }
  return results;
}

/**
 * Measures each system `settings.rounds` times: in every round each system in turn is started
 * fresh, measured, and stopped, so a slow spell of the machine falls on all of them rather than
 * on one (as Session.httpSystems does for the HTTP suites).
 */
async function measureRounds(session: Session, entries: readonly RespEntry[]): Promise<RespFigures[]> {
  const { rounds } = session.settings;
  const collected = new Map<string, Map<string, RespResult[]>>(entries.map((entry) => [entry.system, new Map()]));
  for (let round = 1; round <= rounds; round++) {
    for (const entry of entries) {
      session.log(`${entry.system}: starting${rounds > 1 ? ` (round ${round} of ${rounds})` : ''}`);
      const server = await entry.start();
      try {
        const results = await measureTarget(session, entry.system, server.target);
        const bySlot = collected.get(entry.system)!;
        for (const [key, result] of results) bySlot.set(key, [...(bySlot.get(key) ?? []), result]);
      } finally {
        await server.stop();
        session.log(`${entry.system}: stopped`);
      }
    }
  }
  return entries.map((entry) => {
    const bySlot = collected.get(entry.system)!;
    return {
      system: entry.system,
      results: new Map([...bySlot].map(([key, each]) => [key, medianRound(each)])),
      rounds: bySlot,
    };
  });
}

function ratio(a: RespResult | undefined, b: RespResult | undefined): number | undefined {
  return a === undefined || b === undefined || !a.ok || !b.ok ? undefined : a.rps / b.rps;
}

export async function runRespSuite(session: Session): Promise<SuiteReport> {
  const { context, settings } = session;
  const entries: RespEntry[] = [];
  if (!settings.peersOnly) {
    entries.push({
      system: 'kvs (lmdb, durable)',
      start: async () => {
        const kvs = await startKvs(context, { resp: true });
        return { target: { port: kvs.respPort!, password: kvs.token, pid: kvs.child.pid }, stop: () => kvs.stop() };
      },
    });
  }
  for (const [system, aofSync] of [
    [NODE_NET_PEER, undefined],
    [NODE_NET_AOF_POOL, 'pool'],
    [NODE_NET_AOF_LOOP, 'loop'],
  ] as const) {
    entries.push({
      system,
      start: async () => {
        const peer = await startNodeNetRespMap(context, aofSync);
        return { target: { port: peer.port, pid: peer.pid }, stop: () => peer.stop() };
      },
    });
  }
  for (const durable of [false, true]) {
    entries.push({
      system: durable ? 'redis-server appendfsync always' : 'redis-server (no persistence)',
      start: async () => {
        const redis = await startRedis(context, durable);
        return { target: { port: redis.port, pid: redis.pid }, stop: () => redis.stop() };
      },
    });
  }
  const figures = await measureRounds(session, entries);

  const rows: string[][] = [];
  for (const figure of figures) {
    for (const pipeline of PIPELINES) {
      for (const test of ['get', 'set'] as const) {
        const result = figure.results.get(slot(test, pipeline));
        if (result === undefined) continue;
        rows.push([
          figure.system,
          `${test.toUpperCase()} -P ${pipeline}`,
          result.ok ? formatRate(result.rps) : `ERRORS (${result.problem})`,
          result.ok ? formatMs(result.p50Ms) : '',
          result.ok ? formatMs(result.p99Ms) : '',
          result.ok && Number.isFinite(result.cpuMicrosPerRequest) ? result.cpuMicrosPerRequest.toFixed(1) : '',
          result.ok ? `${result.requests} in ${(result.requests / result.rps).toFixed(1)} s` : String(result.requests),
          eachRoundCell(figure.rounds.get(slot(test, pipeline)) ?? []),
        ]);
      }
    }
  }
  const kvs = figures.find((figure) => figure.system.startsWith('kvs'));
  const redis = figures.find((figure) => figure.system.startsWith('redis-server (no'));
  const redisAof = figures.find((figure) => figure.system.includes('always'));
  const nodeNet = figures.find((figure) => figure.system === NODE_NET_PEER);
  const nodeNetAof = figures.find((figure) => figure.system === NODE_NET_AOF_POOL);
  const nodeNetAofLoop = figures.find((figure) => figure.system === NODE_NET_AOF_LOOP);
  const pick = (figure: RespFigures | undefined, test: string, pipeline: number) =>
    figure?.results.get(slot(test, pipeline));
  const targets: TargetCheck[] = [];
  const tables = [
    {
      headers: [
        'system',
        'operation',
        'req/s (median round)',
        'p50 ms',
        'p99 ms',
        'server CPU µs/request',
        'requests measured',
        'req/s of each round',
      ],
      rows,
    },
  ];
  // What the durable SET targets ask of Node itself: its ceiling built as redis is, against redis.
  const ceiling = (label: string, peer: RespFigures | undefined) => [
    label,
    ...PIPELINES.map((p) => formatRatio(ratio(pick(peer, 'set', p), pick(redisAof, 'set', p)))),
  ];
  tables.push({
    headers: ["Node's durable SET / redis-server appendfsync always", 'SET -P 1', 'SET -P 16'],
    rows: [
      ceiling("fdatasync on the thread pool (kvs's rule)", nodeNetAof),
      ceiling("fdatasync on the event loop (redis's way)", nodeNetAofLoop),
    ],
  });
  if (kvs !== undefined) {
    targets.push(
      atLeast('GET -P 1 ≥ 0.9× redis-server', ratio(pick(kvs, 'get', 1), pick(redis, 'get', 1)), 0.9),
      atLeast('GET -P 16 ≥ 0.4× redis-server', ratio(pick(kvs, 'get', 16), pick(redis, 'get', 16)), 0.4),
      atLeast('GET -P 16 ≥ 0.8× node:net RESP + Map', ratio(pick(kvs, 'get', 16), pick(nodeNet, 'get', 16)), 0.8),
      atLeast(
        'durable SET -P 1 ≥ 1.0× redis-server appendfsync always',
        ratio(pick(kvs, 'set', 1), pick(redisAof, 'set', 1)),
        1.0,
      ),
      atLeast(
        'durable SET -P 16 ≥ 0.5× redis-server appendfsync always',
        ratio(pick(kvs, 'set', 16), pick(redisAof, 'set', 16)),
        0.5,
      ),
    );
    const ratioRow = (label: string, peer: RespFigures | undefined) => [
      label,
      ...PIPELINES.flatMap((p) => [
        formatRatio(ratio(pick(kvs, 'get', p), pick(peer, 'get', p))),
        formatRatio(ratio(pick(kvs, 'set', p), pick(peer, 'set', p))),
      ]),
    ];
    tables.push({
      headers: ['ratio', 'GET -P 1', 'SET -P 1', 'GET -P 16', 'SET -P 16'],
      rows: [
        ratioRow('kvs / node:net RESP + Map', nodeNet),
        ratioRow('kvs / node:net RESP + Map + AOF on the thread pool (SET durable)', nodeNetAof),
        ratioRow('kvs / redis-server (no persistence)', redis),
        ratioRow('kvs / redis-server appendfsync always', redisAof),
      ],
    });
  }
  return {
    suite: 'resp',
    title: 'RESP GET/SET: kvs vs redis-server',
    method: [
      `Load: redis-benchmark -c ${RESP_CLIENTS} -d 100 -r ${RESP_KEYSPACE} -t set|get -P 1 and -P 16 (-a TOKEN for kvs); each figure sized by a short probe to last about ${settings.durationSeconds} s, after a warm-up of about ${settings.warmupSeconds} s; SET runs first and fills the keyspace GET reads; ${roundsMethod(settings.rounds)} for each operation, the targets and ratios judged on it.`,
      'redis-benchmark stops at the first error reply; such a run is shown as ERRORS, and a round with errors is reported in place of the median round, so it always shows.',
      "Server CPU µs/request: the server process's user + system time (all its threads, from /proc/PID/stat) over the measured run, divided by its requests, in the median round; steadier than req/s on a shared machine, and it says what each request costs the server whichever side is the limit.",
    ],
    tables,
    targets,
    notes: [
      'redis-benchmark (one process) and the server share the same cores; at -P 1 the client is often the limit.',
      "node:net RESP + Map is Node's own ceiling for the protocol on this machine: one process, a tiny parser (bench/peers/resp-command-parser.ts), GET/SET/PING over a Map, no auth, limits or storage; kvs / it says how much of that ceiling kvs keeps.",
      "node:net RESP + Map + AOF is Node's ceiling for a durable SET: each SET appended to a file as its RESP command and answered once the file is written and fdatasynced (no history, audit, change log, index or checkpoint). Two ways: on libuv's thread pool, one batch in flight and the next gathering (the rule kvs's WAL keeps: the sync never runs on the event loop), and on the event loop thread once per turn before that turn's replies, as redis-server appendfsync always does. The ceiling table says how much of redis's durable SET Node itself reaches each way.",
      kvs === undefined
        ? 'kvs was not measured (--peers-only).'
        : 'kvs acknowledges each SET after its commit is flushed to disk (group commit), like appendfsync always.',
    ],
  };
}
