// The scale suite: do kvs's figures stay flat as the store grows? For each key count (100k, 1M,
// 10M by default), on a fresh data directory: N keys of 100-byte values written straight into
// the lmdb store with kvs's own LmdbEngine (bench/startup/load-lmdb-store.ts), then start-up time
// (median of 3), the server's RSS, the store's size on disk, and the latency of a point GET, a
// listing page and the index page. Only the disk size is expected to grow with N.

import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { httpCall } from '../attacks/attack-http.js';
import { latencyStats, type LatencyStats } from '../attacks/latency-stats.js';
import { runToCompletion } from '../lib/children.js';
import { httpRequest } from '../lib/http-client.js';
import { formatMs, type SuiteReport, type TargetCheck } from '../lib/report.js';
import type { RequestSet } from '../lib/request-set.js';
import type { Session } from '../lib/session.js';
import { runWrk, type LoadResult } from '../lib/wrk.js';
import { systemDir } from '../systems/context.js';
import { startKvs, type KvsServer } from '../systems/kvs.js';
import { findLmdbStore } from '../startup/store-path.js';
import {
  SCALE_PREFIX,
  directoryBytes,
  processResidentSet,
  randomKeys,
  randomPrefixes,
  scaleKey,
  seededRandom,
  type ResidentSet,
} from '../scale/scale-store.js';

export const scaleBinaries = ['wrk'];

export interface ScaleSettings {
  /** Key counts, one store each, smallest first. */
  readonly keyCounts: readonly number[];
}

const STARTS = 3;
/** Distinct keys the GET load cycles through, drawn from the whole key space. */
const GET_SAMPLE = 10_000;
const LIST_LIMIT = 100;
const LIST_SAMPLE = 2_000;
const LIST_CONNECTIONS = 4;
const INDEX_REQUESTS = 200;
/** On-disk bytes per key assumed when checking free space before a load (about 2.5x the payload). */
const ESTIMATED_BYTES_PER_KEY = 300;
/** A growth ratio (figure at N / figure at the smallest N) counted as flat. */
const FLAT_RATIO = 1.5;

interface ScaleRow {
  readonly keys: number;
  readonly skipped?: string;
  readonly loadSeconds?: number;
  readonly startMs?: readonly number[];
  readonly rssReady?: ResidentSet;
  readonly rssAfter?: ResidentSet;
  readonly diskBytes?: number;
  readonly get?: LoadResult;
  readonly list?: LoadResult;
  readonly index?: LatencyStats;
  readonly indexErrors?: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function loadStore(session: Session, dataDir: string, keys: number): Promise<number> {
  // A first start lays out the store; the loader then writes into it directly.
  const first = await startKvs(session.context, { dataDir });
  await first.stop();
  const store = findLmdbStore(dataDir);
  const loader = join(session.context.repoRoot, 'dist', 'bench', 'startup', 'load-lmdb-store.js');
  session.log(`scale: loading ${keys} keys into ${store}`);
  const started = performance.now();
  const run = await runToCompletion(
    'load-lmdb-store',
    process.execPath,
    [loader, '--path', store, '--keys', String(keys), '--prefix', SCALE_PREFIX],
    90 * 60_000,
  );
  if (run.code !== 0) throw new Error(`load-lmdb-store failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  const seconds = (performance.now() - started) / 1000;
  session.log(`scale: ${run.stdout.trim()} (${seconds.toFixed(1)} s with the loader's start)`);
  return seconds;
}

async function indexPageTimes(server: KvsServer): Promise<{ stats: LatencyStats; errors: number }> {
  const port = Number(new URL(server.baseUrl).port);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  let errors = 0;
  try {
    for (let request = 0; request < INDEX_REQUESTS; request++) {
      const outcome = await httpCall({ port, path: '/', agent, timeoutMs: 30_000, keepBytes: 1 });
      if (outcome.status === 200) times.push(outcome.ms);
      else errors++;
    }
  } finally {
    agent.destroy();
  }
  return { stats: latencyStats(times), errors };
}

async function measureOne(session: Session, keys: number, seed: number): Promise<ScaleRow> {
  const { context, settings } = session;
  const dataDir = join(systemDir(context, `scale-${keys}`), 'data');
  mkdirSync(dataDir, { recursive: true });
  const free = statfsSync(dataDir);
  const freeBytes = free.bavail * free.bsize;
  const needed = 3 * keys * ESTIMATED_BYTES_PER_KEY;
  if (freeBytes < needed)
    return {
      keys,
      skipped: `skipped: ${mib(freeBytes)} free, ${mib(needed)} wanted (3× the expected store size)`,
    };
  try {
    const loadSeconds = await loadStore(session, dataDir, keys);
    const startMs: number[] = [];
    for (let start = 0; start < STARTS - 1; start++) {
      const server = await startKvs(context, { dataDir, readyTimeoutMs: 600_000 });
      startMs.push(server.readyMs);
      await server.stop();
    }
    // The last start is the one measured under load.
    const server = await startKvs(context, { dataDir, readyTimeoutMs: 600_000 });
    startMs.push(server.readyMs);
    try {
      const rssReady = processResidentSet(server.child.pid);
      const random = seededRandom(seed);
      const getSet: RequestSet = {
        method: 'GET',
        headers: {},
        lines: randomKeys(keys, Math.min(GET_SAMPLE, keys), random).map((key) => ({
          path: `/v1/kv/${encodeURIComponent(key)}`,
          body: '',
        })),
      };
      const listSet: RequestSet = {
        method: 'GET',
        headers: {},
        lines: randomPrefixes(keys, LIST_SAMPLE, LIST_LIMIT, random).map((prefix) => ({
          path: `/v1/kv?prefix=${encodeURIComponent(prefix)}&limit=${LIST_LIMIT}`,
          body: '',
        })),
      };
      // Proves the sets hit existing keys and full pages before they are used as load.
      const probe = await httpRequest(`${server.baseUrl}/v1/kv/${encodeURIComponent(scaleKey(keys - 1, keys))}`);
      if (probe.status !== 200 || probe.body !== context.value)
        throw new Error(`GET of the last key answered ${probe.status} ${probe.body.slice(0, 200)}`);
      const page = await httpRequest(`${server.baseUrl}${listSet.lines[0]!.path}`);
      if (page.status !== 200) throw new Error(`${listSet.lines[0]!.path} answered ${page.status}`);
      const wrkRun = (label: string, set: RequestSet, connections: number, seconds: number) =>
        runWrk({
          baseUrl: server.baseUrl,
          set,
          connections,
          durationSeconds: seconds,
          workDir: context.workDir,
          label,
        });
      if (settings.warmupSeconds > 0)
        await wrkRun(`scale ${keys}: warm-up`, getSet, settings.connections, settings.warmupSeconds);
      const get = await wrkRun(`scale ${keys}: GET`, getSet, settings.connections, settings.durationSeconds);
      const list = await wrkRun(`scale ${keys}: listing`, listSet, LIST_CONNECTIONS, settings.durationSeconds);
      const index = await indexPageTimes(server);
      const rssAfter = processResidentSet(server.child.pid);
      const diskBytes = directoryBytes(dataDir);
      session.log(
        `scale ${keys}: ready ${startMs.map((ms) => formatMs(ms)).join(', ')} ms; RSS ${mib(rssReady?.rss)} -> ${mib(rssAfter?.rss)} (anon ${mib(rssAfter?.anon)}, file ${mib(rssAfter?.file)}); disk ${diskBytes} B; ` +
          `GET p99 ${formatMs(get.latencyMs.p99)} ms; listing p99 ${formatMs(list.latencyMs.p99)} ms; index p99 ${formatMs(index.stats.p99)} ms`,
      );
      return {
        keys,
        loadSeconds,
        startMs,
        ...(rssReady === undefined ? {} : { rssReady }),
        ...(rssAfter === undefined ? {} : { rssAfter }),
        diskBytes,
        get,
        list,
        index: index.stats,
        indexErrors: index.errors,
      };
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One column's figure per row; undefined where the row has none (skipped, or a run with errors). */
interface Column {
  readonly name: string;
  readonly figure: (row: ScaleRow) => number | undefined;
  readonly format: (value: number) => string;
  /** Whether the goal expects this figure to stay flat (all but disk size). */
  readonly flat: boolean;
}

const ok = (result: LoadResult | undefined) => (result?.ok ? result : undefined);

const columns: readonly Column[] = [
  { name: 'load s', figure: (r) => r.loadSeconds, format: (v) => v.toFixed(1), flat: false },
  {
    name: 'start-up median ms',
    figure: (r) => (r.startMs ? median(r.startMs) : undefined),
    format: formatMs,
    flat: true,
  },
  { name: 'RSS after ready', figure: (r) => r.rssReady?.rss, format: mib, flat: true },
  { name: 'RSS after load', figure: (r) => r.rssAfter?.rss, format: mib, flat: true },
  { name: 'disk bytes', figure: (r) => r.diskBytes, format: (v) => v.toLocaleString('en-US'), flat: false },
  { name: 'GET p50 ms', figure: (r) => ok(r.get)?.latencyMs.p50, format: formatMs, flat: true },
  { name: 'GET p99 ms', figure: (r) => ok(r.get)?.latencyMs.p99, format: formatMs, flat: true },
  { name: 'listing p50 ms', figure: (r) => ok(r.list)?.latencyMs.p50, format: formatMs, flat: true },
  { name: 'listing p99 ms', figure: (r) => ok(r.list)?.latencyMs.p99, format: formatMs, flat: true },
  { name: 'index p50 ms', figure: (r) => r.index?.p50, format: formatMs, flat: true },
  { name: 'index p99 ms', figure: (r) => r.index?.p99, format: formatMs, flat: true },
];

export async function runScaleSuite(session: Session, scale: ScaleSettings): Promise<SuiteReport> {
  const title = 'Scale (issue 11)';
  if (session.settings.peersOnly)
    return { suite: 'scale', title, method: [], tables: [], targets: [], notes: ['not run (--peers-only).'] };

  const rows: ScaleRow[] = [];
  for (const [position, keys] of scale.keyCounts.entries()) {
    session.log(`scale: ${keys} keys`);
    const row = await measureOne(session, keys, 1000 + position);
    if (row.skipped !== undefined) session.log(`scale ${keys}: ${row.skipped}`);
    rows.push(row);
  }

  const base = rows.find((row) => row.skipped === undefined);
  const cell = (row: ScaleRow, column: Column) => {
    if (row.skipped !== undefined) return '–';
    const value = column.figure(row);
    return value === undefined ? 'n/a' : column.format(value);
  };
  const ratio = (row: ScaleRow, column: Column): number | undefined => {
    const value = column.figure(row);
    const baseValue = base === undefined ? undefined : column.figure(base);
    return value === undefined || baseValue === undefined || baseValue === 0 ? undefined : value / baseValue;
  };
  const larger = rows.filter((row) => row !== base && row.skipped === undefined);
  const targets: TargetCheck[] = [];
  if (base !== undefined) {
    for (const column of columns.filter((c) => c.flat)) {
      const ratios = larger.map((row) => ratio(row, column));
      const worst =
        ratios.every((r) => r !== undefined) && ratios.length > 0 ? Math.max(...(ratios as number[])) : undefined;
      targets.push({
        target: `${column.name} flat (within ${FLAT_RATIO}× of ${base.keys.toLocaleString('en-US')} keys)`,
        measured: larger
          .map(
            (row, i) =>
              `${row.keys.toLocaleString('en-US')}: ${ratios[i] === undefined ? 'n/a' : `${ratios[i]!.toFixed(2)}×`}`,
          )
          .join(', '),
        pass: worst === undefined ? undefined : worst <= FLAT_RATIO,
      });
    }
  }
  const startRuns = rows
    .filter((row) => row.startMs !== undefined)
    .map((row) => `${row.keys.toLocaleString('en-US')}: ${row.startMs!.map((ms) => formatMs(ms)).join(', ')} ms`);
  const errorRuns = rows.flatMap((row) =>
    [row.get, row.list]
      .filter((result): result is LoadResult => result !== undefined && !result.ok)
      .map((result) => `${result.label}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`)
      .concat(row.indexErrors ? [`scale ${row.keys}: index page: ${row.indexErrors} non-200 answers`] : []),
  );
  const residentSplit = rows
    .filter((row) => row.rssReady !== undefined && row.rssAfter !== undefined)
    .map(
      (row) =>
        `${row.keys.toLocaleString('en-US')}: ready ${mib(row.rssReady!.anon)} anon + ${mib(row.rssReady!.file)} file, after load ${mib(row.rssAfter!.anon)} anon + ${mib(row.rssAfter!.file)} file`,
    );
  return {
    suite: 'scale',
    title,
    method: [
      `For each key count, a fresh data directory: N keys \`${SCALE_PREFIX}0…\` of 100-byte values written with kvs's LmdbEngine (bench/startup/load-lmdb-store.ts; "load s" includes the loader's own start), then kvs started ${STARTS} times (time from spawn to \`kvs ready\`, median; the store is in the page cache, a warm start); the last server is measured, then the data directory is deleted.`,
      `RSS: VmRSS of the server process (/proc/PID/status) right after ready, and after the GET, listing and index runs. Disk: apparent bytes of every file in the data directory after the runs.`,
      `GET: wrk, ${session.settings.connections} keep-alive connections, \`GET /v1/kv/{key}\` over ${GET_SAMPLE.toLocaleString('en-US')} keys drawn at random from the whole key space, ${session.settings.durationSeconds} s (after a ${session.settings.warmupSeconds} s warm-up).`,
      `Listing: wrk, ${LIST_CONNECTIONS} connections, \`GET /v1/kv?prefix=P&limit=${LIST_LIMIT}\` over ${LIST_SAMPLE.toLocaleString('en-US')} random prefixes (a random key cut so that each prefix holds ${LIST_LIMIT} keys: every page is full), ${session.settings.durationSeconds} s.`,
      `Index page: ${INDEX_REQUESTS} sequential \`GET /\` over one keep-alive connection, timed by the harness.`,
    ],
    tables: [
      {
        headers: ['keys', ...columns.map((c) => c.name)],
        rows: rows.map((row) => [row.keys.toLocaleString('en-US'), ...columns.map((c) => cell(row, c))]),
      },
      {
        headers: ['ratio to the smallest N', ...columns.map((c) => c.name)],
        rows: larger.map((row) => [
          `${row.keys.toLocaleString('en-US')} / ${base!.keys.toLocaleString('en-US')}`,
          ...columns.map((c) => {
            const value = ratio(row, c);
            return value === undefined ? 'n/a' : `${value.toFixed(2)}×`;
          }),
        ]),
      },
    ],
    targets,
    notes: [
      `Start-up runs: ${startRuns.join('; ') || 'none'}.`,
      `RSS split (RssAnon: heap and other private memory; RssFile: mapped file pages, mostly lmdb's store, which the kernel may drop under memory pressure): ${residentSplit.join('; ') || 'n/a'}.`,
      ...rows
        .filter((row) => row.skipped !== undefined)
        .map((row) => `${row.keys.toLocaleString('en-US')} keys ${row.skipped}.`),
      ...errorRuns,
      'wrk and the harness run on the same machine as kvs.',
    ],
  };
}
