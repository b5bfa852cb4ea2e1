// etcd watches, on the raw gRPC watch stream (the etcd3 client's own Watcher resumes from the
// revision of its creation response after a disconnect, which can skip events that were still
// being replayed; here every resume starts after the last revision actually received).
//
// - ChangeFeed: the engine's live feed (Engine.subscribe), one watch over the namespace's kvs
//   keys and commit record (KeySpace.changeRange: not its history keys) for all listeners,
//   reconnecting after failures from the last delivered revision.
// - readHistory: a one-off watch from a revision, for Engine.history.
// - probeCompactRevision: etcd's compaction point, which only a watch reports.

import type { IDuplexStream, IWatchCreateRequest, IWatchRequest, IWatchResponse, WatchClient } from 'etcd3';
import type { ChangeEvent } from '../../model/events.js';
import type { ChangeListener } from '../engine.js';
import { EngineUnavailableError, HistoryCompactedError } from '../errors.js';
import { decodeChanges } from './change-decoder.js';
import type { KeySpace } from './key-space.js';

/** etcd sends at most this many revisions per watch response while catching up (mvcc watchBatchMaxRevs). */
const WATCH_BATCH_REVISIONS = 1000;

interface WatchHandlers {
  onResponse(response: IWatchResponse): void;
  /** The stream failed or ended by itself (never called after cancel()). */
  onEnd(error: Error): void;
}

export interface WatchHandle {
  cancel(): void;
}

export function openWatch(client: WatchClient, request: IWatchCreateRequest, handlers: WatchHandlers): WatchHandle {
  let over = false;
  let stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  const end = (error: Error) => {
    if (over) return;
    over = true;
    handlers.onEnd(error);
  };
  client.watch().then(
    (opened) => {
      stream = opened;
      // Keep an error listener for the stream's whole life: cancel() itself ends in an error event.
      opened.on('error', (error) => end(error));
      opened.on('end', () => end(new Error('the etcd watch stream ended')));
      opened.on('data', (response) => {
        if (!over) handlers.onResponse(response);
      });
      if (over) opened.cancel();
      else opened.write({ create_request: request });
    },
    (error: unknown) => end(error instanceof Error ? error : new Error(String(error))),
  );
  return {
    cancel() {
      over = true;
      stream?.cancel();
    },
  };
}

export interface FeedOptions {
  readonly watch: WatchClient;
  readonly space: KeySpace;
  readonly logValueMax: number;
  /** The newest revision the engine has seen in any etcd response. */
  readonly knownRevision: () => number;
  readonly log: (message: string) => void;
}

export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();
  private handle: WatchHandle | undefined;
  private retry: NodeJS.Timeout | undefined;
  /** Highest revision delivered (or skipped as empty) to the listeners. */
  private delivered = 0;
  private backoffMs = 100;
  private closed = false;

  constructor(private readonly options: FeedOptions) {}

  subscribe(listener: ChangeListener): () => void {
    if (this.closed) return () => undefined;
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start(Math.max(this.delivered, this.options.knownRevision()) + 1);
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.stop();
    };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stop();
  }

  private start(from: number): void {
    this.stop();
    this.delivered = from - 1;
    const range = this.options.space.changeRange();
    this.handle = openWatch(
      this.options.watch,
      { key: range.start, range_end: range.end, start_revision: from, progress_notify: true },
      { onResponse: (response) => this.onResponse(response), onEnd: (error) => this.onEnd(error) },
    );
  }

  private stop(): void {
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    this.handle?.cancel();
    this.handle = undefined;
  }

  private onResponse(response: IWatchResponse): void {
    if (response.canceled) {
      const compacted = Number(response.compact_revision);
      if (compacted > 0) {
        this.options.log(
          `the etcd watch fell behind etcd's compaction: changes of revisions ${this.delivered + 1} to ${compacted} were not delivered to watchers`,
        );
        this.delivered = Math.max(this.delivered, compacted);
      } else {
        this.options.log(`etcd cancelled the change watch (${response.cancel_reason || 'no reason given'}); resuming`);
      }
      this.restartLater();
      return;
    }
    if (response.created) {
      this.backoffMs = 100;
      return;
    }
    if (response.events.length === 0) return;
    const last = Number(response.events[response.events.length - 1]!.kv.mod_revision);
    const changes = decodeChanges(response.events, this.options.space, this.options.logValueMax).filter(
      (event) => event.revision > this.delivered,
    );
    this.delivered = Math.max(this.delivered, last);
    if (changes.length === 0) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(changes);
      } catch (error) {
        this.options.log(`a change listener failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private onEnd(error: Error): void {
    this.handle = undefined;
    if (this.closed || this.listeners.size === 0) return;
    this.options.log(
      `the etcd change watch broke (${error.message.split('\n')[0]}); resuming from revision ${this.delivered + 1}`,
    );
    this.restartLater();
  }

  private restartLater(): void {
    this.handle?.cancel();
    this.handle = undefined;
    if (this.closed || this.listeners.size === 0 || this.retry !== undefined) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.closed && this.listeners.size > 0) this.start(this.delivered + 1);
    }, delay);
    this.retry.unref();
  }
}

export interface HistoryRead {
  readonly watch: WatchClient;
  readonly space: KeySpace;
  readonly logValueMax: number;
  /** Events after this revision. */
  readonly since: number;
  /** At most this many revisions' worth. */
  readonly limit: number;
  /** The store revision when the read began. */
  readonly revision: number;
  /** The namespace's last kvs commit when the read began (the commit record's mod_revision). */
  readonly lastCommit: number;
  /**
   * Whether the namespace is known to have no change in (received, revision]: asked once every
   * kvs commit has been received, since only etcd's lease revocations can follow.
   */
  readonly nothingAfter: (received: number) => Promise<boolean>;
  readonly timeoutMs: number;
}

/**
 * The namespace's change events after `since`, replayed by an etcd watch. etcd 3.4 cannot say
 * when a watch has caught up, so the read ends when it has received `limit` revisions, or
 * everything up to the revision it started at, or every kvs commit when nothing else can follow.
 */
export function readHistory(read: HistoryRead): Promise<ChangeEvent[]> {
  return new Promise<ChangeEvent[]>((resolve, reject) => {
    const events: ChangeEvent[] = [];
    let revisions = 0;
    /** Every namespace event up to this revision has been received. */
    let received = read.since;
    let checking = false;
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      handle.cancel();
      if (error !== undefined) reject(error);
      else resolve(firstRevisions(events, read.limit));
    };
    const timer = setTimeout(
      () =>
        finish(
          new EngineUnavailableError(
            `etcd did not replay the changes after revision ${read.since} within ${read.timeoutMs} ms`,
          ),
        ),
      read.timeoutMs,
    );
    const check = () => {
      if (finished) return;
      // A revision's events always arrive in one response, so `limit` revisions are complete.
      if (revisions >= read.limit || received >= read.revision) {
        finish();
        return;
      }
      if (received < read.lastCommit || checking) return;
      checking = true;
      const asked = received;
      read.nothingAfter(asked).then(
        (nothing) => {
          checking = false;
          if (nothing) finish();
          else if (received > asked) check();
        },
        (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
      );
    };
    const range = read.space.changeRange();
    const handle = openWatch(
      read.watch,
      { key: range.start, range_end: range.end, start_revision: read.since + 1 },
      {
        onResponse: (response) => {
          if (response.canceled) {
            const compacted = Number(response.compact_revision);
            finish(
              compacted > 0
                ? new HistoryCompactedError(compacted + 1)
                : new EngineUnavailableError(
                    `etcd cancelled the history watch: ${response.cancel_reason || 'no reason given'}`,
                  ),
            );
            return;
          }
          if (!response.created) {
            const raw = response.events;
            if (raw.length > 0) {
              for (const event of decodeChanges(raw, read.space, read.logValueMax)) {
                if (events.length === 0 || events[events.length - 1]!.revision !== event.revision) revisions++;
                events.push(event);
              }
              received = Math.max(received, Number(raw[raw.length - 1]!.kv.mod_revision));
            }
            // A response with fewer revisions than etcd's batch cap, or a progress notification,
            // carries everything up to its header revision.
            if (distinctRevisions(response) < WATCH_BATCH_REVISIONS)
              received = Math.max(received, Number(response.header.revision));
          }
          check();
        },
        onEnd: (error) =>
          finish(
            new EngineUnavailableError(`the etcd history watch failed: ${error.message.split('\n')[0]}`, {
              cause: error,
            }),
          ),
      },
    );
  });
}

function distinctRevisions(response: IWatchResponse): number {
  let count = 0;
  let last: string | undefined;
  for (const event of response.events) {
    if (event.kv.mod_revision !== last) count++;
    last = event.kv.mod_revision;
  }
  return count;
}

function firstRevisions(events: ChangeEvent[], limit: number): ChangeEvent[] {
  let revisions = 0;
  let last = -1;
  for (let index = 0; index < events.length; index++) {
    if (events[index]!.revision !== last) {
      revisions++;
      last = events[index]!.revision;
      if (revisions > limit) return events.slice(0, index);
    }
  }
  return events;
}

/** The revision etcd compacted to; call only once a read at an old revision was refused as compacted. */
export function probeCompactRevision(watch: WatchClient, key: Buffer, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let finished = false;
    const finish = (outcome: number | Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      handle.cancel();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () => finish(new EngineUnavailableError(`etcd did not report its compaction point within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const handle = openWatch(
      watch,
      { key, start_revision: 1 },
      {
        onResponse: (response) => {
          if (response.canceled) finish(Number(response.compact_revision));
          else if (!response.created) finish(0);
        },
        onEnd: (error) =>
          finish(
            new EngineUnavailableError(`the etcd watch failed: ${error.message.split('\n')[0]}`, { cause: error }),
          ),
      },
    );
  });
}
