// The benchmark harness: starts kvs and its peers on free 127.0.0.1 ports, loads each with the
// same tool, and prints (and with --out writes) one markdown section per suite.
//
//   npm run bench -- [--suite http,resp,startup,workers,etcd,engine,attacks] [--attack NAME,...] [--duration 10] [--warmup 3]
//                    [--out BENCHMARKS.md] [--keys 10000] [--startup-keys 1000000]
//                    [--startup-runs 5] [--startup-loader engine|http] [--rounds 1] [--fast-paths on|off]
//                    [--peers-only] [--keep-temp]
//                    [--suite stall --stall-keys 1000000 --stall-expired 250000 --stall-seconds 15]
//                    [--suite scale --scale-keys 100000,1000000,10000000]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { requireBinaries } from './lib/binaries.js';
import { installCleanupHandlers, liveChildren, onAbnormalExit, stopChild } from './lib/children.js';
import { loadAverage, machineInfo, packageVersion } from './lib/machine.js';
import { renderSuite, writeSuiteSection, type RunHeader, type SuiteReport } from './lib/report.js';
import { benchKeys, benchValue } from './lib/request-set.js';
import { Session, type Settings } from './lib/session.js';
import { requireKvsBuilt } from './systems/kvs.js';
import { attackFlagOptions, attackUsage, parseAttackSettings, type AttackSettings } from './attacks/attack-settings.js';
import { attackNames, attacksBinaries, runAttacksSuite } from './suites/attacks.js';
import { engineBinaries, runEngineSuite } from './suites/engine.js';
import { etcdBinaries, runEtcdSuite } from './suites/etcd.js';
import { httpBinaries, runHttpSuite } from './suites/http.js';
import { respBinaries, runRespSuite } from './suites/resp.js';
import { runScaleSuite, scaleBinaries, type ScaleSettings } from './suites/scale.js';
import { runStallSuite, stallBinaries, type StallSettings } from './suites/stall.js';
import { runStartupSuite, startupBinaries } from './suites/startup.js';
import { runWorkersSuite, workersBinaries } from './suites/workers.js';

interface Suite {
  readonly binaries: readonly string[];
  run(session: Session): Promise<SuiteReport>;
}

const suites: Readonly<Record<string, Suite>> = {
  http: { binaries: httpBinaries, run: runHttpSuite },
  resp: { binaries: respBinaries, run: runRespSuite },
  startup: { binaries: startupBinaries, run: runStartupSuite },
  workers: { binaries: workersBinaries, run: runWorkersSuite },
  etcd: { binaries: etcdBinaries, run: runEtcdSuite },
  engine: { binaries: engineBinaries, run: runEngineSuite },
  // Not in the default list (see defaultSuites): it measures robustness, not speed.
  attacks: { binaries: attacksBinaries, run: (session) => runAttacksSuite(session, attackSettings) },
  // Not in the default list either: it loads a large store (1M keys by default).
  stall: { binaries: stallBinaries, run: (session) => runStallSuite(session, stallSettings) },
  // Not in the default list either: 10M keys take minutes to load and a few GB of disk.
  scale: { binaries: scaleBinaries, run: (session) => runScaleSuite(session, scaleSettings) },
};

const defaultSuites = ['http', 'resp', 'startup', 'workers', 'etcd', 'engine'];
let attackSettings: AttackSettings;
let stallSettings: StallSettings;
let scaleSettings: ScaleSettings;

const usage = `usage: npm run bench -- [options]
  --suite LIST            comma-separated: ${Object.keys(suites).join(',')} (default: ${defaultSuites.join(',')})
  --duration SECONDS      length of each measured run (default 10)
  --warmup SECONDS        warm-up before each measured run (default 3)
  --out FILE              write each suite's section into FILE (e.g. BENCHMARKS.md); default: print only
  --keys N                keys GET reads and PUT spreads over (default 10000)
  --connections N         load-generator connections (default 50)
  --rounds N              HTTP and resp suites: measure every system N times, taking turns, and
                          report the median round with every round's figure; the engine suite measures every
                          write path N times the same way and reports medians; the attacks suite
                          runs every attack N times; the stall suite runs its idle/route sequence
                          N times and reports every round's ratio and their median (default 1)
  --startup-keys N        keys stored for the start-up measurement (default 1000000)
  --startup-runs N        start-ups timed per store (default 5)
  --startup-loader KIND   engine (kvs's LmdbEngine, fast) or http (POST /v1/txn) (default engine)
  --fast-paths on|off     start kvs with its HTTP fast paths on (default) or off (kvs serve --fast-paths);
                          two runs, one each way, reproduce the A/B figures in src/http/*-fast-path.ts
  --stall-keys N          stall suite: live keys in the store (default 1000000; 100000 for a quick run)
  --stall-expired N       stall suite: keys expired but not yet swept (default a quarter of --stall-keys)
  --stall-seconds N       stall suite: length of each phase (default 15)
  --stall-routes LIST     stall suite: only the heavy routes whose name contains one of these
                          comma-separated words (e.g. export,KEYS), for a quick A/B (default: all)
  --scale-keys LIST       scale suite: comma-separated key counts, one fresh store each
                          (default 100000,1000000,10000000)
  --peers-only            measure only the peers (to check the harness before kvs is built)
  --keep-temp             keep the temporary directory (stores, logs, generated scripts)
${attackUsage}
Peers come from Debian: apt-get install -y wrk redis-server redis-tools webdis etcd-server`;

function positive(name: string, text: string | undefined, fallback: number, allowZero = false): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1))
    throw new Error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${text}`);
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      suite: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      out: { type: 'string' },
      keys: { type: 'string' },
      connections: { type: 'string' },
      'startup-keys': { type: 'string' },
      'startup-runs': { type: 'string' },
      'startup-loader': { type: 'string' },
      rounds: { type: 'string' },
      'fast-paths': { type: 'string' },
      'stall-keys': { type: 'string' },
      'stall-expired': { type: 'string' },
      'stall-seconds': { type: 'string' },
      'stall-routes': { type: 'string' },
      'scale-keys': { type: 'string' },
      'peers-only': { type: 'boolean', default: false },
      'keep-temp': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...attackFlagOptions,
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const selected = (values.suite ?? defaultSuites.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = selected.filter((name) => !(name in suites));
  if (unknown.length > 0 || selected.length === 0)
    throw new Error(`unknown suite(s): ${unknown.join(', ') || '(none given)'}\n${usage}`);
  attackSettings = parseAttackSettings(values, attackNames);
  const stallKeys = positive('stall-keys', values['stall-keys'], 1_000_000);
  stallSettings = {
    keys: stallKeys,
    expired: positive('stall-expired', values['stall-expired'], Math.floor(stallKeys / 4), true),
    phaseSeconds: positive('stall-seconds', values['stall-seconds'], 15),
    routeFilter: (values['stall-routes'] ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  };
  scaleSettings = {
    keyCounts: (values['scale-keys'] ?? '100000,1000000,10000000')
      .split(',')
      .map((text) => positive('scale-keys', text.trim(), 0))
      .sort((a, b) => a - b),
  };
  const loader = values['startup-loader'] ?? 'engine';
  if (loader !== 'engine' && loader !== 'http')
    throw new Error(`--startup-loader must be engine or http, got ${loader}`);
  const fastPaths = values['fast-paths'] ?? 'on';
  if (fastPaths !== 'on' && fastPaths !== 'off') throw new Error(`--fast-paths must be on or off, got ${fastPaths}`);
  const settings: Settings = {
    durationSeconds: positive('duration', values.duration, 10),
    warmupSeconds: positive('warmup', values.warmup, 3, true),
    connections: positive('connections', values.connections, 50),
    startupKeys: positive('startup-keys', values['startup-keys'], 1_000_000),
    startupRuns: positive('startup-runs', values['startup-runs'], 5),
    startupLoader: loader,
    peersOnly: values['peers-only'],
    rounds: positive('rounds', values.rounds, 1),
  };

  const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  // Fail before starting anything if a peer or kvs itself is missing.
  requireBinaries(selected.flatMap((name) => suites[name]!.binaries));
  if (!settings.peersOnly) requireKvsBuilt(repoRoot);

  installCleanupHandlers();
  const workDir = mkdtempSync(join(tmpdir(), 'kvs-bench-'));
  if (!values['keep-temp']) onAbnormalExit(() => rmSync(workDir, { recursive: true, force: true }));
  const session = new Session(
    {
      repoRoot,
      workDir,
      keys: benchKeys(positive('keys', values.keys, 10_000)),
      value: benchValue(),
      kvsFastPaths: fastPaths === 'on',
    },
    settings,
  );
  const machine = machineInfo();
  const software = [
    `Node ${machine.node}`,
    `redis-server ${packageVersion('redis-server')}`,
    `webdis ${packageVersion('webdis')}`,
    `etcd-server ${packageVersion('etcd-server')}`,
    `wrk ${packageVersion('wrk')}`,
  ].join(', ');
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  session.log(`work directory ${workDir}`);
  let failed = false;
  try {
    for (const name of selected) {
      const header: RunHeader = {
        command,
        date: new Date().toISOString(),
        machine: `${machine.cpus} CPUs (nproc), ${machine.cpuModel}, ${machine.memory} RAM, ${machine.kernel}`,
        software,
        loadAverage: loadAverage(),
      };
      session.log(`suite ${name}: start (load average ${header.loadAverage})`);
      session.currentSuite = name;
      let report: SuiteReport;
      try {
        report = await suites[name]!.run(session);
      } catch (error) {
        failed = true;
        process.stderr.write(
          `\nbench: suite ${name} FAILED: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        // Stop whatever the failed suite left running before the next suite starts.
        await Promise.all(liveChildren().map((child) => stopChild(child)));
        continue;
      }
      const markdown = renderSuite(report, header);
      process.stdout.write(`\n${markdown}\n`);
      if (values.out !== undefined) {
        writeSuiteSection(values.out, name, markdown);
        session.log(`suite ${name}: written to ${values.out}`);
      }
    }
  } finally {
    await Promise.all(liveChildren().map((child) => stopChild(child)));
    if (values['keep-temp']) session.log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  if (failed) process.stderr.write('bench: at least one suite failed; see above.\n');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
