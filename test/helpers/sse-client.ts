// A small Server-Sent Events reader for tests, over node:http so that a test controls the
// socket: it can pause reading (a slow watcher), drop the connection mid-stream (reconnect
// tests) and see comments (heartbeats), which EventSource implementations hide.
//
// Parsing follows the WHATWG event-stream rules that kvs uses: lines end in LF, CRLF or CR; a
// blank line dispatches; `:` starts a comment; `field: value` with one optional space; `id`
// persists across events.

import { request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface SseEvent {
  /** The `event:` field ('message' when absent). */
  readonly event: string;
  readonly data: string;
  /** The `id:` field of this very event, if it had one. */
  readonly id: string | undefined;
  /** The last event ID after this event (what a reconnect sends as Last-Event-ID). */
  readonly lastEventId: string;
}

export interface SseOpenOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as Last-Event-ID. */
  readonly lastEventId?: string;
}

/** A non-2xx answer to the watch request (e.g. 410 history_compacted). */
export class SseHttpError extends Error {
  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly body: string,
  ) {
    super(`watch answered ${status}: ${body}`);
    this.name = 'SseHttpError';
  }

  json(): { error: Record<string, unknown> } {
    return JSON.parse(this.body) as { error: Record<string, unknown> };
  }
}

export class SseStream {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  lastEventId = '';
  /** True once the server ended the stream or the socket closed. */
  closed = false;
  /** Resolves when the stream is over (either side). */
  readonly done: Promise<void>;

  private buffer = '';
  private pendingCr = false;
  private eventType = '';
  private dataLines: string[] = [];
  private hasData = false;
  private eventId: string | undefined;
  private waiters = new Set<() => void>();

  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    private readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.feed(chunk));
    this.done = new Promise<void>((resolve) => {
      const finish = () => {
        if (this.closed) return;
        this.closed = true;
        this.notify();
        resolve();
      };
      response.on('end', finish);
      response.on('close', finish);
      response.on('error', finish);
      response.socket?.on('close', finish);
    });
  }

  /** Stops reading: bytes pile up in the socket buffers, as with a stalled client. */
  pause(): void {
    this.response.pause();
  }

  resume(): void {
    this.response.resume();
  }

  /** Drops the connection (the client goes away mid-stream). */
  close(): void {
    this.response.destroy();
    this.response.socket?.destroy();
  }

  /** Events of the given types (default: put, delete, expire). */
  changes(types: readonly string[] = ['put', 'delete', 'expire']): SseEvent[] {
    return this.events.filter((event) => types.includes(event.event));
  }

  /**
   * Waits until `predicate` holds (checked after every chunk), or fails after `timeoutMs`
   * with `describe()` in the message. Also fails if the stream closes first.
   */
  async waitFor(predicate: () => boolean, timeoutMs: number, describe = 'condition'): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          cleanup();
          resolve();
        } else if (this.closed) {
          cleanup();
          reject(new Error(`stream closed before ${describe}; got ${this.events.length} events`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe}; got ${this.events.length} events`));
      }, timeoutMs);
      // The predicate may also depend on things outside the stream: look again now and then.
      const poll = setInterval(check, 50);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Waits until the server closes the stream, or fails after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`stream still open after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private feed(chunk: string): void {
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let index = 0; index < this.buffer.length; index++) {
      const code = this.buffer.charCodeAt(index);
      if (code !== 10 && code !== 13) continue;
      const line = this.buffer.slice(start, index);
      if (code === 13) {
        if (index + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer.charCodeAt(index + 1) === 10) index++;
      }
      start = index + 1;
      this.line(line);
    }
    this.buffer = this.buffer.slice(start);
    this.notify();
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventType = value;
    else if (field === 'data') {
      this.dataLines.push(value);
      this.hasData = true;
    } else if (field === 'id' && !value.includes('\0')) {
      this.eventId = value;
      this.lastEventId = value;
    }
    // `retry` and unknown fields are ignored.
  }

  private dispatch(): void {
    const id = this.eventId;
    const type = this.eventType;
    this.eventId = undefined;
    this.eventType = '';
    if (!this.hasData) {
      this.dataLines = [];
      return;
    }
    const data = this.dataLines.join('\n');
    this.dataLines = [];
    this.hasData = false;
    this.events.push({ event: type === '' ? 'message' : type, data, id, lastEventId: this.lastEventId });
  }
}

/**
 * Opens an SSE stream at `url`. Resolves once the response headers arrived; rejects with
 * SseHttpError (with the body read) on a non-2xx answer.
 */
export async function openSse(url: string, options: SseOpenOptions = {}): Promise<SseStream> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  return new Promise<SseStream>((resolve, reject) => {
    // A dedicated connection per stream: closing one must not touch any other request.
    const req = request(url, { headers, agent: false }, (response) => {
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => reject(new SseHttpError(status, response.headers, body)));
        response.on('error', reject);
        return;
      }
      resolve(new SseStream(status, response.headers, response));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The JSON `data` of a kvs change event. */
export interface ChangeData {
  readonly type: 'put' | 'delete' | 'expire';
  readonly key: string;
  readonly revision: number;
  readonly version: number;
  readonly value?: string;
  readonly valueOmitted?: boolean;
  readonly expires?: string;
}

export function changeData(event: SseEvent): ChangeData {
  return JSON.parse(event.data) as ChangeData;
}
