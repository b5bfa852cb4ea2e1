// LMDB's fatal state (MDB_PANIC) ends the process: kvs prints one coded line and kills itself with
// SIGKILL, so that a supervisor restarts it, and the restart reopens the store at its last complete
// commit, which holds every acknowledged write (docs/durability.md, "LMDB's fatal state"). Why not
// recover in the process, as measured and read in lmdb-js 3.5.6:
//
// - Once panicked, every read renews lmdb-js's read transaction; each failed renew appends LMDB's
//   message to a global buffer of 300 bytes (mdb.c, mdb_strerror), and calls that do not throw
//   (getStats, cursor renewal) leave it there: the fifth one overflows the heap, and the process
//   later aborts with `malloc(): invalid size` (seen in a core dump: the message held MDB_PANIC
//   five times).
// - The write thread returns without releasing its write lock when it cannot begin a transaction
//   (src/writer.cpp, WriteWorker::Write), so the batches queued behind the failed one never
//   settle, root.close() waits for them for ever, and the next batch's thread blocks for ever.
// - That is also why the process cannot simply exit: process.exit() runs lmdb-js's exit handler,
//   which takes the same lock (seen: the main thread blocked on it after the coded line), and
//   without that handler Node's exit still joins libuv's thread pool, where the next batch's
//   thread waits on the lock. SIGKILL ends the process without waiting for any thread.
// - LMDB clears its fatal flag only when the environment is closed, and lmdb-js shares one
//   environment per path in a process, so the store cannot be reopened beside the wedged one.

import { isLmdbPanic } from './lmdb-errors.js';

/** The error code printed on the line kvs stops with. */
export const STORE_PANIC_CODE = 'store_panic';

/** The LMDB fatal-state error in `error` or in its cause, if there is one. */
export function panicOf(error: unknown): unknown {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    if (isLmdbPanic(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function panicLine(storePath: string, error: unknown): string {
  const detail = error instanceof Error ? error.message : String(error);
  return `kvs: ${STORE_PANIC_CODE}: LMDB's fatal state in ${storePath} (${detail}); kvs stops itself with SIGKILL for a supervisor to restart it, which reopens the store at its last complete commit (docs/durability.md)`;
}

/** The coded line on stderr, then SIGKILL: no further LMDB call runs in this process. */
export function stopOnStorePanic(storePath: string, error: unknown): never {
  // Synchronous (stderr is a pipe or a file): the line is out before the process ends.
  process.stderr.write(`${panicLine(storePath, error)}\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('SIGKILL did not end the process');
}
