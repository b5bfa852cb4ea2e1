// Fan-out of the engine's change feed to watchers (HTTP SSE, and anything else), each with a
// key prefix, a resume revision and a bounded buffer.
//
// A watcher that starts from an old revision first replays history from the engine's change
// log while live events are held back, then switches to live events; a revision is never
// delivered twice or skipped. A watcher whose sink cannot keep up is closed with 'lagging'
// rather than letting its backlog grow or slowing writers.

import type { ChangeEvent } from './model.js';
import type { KvService } from './service.js';

export interface WatchSink {
  /** Deliver events; return false when the sink's buffer is over its bound. */
  push(events: readonly ChangeEvent[]): boolean;
  /** The watch ended: 'lagging' (too slow), 'compacted', 'shutdown' or 'error'. */
  close(reason: WatchEndReason, detail?: string): void;
}

export type WatchEndReason = 'lagging' | 'compacted' | 'shutdown' | 'error';

interface Watcher {
  readonly prefix: string;
  readonly sink: WatchSink;
  /** Highest revision delivered (or known to have nothing for this watcher). */
  delivered: number;
  /** Live events that arrived while history was being replayed. */
  held: ChangeEvent[] | undefined;
  closed: boolean;
}

const HISTORY_PAGE = 500;

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly service: KvService) {}

  get size(): number {
    return this.watchers.size;
  }

  /**
   * Starts a watch. `since` = the last revision the client has (events after it are sent);
   * undefined = only changes from now on. Throws KvsError('history_compacted') up front.
   * Resolves with a function that stops the watch.
   */
  async watch(prefix: string, since: number | undefined, sink: WatchSink): Promise<() => void> {
    this.ensureSubscribed();
    // Registered, holding live events, before the revision is read: a commit that lands in
    // between would otherwise reach neither the replay nor this watcher.
    const watcher: Watcher = { prefix, sink, delivered: since ?? 0, held: [], closed: false };
    this.watchers.add(watcher);
    const stop = () => this.remove(watcher);
    try {
      const current = await this.service.revision();
      if (since === undefined) watcher.delivered = current;
      await this.replay(watcher, current);
    } catch (error) {
      this.remove(watcher);
      throw error;
    }
    return stop;
  }

  private async replay(watcher: Watcher, until: number): Promise<void> {
    while (watcher.delivered < until && !watcher.closed) {
      const page = await this.service.history(watcher.delivered, HISTORY_PAGE);
      if (page.events.length === 0) break;
      this.deliver(watcher, page.events);
    }
    const held = watcher.held ?? [];
    watcher.held = undefined;
    if (!watcher.closed && held.length > 0) this.deliver(watcher, held);
  }

  private ensureSubscribed(): void {
    this.unsubscribe ??= this.service.engine.subscribe((events) => this.onEvents(events));
  }

  private onEvents(events: readonly ChangeEvent[]): void {
    for (const watcher of this.watchers) {
      if (watcher.held !== undefined) watcher.held.push(...events);
      else this.deliver(watcher, events);
    }
  }

  private deliver(watcher: Watcher, events: readonly ChangeEvent[]): void {
    if (watcher.closed) return;
    const fresh = events.filter((event) => event.revision > watcher.delivered && event.key.startsWith(watcher.prefix));
    const last = events[events.length - 1];
    if (last !== undefined && last.revision > watcher.delivered) watcher.delivered = last.revision;
    if (fresh.length === 0) return;
    if (!watcher.sink.push(fresh)) {
      this.remove(watcher);
      watcher.sink.close('lagging', `more than the buffer limit of events were waiting for this watcher`);
    }
  }

  private remove(watcher: Watcher): void {
    watcher.closed = true;
    this.watchers.delete(watcher);
    if (this.watchers.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
    }
  }

  /** Ends every watch (server shutdown). */
  closeAll(): void {
    for (const watcher of [...this.watchers]) {
      this.remove(watcher);
      watcher.sink.close('shutdown');
    }
  }
}
