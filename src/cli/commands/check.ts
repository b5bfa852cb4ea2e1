// kvs check --data DIR: the offline check of an lmdb store (src/storage/lmdb/store-check.ts).
// Exit code 0: clean; 1: damaged records, broken invariants or a damaged write-ahead log (one
// the server refuses to start on); 2: the store cannot be opened.
//
// The scan runs in a child process (the same command with --in-process): LMDB trusts its
// pages, and a damaged tree could still crash it by signal; the parent then reports "cannot
// open" with exit code 2 instead of dying with the child. A damaged tree can also make LMDB
// corrupt the child's heap, which then hangs (seen: in malloc, after "malloc(): invalid size"):
// the child reports progress on a pipe (fd 3) as it reads, and the parent kills it when none
// came for --stall-timeout seconds, with exit code 2 again.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { StoreCheckReport } from '../../storage/index.js';
import { ndjsonFormat } from '../formats/ndjson-format.js';

interface CheckOptions {
  readonly data: string;
  readonly salvage?: string;
  readonly inProcess?: boolean;
  readonly stallTimeout: number;
}

/** The pipe (fd 3) on which the checking child reports progress to its parent. */
const PROGRESS_FD = 3;
const PROGRESS_ENV = 'KVS_CHECK_PROGRESS_FD';
/** The signals that stop `kvs check`, and its child with it. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** The longest --stall-timeout, in seconds (a day). */
const STALL_TIMEOUT_MAX = 86_400;

function parseStallTimeout(text: string): number {
  const seconds = Number(text);
  if (!(/^\d+(\.\d+)?$/.test(text) && seconds > 0 && seconds <= STALL_TIMEOUT_MAX))
    throw new InvalidArgumentError(`must be a number of seconds above 0 and at most ${STALL_TIMEOUT_MAX}`);
  return seconds;
}

export const CHECK_CLEAN = 0;
export const CHECK_DAMAGED = 1;
export const CHECK_CANNOT_OPEN = 2;

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description(
      "check an lmdb data directory offline: every record's checksum, the store's invariants and the write-ahead log",
    )
    .addOption(
      new Option('--data <dir>', "the data directory (the server's --data)").env('KVS_DATA').default('./kvs-data'),
    )
    .option(
      '--salvage <file>',
      'also write every intact record (with the acknowledged writes only the write-ahead log holds) to this file as NDJSON, for `kvs import`',
    )
    .addOption(
      new Option(
        '--stall-timeout <seconds>',
        'stop the check (exit code 2) when reading the store made no progress for this long: a damaged store can hang LMDB',
      )
        .argParser(parseStallTimeout)
        .default(30),
    )
    .addOption(new Option('--in-process').hideHelp())
    .addHelpText(
      'after',
      [
        '',
        'Exit code 0: clean; 1: damaged records, broken invariants or a damaged write-ahead log (listed);',
        '2: the store cannot be opened. Notes (a torn WAL tail) are what the server repairs by itself.',
        'Run it on a stopped server. The way back from damage is in docs/durability.md.',
        'Examples:',
        '  $ kvs check --data ./kvs-data',
        '  $ kvs check --data ./kvs-data --salvage intact.ndjson',
      ].join('\n'),
    )
    .action(async (options: CheckOptions) => {
      process.exitCode = options.inProcess === true ? await runCheck(options) : await superviseCheck(options);
    });
}

async function superviseCheck(options: CheckOptions): Promise<number> {
  // Stopped or interrupted, the check takes its child along: a hung child would outlive it. The
  // handlers go first: a signal before them would end this process by default, child or not.
  let child: ChildProcess | undefined;
  const stopChild = (signal: NodeJS.Signals): void => {
    child?.kill('SIGKILL');
    process.kill(process.pid, signal);
  };
  for (const signal of STOP_SIGNALS) process.once(signal, stopChild);
  const checker = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1), '--in-process'], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, [PROGRESS_ENV]: String(PROGRESS_FD) },
  });
  child = checker;
  const stallMs = options.stallTimeout * 1000;
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const armStallTimer = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      checker.kill('SIGKILL');
    }, stallMs);
  };
  armStallTimer();
  (checker.stdio[PROGRESS_FD] as Readable).on('data', armStallTimer);
  const [status, signal] = (await new Promise((resolve, reject) => {
    checker.once('error', reject);
    checker.once('exit', (code, killedBy) => resolve([code, killedBy]));
  }).finally(() => {
    clearTimeout(timer);
    for (const signal of STOP_SIGNALS) process.off(signal, stopChild);
  })) as [number | null, NodeJS.Signals | null];
  if (stalled) {
    process.stdout.write(
      `result: cannot open: reading the store made no progress for ${options.stallTimeout} s; the checker was stopped (a damaged store can hang LMDB)\n`,
    );
    return CHECK_CANNOT_OPEN;
  }
  if (signal !== null) {
    process.stdout.write(`result: cannot open: reading the store crashed the checker (${signal})\n`);
    return CHECK_CANNOT_OPEN;
  }
  return status ?? CHECK_CANNOT_OPEN;
}

/** In the child: a byte on the parent's progress pipe, at most once a second. */
function progressReporter(): (() => void) | undefined {
  const fd = Number(process.env[PROGRESS_ENV]);
  if (!Number.isInteger(fd)) return undefined;
  let last = 0;
  return () => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    try {
      writeSync(fd, '.');
    } catch {
      // The parent is gone (then nothing waits for the progress) or this is not its pipe.
    }
  };
}

/** The WAL's lines: counts, then each problem (damage: exit 1) and each note (repaired at start-up). */
function printWal(wal: StoreCheckReport['wal'], print: (line: string) => void): void {
  if (!wal.present) {
    print(`wal: none (${wal.directory} does not exist)`);
    return;
  }
  const range =
    wal.firstRevision === undefined ? 'no records' : `revisions ${wal.firstRevision} to ${wal.lastRevision}`;
  print(
    `wal: ${wal.segments} segments, ${wal.records} records (${range}), ${wal.unapplied} not yet in lmdb (${wal.unappliedKeys} keys)`,
  );
  for (const text of wal.problems) print(`problem: ${text}`);
  if (wal.problemCount > wal.problems.length) print(`problem: ... and ${wal.problemCount - wal.problems.length} more`);
  for (const text of wal.notes) print(`note: ${text}`);
}

function openSalvage(path: string): { fd: number; path: string; count: number } {
  try {
    return { fd: openSync(`${path}.partial`, 'w', 0o600), path, count: 0 };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw Object.assign(new Error(`--salvage: cannot write ${path}.partial (${code})`), { code: 'salvage_failed' });
  }
}

async function runCheck(options: CheckOptions): Promise<number> {
  const { checkStore } = await import('../../storage/index.js');
  const print = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  let salvage: { fd: number; path: string; count: number } | undefined;
  const writer = ndjsonFormat.createWriter();
  try {
    if (options.salvage !== undefined) salvage = openSalvage(options.salvage);
    if (salvage !== undefined) writeSync(salvage.fd, writer.begin());
    const onProgress = progressReporter();
    const report = await checkStore(options.data, {
      ...(onProgress !== undefined && { onProgress }),
      onIntact: (key, record) => {
        if (salvage === undefined) return;
        writeSync(
          salvage.fd,
          writer.write({
            key,
            value: Buffer.from(record.value),
            contentType: record.contentType,
            expires: record.expires,
          }),
        );
        salvage.count++;
      },
    });
    print(`store: ${report.path}`);
    print(`revision: ${report.revision} (change log: ${report.logEntries} revisions from ${report.oldestRevision})`);
    print(
      `records: ${report.records} (${report.checked} with checksums, ${report.unchecked} from before checksums, ${report.damaged} damaged)`,
    );
    print(`expiry index: ${report.expiryEntries} entries`);
    for (const key of report.damagedKeys) print(`damaged: key ${JSON.stringify(key)}: its record fails its checksum`);
    if (report.damaged > report.damagedKeys.length)
      print(`damaged: ... and ${report.damaged - report.damagedKeys.length} more`);
    for (const text of report.problems) print(`problem: ${text}`);
    if (report.problemCount > report.problems.length)
      print(`problem: ... and ${report.problemCount - report.problems.length} more`);
    printWal(report.wal, print);
    if (salvage !== undefined) {
      writeSync(salvage.fd, writer.end());
      closeSync(salvage.fd);
      renameSync(`${salvage.path}.partial`, salvage.path);
      print(`salvaged: ${salvage.count} intact records to ${salvage.path}`);
      salvage = undefined;
    }
    const clean = report.damaged === 0 && report.problemCount === 0 && report.wal.problemCount === 0;
    print(`result: ${clean ? 'clean' : 'damaged'}`);
    return clean ? CHECK_CLEAN : CHECK_DAMAGED;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    print(
      `result: cannot open: ${typeof code === 'string' ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`,
    );
    return CHECK_CANNOT_OPEN;
  } finally {
    if (salvage !== undefined) {
      closeSync(salvage.fd);
      rmSync(`${salvage.path}.partial`, { force: true });
    }
  }
}
