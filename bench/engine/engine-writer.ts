// One cell of the engine benchmark, run as its own process so that its CPU time and its
// /proc/self/io counters are its own: W concurrent writers in a closed loop (each starts its next
// write when the previous one is acknowledged), each putting a 100-byte value under a random key
// among N, on a fresh store in DIR. The keys are written once first, so every measured write is an
// overwrite, and the change log is full (steady state: each commit also trims one entry).
// Prints one JSON line (EngineCellResult) on stdout.
//
//   node dist/bench/engine/engine-writer.js --mode wal|lmdb|raw --dir DIR --writers 50
//        [--keys 10000] [--warmup 3] [--duration 10] [--log-length 10000] [--value-bytes 100]

import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { benchKeys, benchValue } from '../lib/request-set.js';
import { deviceStatFile, readIoCounters } from './io-counters.js';
import { openWriteTarget, type WalCounts, type WriteMode, writeModes } from './write-targets.js';

export interface EngineCellResult {
  readonly mode: WriteMode;
  readonly writers: number;
  readonly seconds: number;
  /** Writes acknowledged within the measured window. */
  readonly commits: number;
  readonly commitsPerSecond: number;
  /** process.cpuUsage() user + system over the window (every thread of the process), per commit. */
  readonly cpuMicrosPerCommit: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** /proc/self/io write_bytes over the window, per commit (io-counters.ts says what it counts). */
  readonly writeBytesPerCommit: number;
  /** /proc/self/io wchar over the window, per commit: bytes handed to write system calls. */
  readonly syscallBytesPerCommit: number;
  /** Sectors written to the store's device over the window (whole machine), in bytes per commit; null without one. */
  readonly deviceBytesPerCommit: number | null;
  readonly cancelledWriteBytes: number;
  /** WAL records per WAL flush (one write + one fdatasync) in the window; null without a WAL. */
  readonly walRecordsPerFlush: number | null;
  /** Commits per lmdb transaction on the WAL path (the background apply's batch size). */
  readonly commitsPerApply: number | null;
  /** The 1-minute load average when the window ended. */
  readonly loadAverage: number;
}

const PRELOAD_BATCH = 1000;

function whole(name: string, text: string | undefined, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`--${name} must be an integer >= ${minimum}`);
  return value;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string' },
      dir: { type: 'string' },
      writers: { type: 'string' },
      keys: { type: 'string', default: '10000' },
      warmup: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      'log-length': { type: 'string', default: '10000' },
      'value-bytes': { type: 'string', default: '100' },
    },
  });
  const mode = writeModes.find((known) => known === values.mode);
  if (mode === undefined) throw new Error(`--mode must be one of ${writeModes.join(', ')}`);
  if (values.dir === undefined) throw new Error('--dir is required');
  const writers = whole('writers', values.writers, 1);
  const keys = benchKeys(whole('keys', values.keys, 1));
  const warmupMs = whole('warmup', values.warmup, 0) * 1000;
  const durationMs = whole('duration', values.duration, 1) * 1000;
  const value = Buffer.from(benchValue(whole('value-bytes', values['value-bytes'], 1)));

  const deviceStat = deviceStatFile(values.dir);
  const target = await openWriteTarget(mode, {
    directory: values.dir,
    value,
    logLength: whole('log-length', values['log-length'], 1),
  });
  for (let start = 0; start < keys.length; start += PRELOAD_BATCH)
    await Promise.all(keys.slice(start, start + PRELOAD_BATCH).map((key) => target.write(key)));

  let stopping = false;
  let measuring = false;
  let latencies = new Float64Array(1 << 16);
  let commits = 0;
  const writer = async (): Promise<void> => {
    while (!stopping) {
      const key = keys[Math.floor(Math.random() * keys.length)]!;
      const started = performance.now();
      await target.write(key);
      if (!measuring) continue;
      if (commits === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[commits++] = performance.now() - started;
    }
  };
  const running = Array.from({ length: writers }, writer);

  await sleep(warmupMs);
  const cpuBefore = process.cpuUsage();
  const ioBefore = readIoCounters(deviceStat);
  const walBefore: WalCounts | undefined = target.walCounts();
  const startedAt = performance.now();
  measuring = true;
  await sleep(durationMs);
  // The window closes here, in one synchronous step: writes acknowledged later are not counted.
  measuring = false;
  const seconds = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const ioAfter = readIoCounters(deviceStat);
  const walAfter = target.walCounts();
  const loadAverage = loadavg()[0]!;
  stopping = true;
  await Promise.all(running);
  await target.close();

  const sorted = latencies.subarray(0, commits).sort();
  const perCommit = (total: number) => (commits === 0 ? Number.NaN : total / commits);
  const walFlushes = walBefore !== undefined && walAfter !== undefined ? walAfter.flushes - walBefore.flushes : 0;
  const result: EngineCellResult = {
    mode,
    writers,
    seconds,
    commits,
    commitsPerSecond: commits / seconds,
    cpuMicrosPerCommit: perCommit(cpu.user + cpu.system),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    writeBytesPerCommit: perCommit(ioAfter.writeBytes - ioBefore.writeBytes),
    syscallBytesPerCommit: perCommit(ioAfter.wchar - ioBefore.wchar),
    deviceBytesPerCommit:
      ioAfter.deviceBytes !== undefined && ioBefore.deviceBytes !== undefined
        ? perCommit(ioAfter.deviceBytes - ioBefore.deviceBytes)
        : null,
    cancelledWriteBytes: ioAfter.cancelledWriteBytes - ioBefore.cancelledWriteBytes,
    walRecordsPerFlush:
      walBefore !== undefined && walAfter !== undefined && walFlushes > 0
        ? (walAfter.records - walBefore.records) / walFlushes
        : null,
    commitsPerApply:
      walBefore !== undefined && walAfter !== undefined && walAfter.applyTransactions > walBefore.applyTransactions
        ? (walAfter.appliedCommits - walBefore.appliedCommits) /
          (walAfter.applyTransactions - walBefore.applyTransactions)
        : null,
    loadAverage,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`engine-writer: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
