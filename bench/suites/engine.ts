// The engine suite: the storage engine alone, no server. Durable commits per second, CPU per
// commit, latency and bytes written per commit, closed loop with 1, 50 and 500 writers, for the
// WAL engine (the default write path), the previous lmdb-only path and raw lmdb-js doing the same
// LMDB writes, so the cost of each layer shows. Every cell is its own process
// (bench/engine/engine-writer.ts) on a fresh store, so its CPU and I/O counters are its own.

import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { writeBytesPerSmallWrite } from '../engine/io-counters.js';
import type { EngineCellResult } from '../engine/engine-writer.js';
import { type WriteMode, writeModes } from '../engine/write-targets.js';
import { runToCompletion } from '../lib/children.js';
import { formatMs, formatRate, type SuiteReport, type Table } from '../lib/report.js';
import type { Session } from '../lib/session.js';
import { systemDir } from '../systems/context.js';

export const engineBinaries: string[] = [];

const WRITER_COUNTS = [1, 50, 500] as const;
/** statfs f_type of tmpfs: fsync costs nothing there and nothing reaches a disk. */
const TMPFS_MAGIC = 0x01021994;

const modeLabels: Readonly<Record<WriteMode, string>> = {
  wal: 'WAL engine (default)',
  lmdb: 'lmdb-only engine (--wal off)',
  raw: 'raw lmdb-js, same writes',
};

/** Cell figures as the child printed them (JSON turns NaN into null). */
type CellFigures = { readonly [K in keyof EngineCellResult]: EngineCellResult[K] | null };

function median(values: readonly (number | null)[]): number | undefined {
  const sorted = values.filter((value): value is number => value !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function bytes(value: number | undefined): string {
  if (value === undefined) return 'n/a';
  return value >= 1024 ? `${(value / 1024).toFixed(1)} KiB` : `${Math.round(value)} B`;
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? 'n/a' : value.toFixed(digits);
}

function ms(value: number | undefined): string {
  return value === undefined ? 'n/a' : formatMs(value);
}

async function runCell(session: Session, mode: WriteMode, writers: number): Promise<CellFigures> {
  const { context, settings } = session;
  const directory = join(systemDir(context, `engine-${mode}-${writers}`), 'data');
  mkdirSync(directory, { recursive: true });
  const script = join(context.repoRoot, 'dist', 'bench', 'engine', 'engine-writer.js');
  try {
    const run = await runToCompletion(
      `engine-writer ${mode} ${writers}`,
      process.execPath,
      [
        script,
        ...['--mode', mode, '--dir', directory, '--writers', String(writers)],
        ...['--keys', String(context.keys.length), '--log-length', String(context.keys.length)],
        ...['--warmup', String(settings.warmupSeconds), '--duration', String(settings.durationSeconds)],
      ],
      (settings.warmupSeconds + settings.durationSeconds) * 1000 + 180_000,
    );
    if (run.code !== 0)
      throw new Error(`engine-writer ${mode} ${writers} failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(line) as CellFigures;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

export async function runEngineSuite(session: Session): Promise<SuiteReport> {
  const { context, settings } = session;
  if (settings.peersOnly) {
    return {
      suite: 'engine',
      title: 'Engine only',
      method: [],
      tables: [],
      targets: [],
      notes: ['not run (--peers-only).'],
    };
  }
  if (statfsSync(context.workDir).type === TMPFS_MAGIC)
    throw new Error(
      `${context.workDir} is on tmpfs: syncs cost nothing there and nothing reaches a disk; set TMPDIR to a directory on a disk`,
    );
  const folioBytes = writeBytesPerSmallWrite(systemDir(context, 'engine-probe'));

  const cells = new Map<string, CellFigures[]>();
  const cellKey = (mode: WriteMode, writers: number) => `${mode}/${writers}`;
  for (let round = 1; round <= settings.rounds; round++) {
    for (const writers of WRITER_COUNTS) {
      // The modes take turns, so a slow spell of the shared machine falls on all of them.
      for (const mode of writeModes) {
        const figures = await runCell(session, mode, writers);
        session.log(
          `engine ${mode}, ${writers} writers (round ${round} of ${settings.rounds}): ` +
            `${formatRate(figures.commitsPerSecond ?? 0)} commits/s, ${fixed(figures.cpuMicrosPerCommit ?? undefined, 1)} us CPU/commit, ` +
            `p99 ${ms(figures.p99Ms ?? undefined)} ms, load ${figures.loadAverage}`,
        );
        const list = cells.get(cellKey(mode, writers)) ?? [];
        list.push(figures);
        cells.set(cellKey(mode, writers), list);
      }
    }
  }

  const med = (mode: WriteMode, writers: number, pick: (cell: CellFigures) => number | null) =>
    median((cells.get(cellKey(mode, writers)) ?? []).map(pick));
  const main: Table = {
    headers: [
      'writers',
      'write path',
      'commits/s',
      'each round',
      'CPU µs/commit',
      'p50 ms',
      'p99 ms',
      'device bytes/commit',
      'write_bytes/commit',
      'syscall bytes/commit',
      'WAL records/flush',
      'commits/lmdb txn',
    ],
    rows: WRITER_COUNTS.flatMap((writers) =>
      writeModes.map((mode) => {
        const rounds = cells.get(cellKey(mode, writers)) ?? [];
        const rate = med(mode, writers, (cell) => cell.commitsPerSecond);
        const groupFactor = med(mode, writers, (cell) => cell.walRecordsPerFlush);
        return [
          String(writers),
          modeLabels[mode],
          rate === undefined ? 'n/a' : formatRate(rate),
          rounds.map((cell) => formatRate(cell.commitsPerSecond ?? 0)).join(', '),
          fixed(
            med(mode, writers, (cell) => cell.cpuMicrosPerCommit),
            1,
          ),
          ms(med(mode, writers, (cell) => cell.p50Ms)),
          ms(med(mode, writers, (cell) => cell.p99Ms)),
          bytes(med(mode, writers, (cell) => cell.deviceBytesPerCommit)),
          bytes(med(mode, writers, (cell) => cell.writeBytesPerCommit)),
          bytes(med(mode, writers, (cell) => cell.syscallBytesPerCommit)),
          mode === 'wal' ? fixed(groupFactor, 1) : '—',
          mode === 'wal'
            ? fixed(
                med(mode, writers, (cell) => cell.commitsPerApply),
                1,
              )
            : '—',
        ];
      }),
    ),
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`;
  const difference = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? 'n/a' : `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(1)}`;
  const layers: Table = {
    headers: [
      'writers',
      'WAL / lmdb-only commits/s',
      'raw lmdb-js / lmdb-only commits/s',
      'CPU µs/commit: lmdb-only − raw (the kvs layer)',
      'CPU µs/commit: WAL − lmdb-only (the WAL)',
    ],
    rows: WRITER_COUNTS.map((writers) => {
      const rate = (mode: WriteMode) => med(mode, writers, (cell) => cell.commitsPerSecond);
      const cpu = (mode: WriteMode) => med(mode, writers, (cell) => cell.cpuMicrosPerCommit);
      return [
        String(writers),
        ratio(rate('wal'), rate('lmdb')),
        ratio(rate('raw'), rate('lmdb')),
        difference(cpu('lmdb'), cpu('raw')),
        difference(cpu('wal'), cpu('lmdb')),
      ];
    }),
  };
  const written = (mode: WriteMode, writers: number) =>
    `device ${bytes(med(mode, writers, (cell) => cell.deviceBytesPerCommit))}; ` +
    `write_bytes ${bytes(med(mode, writers, (cell) => cell.writeBytesPerCommit))}; ` +
    `syscalls ${bytes(med(mode, writers, (cell) => cell.syscallBytesPerCommit))}`;
  const perWrite: Table = {
    headers: ['writers', "bytes written per acknowledged 100-byte write: today's lmdb-only path", 'the WAL path'],
    rows: WRITER_COUNTS.map((writers) => [String(writers), written('lmdb', writers), written('wal', writers)]),
  };

  const controlMisses = WRITER_COUNTS.filter((writers) => {
    const raw = med('raw', writers, (cell) => cell.commitsPerSecond);
    const lmdb = med('lmdb', writers, (cell) => cell.commitsPerSecond);
    return raw === undefined || lmdb === undefined || raw < lmdb;
  });
  const loads = [...cells.values()].flat().map((cell) => cell.loadAverage ?? Number.NaN);
  return {
    suite: 'engine',
    title: 'Engine only: WAL engine vs lmdb-only vs raw lmdb-js',
    method: [
      `No server: each cell (write path × writers × round) is one process (bench/engine/engine-writer.ts) on a fresh store in the run's temporary directory (${context.workDir}, not tmpfs). It first writes each of ${context.keys.length.toLocaleString('en-US')} keys once (so every measured write overwrites a key and the change log, ${context.keys.length.toLocaleString('en-US')} revisions long, trims one entry per commit), then runs W writers in a closed loop, each putting a 100-byte value under a random key and starting its next put when the last is acknowledged: ${settings.warmupSeconds} s warm-up, ${settings.durationSeconds} s measured.`,
      `Durability strict in every path: the WAL engine acknowledges once the WAL record is fdatasynced (lmdb applies it in the background, reads see it through the overlay); the lmdb-only engine and raw lmdb-js once lmdb's batch is committed and flushed. Raw lmdb-js issues the same LMDB writes the engine issues for an overwrite (record put, old index entry removed, index put, change-log put, oldest log entry removed, oldest-revision put, audit entry put, history entry, history order and history extent puts, the key's oldest history entries removed past 100 versions, revision put) with bytes encoded once up front, and awaits the batch's commit and flush (bench/engine/write-targets.ts).`,
      `${settings.rounds} round(s); the write paths take turns within each round; every figure is the median over the rounds (the mean of the middle two for an even count), with each round's commits/s shown.`,
      "CPU µs/commit: process.cpuUsage() user + system over the measured window, divided by the commits acknowledged in it; the whole process, so it includes lmdb-js's write thread and libuv's thread pool (the WAL's pwrite and fdatasync), not only JavaScript. Latency: from issuing a put to its acknowledgement.",
      `Bytes per commit, over the measured window: "device" is the sectors the store's block device was asked to write (/sys/dev/block/…/stat), by the whole machine: it includes ext4's journal and anything else writing to that disk meanwhile. "write_bytes" is /proc/self/io write_bytes: the kernel counts a whole page-cache folio each time the process's write dirties a clean one, so with large folios it overcounts what reaches the disk; on this machine one 100-byte write + fdatasync into a file filled by 1 MiB writes counted ${bytes(folioBytes)}. "syscall bytes" is /proc/self/io wchar, the bytes handed to write system calls (LMDB writes whole 4 KiB pages; the WAL appends records, but each fdatasync writes at least the 4 KiB block it ends in).`,
      "WAL records/flush: the WAL's group-commit factor (records appended / flushes, each one pwrite + one fdatasync) over the window; commits/lmdb txn: how many acknowledged commits each background lmdb transaction applied (both from LmdbEngine.writeStats()).",
      `1-minute load average when each cell's window ended: ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)}.`,
    ],
    tables: [main, layers, perWrite],
    targets: [],
    notes: [
      controlMisses.length === 0
        ? "harness check: raw lmdb-js is at least as fast as the lmdb-only engine at every writer count, as it must be (it does the same LMDB writes without kvs's work)."
        : `harness check FAILED at ${controlMisses.join(', ')} writer(s): raw lmdb-js was slower than the lmdb-only engine, which does the same LMDB writes and more; treat these figures as disturbed.`,
      "the machine has 2 cores shared with other work (see the load average); the writers, lmdb-js's write thread and the sync threads share them.",
    ],
  };
}
