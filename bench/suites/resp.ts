// The resp suite: redis-benchmark GET/SET at pipeline depths 1 and 16 against kvs's RESP
// listener, a bare node:net RESP server over a Map (Node's own ceiling for the protocol),
// redis-server without persistence, and redis-server with an fsync per write.

import {
  measureResp,
  checkRespRoundTrip,
  RESP_CLIENTS,
  RESP_KEYSPACE,
  type RespResult,
  type RespTarget,
} from '../lib/redis-benchmark.js';
import { formatMs, formatRate, formatRatio, type SuiteReport, type TargetCheck } from '../lib/report.js';
import type { Session } from '../lib/session.js';
import { startKvs } from '../systems/kvs.js';
import { startNodeNetRespMap } from '../systems/node-net-resp-map.js';
import { startRedis } from '../systems/redis.js';

export const respBinaries = ['redis-server', 'redis-benchmark', 'redis-cli'];

const PIPELINES = [1, 16] as const;
const NODE_NET_PEER = 'node:net RESP + Map (bench/peers/node-net-resp-map.ts)';

interface RespFigures {
  readonly system: string;
  readonly results: Map<string, RespResult>;
}

const slot = (test: string, pipeline: number) => `${test}-P${pipeline}`;

async function measureTarget(session: Session, system: string, target: RespTarget): Promise<RespFigures> {
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
  return { system, results };
}

function ratio(a: RespResult | undefined, b: RespResult | undefined): number | undefined {
  return a === undefined || b === undefined || !a.ok || !b.ok ? undefined : a.rps / b.rps;
}

export async function runRespSuite(session: Session): Promise<SuiteReport> {
  const { context, settings } = session;
  const figures: RespFigures[] = [];
  if (!settings.peersOnly) {
    session.log('kvs (RESP): starting');
    const kvs = await startKvs(context, { resp: true });
    try {
      figures.push(await measureTarget(session, 'kvs (lmdb, durable)', { port: kvs.respPort!, password: kvs.token }));
    } finally {
      await kvs.stop();
    }
  }
  session.log('node:net RESP + Map: starting');
  const peer = await startNodeNetRespMap(context);
  try {
    figures.push(await measureTarget(session, NODE_NET_PEER, { port: peer.port }));
  } finally {
    await peer.stop();
  }
  for (const durable of [false, true]) {
    const name = durable ? 'redis-server appendfsync always' : 'redis-server (no persistence)';
    session.log(`${name}: starting`);
    const redis = await startRedis(context, durable);
    try {
      figures.push(await measureTarget(session, name, { port: redis.port }));
    } finally {
      await redis.stop();
    }
  }

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
          result.ok ? `${result.requests} in ${(result.requests / result.rps).toFixed(1)} s` : String(result.requests),
        ]);
      }
    }
  }
  const kvs = figures.find((figure) => figure.system.startsWith('kvs'));
  const redis = figures.find((figure) => figure.system.startsWith('redis-server (no'));
  const redisAof = figures.find((figure) => figure.system.includes('always'));
  const nodeNet = figures.find((figure) => figure.system === NODE_NET_PEER);
  const pick = (figure: RespFigures | undefined, test: string, pipeline: number) =>
    figure?.results.get(slot(test, pipeline));
  const targets: TargetCheck[] = [];
  const tables = [{ headers: ['system', 'operation', 'req/s', 'p50 ms', 'p99 ms', 'requests measured'], rows }];
  if (kvs !== undefined) {
    const check = (target: string, value: number | undefined, minimum: number): TargetCheck => ({
      target,
      measured: formatRatio(value),
      pass: value === undefined ? undefined : value >= minimum,
    });
    targets.push(
      check('GET -P 1 ≥ 0.9× redis-server', ratio(pick(kvs, 'get', 1), pick(redis, 'get', 1)), 0.9),
      check('GET -P 16 ≥ 0.4× redis-server', ratio(pick(kvs, 'get', 16), pick(redis, 'get', 16)), 0.4),
      check(
        'durable SET -P 1 ≥ 1.0× redis-server appendfsync always',
        ratio(pick(kvs, 'set', 1), pick(redisAof, 'set', 1)),
        1.0,
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
        ratioRow('kvs / redis-server (no persistence)', redis),
        ratioRow('kvs / redis-server appendfsync always', redisAof),
      ],
    });
  }
  return {
    suite: 'resp',
    title: 'RESP GET/SET: kvs vs redis-server',
    method: [
      `Load: redis-benchmark -c ${RESP_CLIENTS} -d 100 -r ${RESP_KEYSPACE} -t set|get -P 1 and -P 16 (-a TOKEN for kvs); each figure sized by a short probe to last about ${settings.durationSeconds} s, after a warm-up of about ${settings.warmupSeconds} s; SET runs first and fills the keyspace GET reads.`,
      'redis-benchmark stops at the first error reply; such a run is shown as ERRORS.',
    ],
    tables,
    targets,
    notes: [
      'redis-benchmark (one process) and the server share the same cores; at -P 1 the client is often the limit.',
      "node:net RESP + Map is Node's own ceiling for the protocol on this machine: one process, a tiny parser (bench/peers/resp-command-parser.ts), GET/SET/PING over a Map, no auth, limits or storage; kvs / it says how much of that ceiling kvs keeps.",
      kvs === undefined
        ? 'kvs was not measured (--peers-only).'
        : 'kvs acknowledges each SET after its commit is flushed to disk (group commit), like appendfsync always.',
    ],
  };
}
