// One kvs server (or one --workers group) per lmdb store: the exclusive writer mode assigns
// revisions in memory, so a second server on the same data directory must be refused, not
// silently allowed to interleave.
//
// The lock is an advisory lock (flock(2)) on DATA/kvs.lock, which the kernel releases when the
// holder dies, however it dies. A pid in a file is not a lock: a stale file naming a live
// unrelated process blocked start-up, and two servers in separate PID namespaces sharing a
// volume both saw "pid 1" and the second took over. Node has no flock API and a native addon
// would need a compiler at install, so the lock is held by a child `flock` process (util-linux,
// part of every Debian/Ubuntu base system; busybox has it too) running `cat` on a pipe from this
// process: when this process exits or is killed, the pipe closes, cat sees end of file, and
// flock exits, releasing the lock. The file stays (removing it would let a process that opened
// the old file hold a lock on a name nobody else sees); the pid written in it is only for the
// message.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'kvs.lock';
/** flock's exit code when the lock is held by someone else (--conflict-exit-code). */
const CONFLICT = 75;

export class StoreLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
  ) {
    super(`another kvs process (pid ${pid ?? 'unknown'}) is using the data directory ${dataDir}`);
    this.name = 'StoreLockedError';
  }
}

export class StoreLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreLockError';
  }
}

function holderPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the data directory's lock; resolves with the function that releases it. */
export async function acquireStoreLock(dataDir: string): Promise<() => void> {
  const path = join(dataDir, LOCK_FILE);
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch (error) {
    // The first file a start writes in an existing directory: one this user cannot write in.
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new StoreLockError(
      `--data: cannot write in the data directory ${dataDir} (${code}); give a directory this user can create or write`,
    );
  }
  const holder = spawn(
    'flock',
    [
      '--exclusive',
      '--nonblock',
      '--conflict-exit-code',
      String(CONFLICT),
      path,
      'sh',
      '-c',
      'echo locked && exec cat',
    ],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const outcome = await new Promise<'locked' | { code: number | null; error?: Error; stderr: string }>((resolve) => {
    let stdout = '';
    let stderr = '';
    holder.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('locked')) resolve('locked');
    });
    holder.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    holder.once('error', (error) => resolve({ code: null, error, stderr }));
    holder.once('exit', (code) => resolve({ code, stderr }));
  });
  if (outcome !== 'locked') {
    if (outcome.code === CONFLICT) throw new StoreLockedError(dataDir, holderPid(path));
    const why =
      outcome.error !== undefined
        ? outcome.error.message
        : `flock exited with ${outcome.code}: ${outcome.stderr.trim()}`;
    throw new StoreLockError(
      `could not take the lock ${path} (${why}); the store lock needs the flock command (util-linux)`,
    );
  }
  writeFileSync(path, `${process.pid}\n`);
  // The holder must not keep this process alive, and its output is no longer needed.
  holder.stdout.destroy();
  holder.stderr.destroy();
  (holder.stdin as unknown as { unref?: () => void }).unref?.();
  holder.unref();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holder.stdin.end();
  };
}
