// The startup suite: time from spawning kvs to its `kvs ready` line, with an empty store and with
// many keys stored (1,000,000 by default), several runs each, median reported.

import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { runToCompletion } from '../lib/children.js';
import { httpRequest } from '../lib/http-client.js';
import { benchKeys } from '../lib/request-set.js';
import { formatMs, type SuiteReport, type TargetCheck } from '../lib/report.js';
import type { Session } from '../lib/session.js';
import { systemDir } from '../systems/context.js';
import { startKvs, type KvsServer } from '../systems/kvs.js';
import { findLmdbStore } from '../startup/store-path.js';

export const startupBinaries: string[] = [];

const PREFIX = 'startup-';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function timedStarts(
  session: Session,
  dataDir: string,
  runs: number,
  check?: (server: KvsServer) => Promise<void>,
): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const server = await startKvs(session.context, { dataDir });
    try {
      times.push(server.readyMs);
      if (run === 0 && check !== undefined) await check(server);
    } finally {
      await server.stop();
    }
  }
  return times;
}

async function loadThroughEngine(session: Session, dataDir: string, keys: number): Promise<string> {
  const store = findLmdbStore(dataDir);
  const loader = join(session.context.repoRoot, 'dist', 'bench', 'startup', 'load-lmdb-store.js');
  session.log(`loading ${keys} keys into ${store} with ${loader}`);
  const run = await runToCompletion(
    'load-lmdb-store',
    process.execPath,
    [loader, '--path', store, '--keys', String(keys), '--prefix', PREFIX],
    30 * 60_000,
  );
  if (run.code !== 0) throw new Error(`load-lmdb-store failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  return run.stdout.trim();
}

async function loadThroughHttp(session: Session, server: KvsServer, keys: number): Promise<string> {
  const started = Date.now();
  const names = benchKeys(keys, PREFIX);
  const value = session.context.value;
  const batch = 1000;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const start = next;
      next += batch;
      if (start >= names.length) return;
      const operations = names.slice(start, start + batch).map((key) => ({ op: 'put', key, value }));
      const answer = await httpRequest(`${server.baseUrl}/v1/txn`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ operations }),
        timeoutMs: 120_000,
      });
      if (answer.status !== 200)
        throw new Error(`POST /v1/txn answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      if (start % 100_000 === 0) session.log(`http loader: ${start + operations.length} keys`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return `loaded ${keys} keys through POST /v1/txn in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

export async function runStartupSuite(session: Session): Promise<SuiteReport> {
  const { context, settings } = session;
  if (settings.peersOnly) {
    return {
      suite: 'startup',
      title: 'Start-up time',
      method: [],
      tables: [],
      targets: [],
      notes: ['not run (--peers-only).'],
    };
  }
  const runs = settings.startupRuns;
  const keyCount = settings.startupKeys;

  session.log(`startup: ${runs} runs with an empty store`);
  const emptyDir = join(systemDir(context, 'startup-empty'), 'data');
  mkdirSync(emptyDir, { recursive: true });
  const emptyTimes = await timedStarts(session, emptyDir, runs);

  const loadedDir = join(systemDir(context, 'startup-loaded'), 'data');
  mkdirSync(loadedDir, { recursive: true });
  // A first start lays out the store (and a write makes sure the lmdb files exist).
  const first = await startKvs(context, { dataDir: loadedDir });
  let loadSummary: string;
  try {
    const probe = await httpRequest(`${first.baseUrl}/v1/kv/${PREFIX}probe`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${first.token}`, 'Content-Type': 'application/octet-stream' },
      body: 'probe',
    });
    if (probe.status < 200 || probe.status > 299)
      throw new Error(`probe PUT answered ${probe.status}: ${probe.body.slice(0, 300)}`);
    loadSummary = settings.startupLoader === 'http' ? await loadThroughHttp(session, first, keyCount) : '';
  } finally {
    await first.stop();
  }
  if (settings.startupLoader === 'engine') loadSummary = await loadThroughEngine(session, loadedDir, keyCount);
  session.log(loadSummary);

  const sample = benchKeys(keyCount, PREFIX).filter((_, index) => index % Math.max(1, Math.floor(keyCount / 20)) === 0);
  session.log(`startup: ${runs} runs with ${keyCount} keys`);
  const loadedTimes = await timedStarts(session, loadedDir, runs, async (server) => {
    for (const key of [...sample, `${PREFIX}probe`]) {
      const answer = await httpRequest(`${server.baseUrl}/v1/kv/${key}`);
      const expected = key.endsWith('probe') ? 'probe' : context.value;
      if (answer.status !== 200 || answer.body !== expected)
        throw new Error(`after loading, GET ${key} answered ${answer.status} ${answer.body.slice(0, 200)}`);
    }
  });

  const emptyMedian = median(emptyTimes);
  const loadedMedian = median(loadedTimes);
  const row = (label: string, times: number[]) => [
    label,
    times.map((t) => formatMs(t)).join(', '),
    formatMs(median(times)),
  ];
  const targets: TargetCheck[] = [];
  if (keyCount >= 1_000_000) {
    targets.push({
      target: `start-up with ${keyCount.toLocaleString('en-US')} keys < 1 s`,
      measured: `${formatMs(loadedMedian)} ms`,
      pass: loadedMedian < 1000,
    });
  }
  return {
    suite: 'startup',
    title: 'Start-up time',
    method: [
      `Time from spawning \`node bin/kvs.js serve --port 0 ...\` to its \`kvs ready\` line (Node's own start-up included), ${runs} runs each, median; each run's server is stopped (SIGTERM, waited for) before the next.`,
      `Store with keys: ${keyCount.toLocaleString('en-US')} keys of 100-byte values plus one probe key, ${settings.startupLoader === 'engine' ? "written with kvs's own LmdbEngine (bench/startup/load-lmdb-store.ts)" : 'written through POST /v1/txn'}: ${loadSummary}; the first timed run checks ${sample.length + 1} keys by GET.`,
      'The store was just written, so its pages are in the OS page cache (a warm start: the server restarted, the machine did not).',
    ],
    tables: [
      {
        headers: ['store', 'runs (ms)', 'median ms'],
        rows: [row('empty', emptyTimes), row(`${keyCount.toLocaleString('en-US')} keys`, loadedTimes)],
      },
      {
        headers: ['ratio', 'value'],
        rows: [[`median with keys / median empty`, `${(loadedMedian / emptyMedian).toFixed(2)}×`]],
      },
    ],
    targets,
    notes:
      keyCount < 1_000_000
        ? [`only ${keyCount} keys were stored (--startup-keys); the 1 s target is for 1,000,000.`]
        : [],
  };
}
