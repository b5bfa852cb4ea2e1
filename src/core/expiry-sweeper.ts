// Background removal of expired keys: invisible at once, removed in the background
// (docs/consistency.md, "TTL"). Reads already hide expired keys; the sweeper turns each expiry
// into a real removal and an `expire` change event. It runs one bounded batch per tick, as an
// ordinary commit, so it never holds up requests for longer than any other write.

import { EXPIRY_ORIGIN } from '../model/audit.js';
import type { Operation } from '../model/txn.js';
import type { Engine } from '../storage/index.js';

export interface SweeperOptions {
  readonly intervalMs: number;
  readonly batch: number;
  readonly clock?: () => number;
  readonly onError?: (error: unknown) => void;
}

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly options: SweeperOptions,
  ) {}

  start(): void {
    if (this.engine.expiresNatively || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweepOnce()
        .catch((error: unknown) => {
          this.options.onError?.(error);
          return 0;
        })
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Removes one batch of expired keys; returns how many. */
  async sweepOnce(): Promise<number> {
    const now = (this.options.clock ?? Date.now)();
    const expired = await this.engine.expired(now, this.options.batch);
    if (expired.length === 0) return 0;
    const operations: Operation[] = expired.map(({ key }) => ({ type: 'expire', key }));
    const result = await this.engine.commit({ conditions: [], operations, origin: EXPIRY_ORIGIN }, now);
    return result.ok ? expired.length : 0;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
