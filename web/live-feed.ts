// The live change feed: an EventSource on /v1/watch that reports put/delete/expire events and
// its own connection state. EventSource reconnects by itself and resumes with Last-Event-ID; when
// it gives up (the server answered with an error status) the feed asks the server why and either
// resumes, asks the page to reload (history compacted), or reports what is wrong.

import { explain, type KvsApi } from './api.js';

export type ChangeType = 'put' | 'delete' | 'expire';

export interface ChangeEvent {
  readonly type: ChangeType;
  readonly key: string;
  readonly revision: number;
  /** The key's version after a put; 0 after delete/expire. */
  readonly version: number;
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveFeedHandlers {
  onChange(event: ChangeEvent): void;
  onState(state: LiveState, detail: string): void;
  /** The resume point is no longer in the server's change log: reload and watch again. */
  onResync(): void;
}

const RETRY_MS = 3000;

export class LiveFeed {
  private source: EventSource | undefined;
  private retryTimer: number | undefined;
  /** Bumped on every start/stop so callbacks of an old stream are ignored. */
  private generation = 0;
  private prefix = '';
  /** The last complete revision received: where a new stream resumes. */
  private resumeRevision = 0;

  constructor(
    private readonly api: KvsApi,
    private readonly handlers: LiveFeedHandlers,
  ) {}

  start(prefix: string, since: number): void {
    this.stop();
    this.prefix = prefix;
    this.resumeRevision = since;
    this.open();
  }

  stop(): void {
    this.generation++;
    this.source?.close();
    this.source = undefined;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private open(): void {
    const generation = this.generation;
    const source = new EventSource(this.api.watchUrl(this.prefix, this.resumeRevision));
    this.source = source;
    this.handlers.onState('connecting', 'Connecting to the change feed…');
    source.onopen = () => {
      if (generation === this.generation) this.handlers.onState('live', 'Live: changes appear as they happen.');
    };
    const onChange = (message: MessageEvent<string>) => {
      if (generation !== this.generation) return;
      // Only the last event of a revision carries an id, so lastEventId is always a complete revision.
      if (message.lastEventId !== '') this.resumeRevision = Number(message.lastEventId);
      this.handlers.onChange(JSON.parse(message.data) as ChangeEvent);
    };
    for (const type of ['put', 'delete', 'expire'] as const) source.addEventListener(type, onChange);
    source.addEventListener('end', (message: MessageEvent<string>) => {
      if (generation !== this.generation) return;
      const { reason } = JSON.parse(message.data) as { reason?: string };
      this.handlers.onState('reconnecting', `The server ended the change feed (${reason ?? 'no reason given'}); reconnecting…`);
    });
    source.onerror = () => {
      if (generation !== this.generation) return;
      if (source.readyState === EventSource.CONNECTING) {
        this.handlers.onState('reconnecting', 'Connection lost; reconnecting…');
        return;
      }
      source.close();
      void this.diagnose(generation);
    };
  }

  /** EventSource hides the status of a refused stream: ask once with fetch, then act on it. */
  private async diagnose(generation: number): Promise<void> {
    const problem = await this.api.probeWatch(this.prefix, this.resumeRevision);
    if (generation !== this.generation) return;
    if (problem?.code === 'history_compacted') {
      this.handlers.onResync();
      return;
    }
    if (problem !== undefined) this.handlers.onState('offline', `No live updates: ${explain(problem)}`);
    else this.handlers.onState('reconnecting', 'Connection lost; reconnecting…');
    // Auth problems stay until the token changes (which restarts the feed); retry the rest.
    if (problem?.status === 401 || problem?.status === 403) return;
    this.retryTimer = window.setTimeout(() => {
      if (generation === this.generation) this.open();
    }, RETRY_MS);
  }
}
