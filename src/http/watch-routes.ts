// GET /v1/watch: Server-Sent Events of put/delete/expire (docs/consistency.md, "Watch").
// Each revision's last event carries `id: <revision>`, so a reconnecting client's Last-Event-ID
// resumes exactly after the last complete revision it received.

import type { FastifyPluginAsync } from 'fastify';
import type { ServerResponse } from 'node:http';
import { errorCatalogue, KvsError } from '../core/errors.js';
import type { ChangeEvent } from '../model/events.js';
import type { WatchEventData } from '../model/http-json.js';
import type { Caller, KvService } from '../core/service.js';
import type { WatchEndReason, WatchHub, WatchSink } from '../core/watch-hub.js';
import { callerOf } from './caller.js';
import { isoTime } from './iso-time.js';

export function formatEvents(events: readonly ChangeEvent[], withValues: boolean): string {
  let text = '';
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    const data: WatchEventData = {
      type: event.type,
      key: event.key,
      revision: event.revision,
      version: event.version,
    };
    if (event.type === 'put') {
      if (event.expires) data.expires = isoTime(event.expires);
      if (withValues) {
        if (event.value !== undefined) data.value = event.value.toString('base64');
        else data.valueOmitted = true;
      }
    }
    const lastOfRevision = events[index + 1]?.revision !== event.revision;
    text += `${lastOfRevision ? `id: ${event.revision}\n` : ''}event: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
  }
  return text;
}

/** How long a watcher cut off for lagging may take to read what was already buffered. */
const LAGGING_GRACE_MS = 10_000;

/**
 * Bytes written to watch streams and not yet taken by the socket, over all watchers of this
 * process, against `watchBufferTotalBytes` (docs/limits.md).
 */
export class WatchBufferBudget {
  used = 0;
  constructor(readonly limit: number) {}
}

class SseSink implements WatchSink {
  private waitingEvents = 0;
  /** This stream's share of the budget: its writableLength when last measured. */
  private pendingBytes = 0;
  private ended = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly service: KvService,
    private readonly caller: Caller,
    private readonly withValues: boolean,
    private readonly budget: WatchBufferBudget,
  ) {
    response.on('drain', () => {
      this.waitingEvents = 0;
      this.measure();
    });
    response.once('close', () => {
      this.budget.used -= this.pendingBytes;
      this.pendingBytes = 0;
    });
  }

  private measure(): void {
    const pending = this.response.destroyed ? 0 : this.response.writableLength;
    this.budget.used += pending - this.pendingBytes;
    this.pendingBytes = pending;
  }

  push(events: readonly ChangeEvent[]): boolean {
    if (this.ended) return true;
    if (!this.service.stillValid(this.caller)) {
      this.closeRevoked();
      return true;
    }
    const visible = events.filter((event) => this.service.mayRead(this.caller, event.key));
    if (visible.length === 0) return true;
    this.measure();
    // Measured before this write: a stream holds at most watchBufferBytes plus one batch.
    const backlog = this.pendingBytes;
    const flushed = this.response.write(formatEvents(visible, this.withValues));
    if (!flushed) this.waitingEvents += visible.length;
    this.measure();
    const limits = this.service.limits;
    if (this.waitingEvents > limits.watchBufferEvents || backlog > limits.watchBufferBytes) return false;
    // Over the process-wide budget, every stream that has not taken what it was sent is cut.
    return !(this.budget.used > this.budget.limit && backlog > 0);
  }

  ready(): Promise<void> | undefined {
    if (this.ended || !this.response.writableNeedDrain) return undefined;
    return new Promise((resolve) => {
      this.response.once('drain', resolve);
      this.response.once('close', resolve);
    });
  }

  heartbeat(): void {
    if (!this.ended) this.response.write(': ping\n\n');
  }

  /** Ends the stream because its token was revoked or expired: a coded end event, nothing after it. */
  closeRevoked(): void {
    this.close('revoked', `${errorCatalogue.token_revoked.message} (token_revoked)`);
  }

  close(reason: WatchEndReason, detail?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.response.end(`event: end\ndata: ${JSON.stringify({ reason, detail: detail ?? null })}\n\n`);
    if (reason === 'lagging') {
      // Nothing more is queued, so the buffer stays bounded. A client that reads again within
      // the grace period gets the buffered events and the end event (and knows where to resume);
      // one that does not is dropped.
      const timer = setTimeout(() => this.response.destroy(), LAGGING_GRACE_MS).unref();
      this.response.once('close', () => clearTimeout(timer));
    }
  }
}

export const watchRoutes: FastifyPluginAsync<{ service: KvService; hub: WatchHub; heartbeatMs: number }> = async (
  app,
  { service, hub, heartbeatMs },
) => {
  const budget = new WatchBufferBudget(service.limits.watchBufferTotalBytes);
  app.get<{ Querystring: { prefix?: string; since?: number; values?: string; auth?: string } }>(
    '/v1/watch',
    {
      schema: {
        summary: 'Server-Sent Events of put/delete/expire after `since` (or Last-Event-ID); 410 if compacted',
        querystring: {
          type: 'object',
          properties: {
            prefix: { type: 'string' },
            since: { type: 'integer', minimum: 0 },
            values: { type: 'string', enum: ['0', '1', 'true', 'false'] },
            // EventSource (the web UI) cannot send an Authorization header.
            auth: { type: 'string', description: 'token, for clients that cannot send Authorization' },
          },
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(service, request, request.query.auth);
      const prefix = request.query.prefix ?? '';
      if (service.privateReads && caller.principal === undefined) throw new KvsError('auth_required');
      const lastEventId = request.headers['last-event-id'];
      let since = request.query.since;
      if (typeof lastEventId === 'string' && lastEventId !== '') {
        if (!/^\d+$/.test(lastEventId)) throw new KvsError('bad_request', 'Last-Event-ID must be a revision number.');
        since = Number(lastEventId);
      }
      // Refuse a compacted resume point with a proper 410 before the stream starts.
      if (since !== undefined) await service.history(since, 0);
      const withValues = request.query.values === '1' || request.query.values === 'true';

      // A HEAD of a stream has no body to wait for: answer the headers and end.
      if (request.method === 'HEAD') {
        return reply
          .code(200)
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-cache')
          .send();
      }
      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      response.write(`: kvs watch prefix=${JSON.stringify(prefix)} since=${since ?? 'now'}\nretry: 1000\n\n`);
      const sink = new SseSink(response, service, caller, withValues, budget);
      let stop: (() => void) | undefined;
      const heartbeat = setInterval(() => {
        if (service.stillValid(caller)) sink.heartbeat();
        else {
          sink.closeRevoked();
          cleanup();
        }
      }, heartbeatMs);
      // A minted token can be revoked while the stream is open: the stream ends at once then
      // (this process's revocations at once, other processes' within the token poll).
      const unwatchTokens =
        caller.principal?.grant.id === undefined
          ? undefined
          : service.tokens.onChange(() => {
              if (service.stillValid(caller)) return;
              sink.closeRevoked();
              cleanup();
            });
      const cleanup = () => {
        clearInterval(heartbeat);
        unwatchTokens?.();
        stop?.();
      };
      request.raw.socket.on('close', cleanup);
      try {
        stop = await hub.watch(prefix, since, sink);
        if (response.destroyed) stop();
      } catch (error) {
        const code = error instanceof KvsError ? error.code : 'internal';
        sink.close(
          code === 'history_compacted' ? 'compacted' : 'error',
          error instanceof Error ? error.message : String(error),
        );
        cleanup();
      }
    },
  );
};
