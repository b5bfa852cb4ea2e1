// Fan-out of the engine's change feed to watchers (HTTP SSE, and anything else), each with a
// key prefix, a resume revision and a bounded buffer.
//
// A watcher that starts from an old revision first replays history from the engine's change
// log while live events are held back, then switches to live events; a revision is never
// delivered twice or skipped. A watcher whose sink cannot keep up is closed with 'lagging'
// rather than letting its backlog grow or slowing writers.
//
// Replay is paced by the reader: a page of history is read only once the sink has room for it
// (`ready`), and the loop yields to other clients between pages. Live events held during a
// replay are bounded too: past HELD_MAX they are dropped, and the replay reads them back from
// the log instead (docs/limits.md). So 40 clients asking for `since=0&values=1` over 20,000
// large revisions cost each a page and a buffer, not the whole log in memory.

import type { ChangeEvent } from '../model/events.js';
import type { KvService } from './service.js';

export interface WatchSink {
  /** Deliver events; return false when the sink's buffer is over its bound. */
  push(events: readonly ChangeEvent[]): boolean;
  /**
   * While replaying history: undefined when the sink can take more now, else a promise that
   * settles once it can (its buffer drained) or the watch ended. Optional: without it a
   * replay pushes page after page and relies on push() to cut a slow sink off.
   */
  ready?(): Promise<void> | undefined;
  /** The watch ended: 'lagging' (too slow), 'compacted', 'shutdown' or 'error'. */
  close(reason: WatchEndReason, detail?: string): void;
}

/** Why a stream ended; 'revoked': its token was revoked or expired (docs/tokens.md). */
export type WatchEndReason = 'lagging' | 'compacted' | 'shutdown' | 'error' | 'revoked';

interface Watcher {
  readonly prefix: string;
  readonly sink: WatchSink;
  /** Highest revision delivered (or known to have nothing for this watcher). */
  delivered: number;
  /** Live events that arrived while history was being replayed. */
  held: ChangeEvent[] | undefined;
  /** Held events were dropped (over HELD_MAX): the replay must read past them. */
  droppedHeld: boolean;
  closed: boolean;
}

import { setImmediate as yieldToOthers } from 'node:timers/promises';

// A replay step reads one revision at first, then as many revisions as held about
// HISTORY_PAGE_EVENTS events before (at most HISTORY_PAGE): one step is at most about that many
// events (about 1.4 MB of stream text with --log-value-max 4096) or one revision, however
// large the transactions. Measured: 12 stalled `since=0&values=1` replays of 4,000 4 KB events
// grew the server by 580 MB when the first step read 100 revisions.
const HISTORY_PAGE = 100;
const HISTORY_PAGE_EVENTS = 250;
/** Live events held for one watcher while it replays history, before they are left to the replay. */
export const HELD_MAX = 1000;

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
    const watcher: Watcher = { prefix, sink, delivered: since ?? 0, held: [], droppedHeld: false, closed: false };
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
    let pageRevisions = 1;
    for (;;) {
      while (watcher.delivered < until && !watcher.closed) {
        await watcher.sink.ready?.();
        if (watcher.closed) return;
        const page = await this.service.history(watcher.delivered, pageRevisions);
        if (page.events.length === 0) break;
        const revisions = page.events[page.events.length - 1]!.revision - page.events[0]!.revision + 1;
        pageRevisions = Math.max(
          1,
          Math.min(HISTORY_PAGE, Math.floor((revisions * HISTORY_PAGE_EVENTS) / page.events.length)),
        );
        this.deliver(watcher, page.events);
        // lmdb reads settle at once: without a macrotask turn here the whole replay would run
        // before any other client is served.
        await yieldToOthers();
      }
      if (watcher.closed) return;
      const held = watcher.held ?? [];
      if (!watcher.droppedHeld) break;
      // Live events were dropped while holding (HELD_MAX): read up to the newest held one from the log.
      watcher.droppedHeld = false;
      until = held[held.length - 1]!.revision;
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
      if (watcher.held === undefined) this.deliverOrEnd(watcher, events);
      else if (watcher.held.length + events.length <= HELD_MAX) watcher.held.push(...events);
      // Over the bound: keep only the newest batch; the replay reads what lies between from the log.
      else {
        watcher.held = [...events];
        watcher.droppedHeld = true;
      }
    }
  }

  /**
   * deliver() for the live feed, which runs inside the engine's publication of a commit: a
   * watcher that fails ends alone, and neither the other watchers nor the writer (whose commit
   * is already durable) see the failure.
   */
  private deliverOrEnd(watcher: Watcher, events: readonly ChangeEvent[]): void {
    try {
      this.deliver(watcher, events);
    } catch (error) {
      this.remove(watcher);
      try {
        watcher.sink.close('error', error instanceof Error ? error.message : String(error));
      } catch {
        // The sink is broken beyond closing; it is already removed.
      }
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
