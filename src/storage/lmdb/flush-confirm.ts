// A second witness for LMDB's flush (docs/durability.md, "Disk full and I/O errors").
//
// lmdb-js resolves a batch's `flushed` promise only when its fdatasync succeeds. When it fails,
// lmdb-js logs the error and rejects only a later batch's commit, if there is one: with no later
// write in this process the flush never settles and the write waits for ever (seen with
// `--workers 2` under strace's fdatasync -> EIO: 4 writes unanswered in 1 run of 11). So a flush
// still pending after FLUSH_CONFIRM_MS is confirmed by kvs's own fdatasync of the store file:
// success means every page committed before it is on disk (Linux reports a writeback error to
// every descriptor open when it happened, and this one is opened with the store), failure is the
// write failure the engine refuses on. A slow but healthy flush costs one extra fdatasync.

import { open, type FileHandle } from 'node:fs/promises';

/** How long a flush may stay pending before kvs checks the file itself. */
export const FLUSH_CONFIRM_MS = 500;

export class FlushConfirmer {
  private handle: Promise<FileHandle> | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly path: string) {}

  /** Opens the descriptor now, so that later writeback errors are reported to it. */
  start(): void {
    this.handle ??= open(this.path, 'r');
    this.handle.catch(() => {});
  }

  /**
   * Resolves once the file is synced, rejects with the sync's error; one fdatasync at a time,
   * shared by every waiter that asks while it runs.
   */
  confirm(): Promise<void> {
    this.start();
    this.inFlight ??= this.handle!.then((file) => file.datasync()).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * A promise that confirms the flush after FLUSH_CONFIRM_MS unless `cancel` is called first
   * (the flush settled): the race partner of a flush wait.
   */
  after(onFailure: (error: unknown) => void): { readonly confirmed: Promise<void>; cancel(): void } {
    let timer: NodeJS.Timeout | undefined;
    const confirmed = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        this.confirm().then(resolve, (error: unknown) => {
          onFailure(error);
          reject(error);
        });
      }, FLUSH_CONFIRM_MS);
    });
    confirmed.catch(() => {});
    return { confirmed, cancel: () => clearTimeout(timer) };
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close().catch(() => {});
  }
}
