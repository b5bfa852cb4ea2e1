// Runs value diffs (value-diff.ts) without holding the event loop: small values inline (a few
// ms), larger ones in a worker thread each, at most DIFF_WORKERS_MAX at once and
// DIFF_WAITING_MAX waiting for one; past that, or past DIFF_WORKER_TIMEOUT_MS, the answer is a
// too-large verdict, so a burst of large diffs costs bounded CPU and memory (docs/limits.md).

import { Worker } from 'node:worker_threads';
import type { DiffSide, ValueDiff } from './value-diff.js';

/** Values up to this size on both sides are diffed on the event loop (well under 10 ms). */
export const DIFF_INLINE_MAX_BYTES = 64 * 1024;
/** Worker threads diffing at once, and diffs waiting for one at most. */
export const DIFF_WORKERS_MAX = 2;
export const DIFF_WAITING_MAX = 8;
/** A worker still diffing after this is stopped. */
export const DIFF_WORKER_TIMEOUT_MS = 5000;

const WORKER_URL = new URL('./diff-worker.js', import.meta.url);

export class DiffRunner {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  async diff(from: DiffSide, to: DiffSide): Promise<ValueDiff> {
    // Loaded on the first diff: the diff library is not needed to start the server.
    const { diffValues, quickVerdict } = await import('./value-diff.js');
    const quick = quickVerdict(from, to);
    if (quick !== undefined) return quick;
    if (from.value.length <= DIFF_INLINE_MAX_BYTES && to.value.length <= DIFF_INLINE_MAX_BYTES)
      return diffValues(from, to);
    if (this.running >= DIFF_WORKERS_MAX) {
      if (this.waiting.length >= DIFF_WAITING_MAX)
        return {
          binary: false,
          tooLarge: true,
          message: `too many large diffs in progress (${DIFF_WORKERS_MAX} running, ${DIFF_WAITING_MAX} waiting); retry later`,
        };
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      return await inWorker(from, to);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

function inWorker(from: DiffSide, to: DiffSide): Promise<ValueDiff> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: { from, to } });
    const timer = setTimeout(() => {
      resolve({
        binary: false,
        tooLarge: true,
        message: `values took too long to diff (limit ${DIFF_WORKER_TIMEOUT_MS} ms)`,
      });
      void worker.terminate();
    }, DIFF_WORKER_TIMEOUT_MS);
    worker.once('message', (verdict: ValueDiff) => {
      clearTimeout(timer);
      resolve(verdict);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    worker.once('exit', () => clearTimeout(timer));
  });
}
