// The live change feed: the /v1/watch Server-Sent Events stream, read with fetch() so that the
// token travels in the Authorization header like every other request (EventSource cannot send
// headers, and a token in the URL ends up in proxy logs). It reports put/delete/expire events
// and its own connection state, reconnects after a drop from the last complete revision, and on
// a refusal either reloads (history compacted), stops (token problem) or retries.

import { ApiError, explain, type KvsApi } from './api.js';
import type { WatchEventData } from './model/http-json.js';
import { SseParser, type SseMessage } from './sse-parser.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'paused' | 'locked';

export interface LiveFeedHandlers {
  onChange(event: WatchEventData): void;
  onState(state: LiveState, detail: string): void;
  /** The resume point is no longer in the server's change log: reload and watch again. */
  onResync(): void;
}

/** Wait before retrying after a refusal the server may get over (503, network, ...). */
const RETRY_MS = 3000;

export class LiveFeed {
  private controller: AbortController | undefined;
  private retryTimer: number | undefined;
  /** Bumped on every start/stop so callbacks of an old stream are ignored. */
  private generation = 0;
  private prefix = '';
  /** The last complete revision received: where a new stream resumes. */
  private resumeRevision = 0;
  /** Reconnect delay after a drop; the server sets it with `retry:`. */
  private reconnectMs = 1000;

  constructor(
    private readonly api: KvsApi,
    private readonly handlers: LiveFeedHandlers,
  ) {}

  start(prefix: string, since: number): void {
    this.stop();
    this.prefix = prefix;
    this.resumeRevision = since;
    void this.open(this.generation);
  }

  stop(): void {
    this.generation++;
    this.controller?.abort();
    this.controller = undefined;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private retry(generation: number, delayMs: number): void {
    if (generation !== this.generation) return;
    this.retryTimer = window.setTimeout(() => {
      if (generation === this.generation) void this.open(generation);
    }, delayMs);
  }

  private async open(generation: number): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    this.handlers.onState('connecting', 'Connecting to the change feed…');
    let response: Response;
    try {
      response = await this.api.watch(this.prefix, this.resumeRevision, controller.signal);
    } catch (error) {
      if (generation !== this.generation) return;
      this.refused(
        generation,
        error instanceof ApiError ? error : new ApiError(0, 'network', 'Cannot reach the server.'),
      );
      return;
    }
    if (generation !== this.generation) return;
    this.handlers.onState('live', 'Live: changes appear as they happen.');
    let ended = false;
    try {
      ended = await this.read(generation, response);
    } catch {
      // The connection dropped (or stop() aborted it).
    }
    if (generation !== this.generation) return;
    if (!ended) this.handlers.onState('reconnecting', 'Connection lost; reconnecting…');
    this.retry(generation, this.reconnectMs);
  }

  /** Reads the stream until it closes; true when the server ended it with an `end` event. */
  private async read(generation: number, response: Response): Promise<boolean> {
    if (response.body === null) return false;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let ended = false;
    const parser = new SseParser((message) => {
      if (generation !== this.generation) return;
      ended = this.dispatch(message) || ended;
    });
    for (;;) {
      const { done, value } = await reader.read();
      if (done || generation !== this.generation) return ended;
      parser.push(value);
      if (parser.retryMs !== undefined) this.reconnectMs = parser.retryMs;
    }
  }

  /** Handles one event; true for the server's `end` event. */
  private dispatch(message: SseMessage): boolean {
    if (message.event === 'end') {
      const { reason } = JSON.parse(message.data) as { reason?: string };
      this.handlers.onState(
        'reconnecting',
        `The server ended the change feed (${reason ?? 'no reason given'}); reconnecting…`,
      );
      return true;
    }
    if (message.event !== 'put' && message.event !== 'delete' && message.event !== 'expire') return false;
    // Only the last event of a revision carries an id, so the id is always a complete revision.
    if (message.id !== undefined && /^\d+$/.test(message.id)) this.resumeRevision = Number(message.id);
    this.handlers.onChange(JSON.parse(message.data) as WatchEventData);
    return false;
  }

  private refused(generation: number, problem: ApiError): void {
    if (problem.code === 'history_compacted') {
      this.handlers.onResync();
      return;
    }
    if (problem.code === 'network') this.handlers.onState('reconnecting', 'Connection lost; reconnecting…');
    else this.handlers.onState('offline', `No live updates: ${explain(problem)}`);
    // Auth problems stay until the token changes (which restarts the feed); retry the rest.
    if (problem.status === 401 || problem.status === 403) return;
    this.retry(generation, RETRY_MS);
  }
}
