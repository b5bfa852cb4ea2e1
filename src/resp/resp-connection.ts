// One client connection: the thin loop between a socket, the parser and the session.
//
// Pipelining: commands are taken in order; replies are written in order. A command that reads
// waits for every earlier command of this connection to finish, so it sees their effects. A run
// of blind writes (SET without options, MSET, SETEX) is started without waiting: their commits
// are queued in order and may share one durable commit, and each reply is still sent only after
// its own write resolved (durable). Replies produced in one event-loop turn go out in one socket
// write (setImmediate flush).
//
// Bounds: a partial request must complete within limits.requestTimeoutMs; reading pauses while
// the socket's unsent output or the backlog of parsed commands is large, so a client that does not
// read its replies stops being read instead of growing memory.

import type { Socket } from 'node:net';
import { writeReply, type ReplySink } from './encoder.js';
import { ProtocolError, RespParser } from './parser.js';
import { ErrorReply, type Reply } from './reply.js';
import { toErrorReply } from './resp-errors.js';
import type { RespServerState } from './server-state.js';
import { Session } from './session.js';

/** Pause reading while more than this many parsed commands wait to run. */
const MAX_BACKLOG = 4096;
/** Pause reading while more than this many reply bytes wait in the socket. */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

interface ReplySlot {
  done: boolean;
  reply: Reply;
  /** Close the connection once this reply is written (QUIT, protocol error). */
  close: boolean;
}

export class RespConnection implements ReplySink {
  readonly session: Session;
  private readonly parser: RespParser;
  private backlog: (Buffer[] | ProtocolError)[] = [];
  private backlogHead = 0;
  /** A command that others must wait for is running. */
  private waiting = false;
  private blindWritesInFlight = 0;
  private waitingForBlindWrites = false;
  private readonly slots: ReplySlot[] = [];
  private pendingText = '';
  private chunks: (string | Buffer)[] = [];
  private flushScheduled = false;
  /** Inside onData: replies ready by its end are written then, in one write. */
  private handlingData = false;
  /** No more commands are taken (QUIT, protocol error, closed). */
  private stopped = false;
  private closed = false;
  private paused = false;
  private requestTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly server: RespServerState,
  ) {
    this.session = new Session(server, {
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? 0,
    });
    this.parser = new RespParser({ maxRequestBytes: server.limits.maxRespRequestBytes, maxArguments: server.limits.maxRespArguments });
    server.sessions.set(this.session.id, this.session);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateReading());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.parser.feed(chunk);
    for (;;) {
      const item = this.parser.next();
      if (item === undefined) break;
      this.backlog.push(item);
      if (item instanceof ProtocolError) break;
    }
    this.handlingData = true;
    this.pump();
    this.handlingData = false;
    // Replies answered synchronously (reads) go out now, without waiting for another turn.
    if (!this.flushScheduled && (this.pendingText !== '' || this.chunks.length > 0)) this.flush();
    this.watchPartialRequest();
    this.updateReading();
  }

  /** Runs queued commands until one must be waited for. */
  private pump(): void {
    while (!this.waiting && !this.stopped && this.backlogHead < this.backlog.length) {
      const item = this.backlog[this.backlogHead]!;
      if (item instanceof ProtocolError) {
        this.backlogHead++;
        this.stopped = true;
        this.addReply(new ErrorReply(`ERR ${item.message}`), true);
        break;
      }
      if (this.blindWritesInFlight > 0 && !this.session.isBlindWrite(item)) {
        this.waitingForBlindWrites = true;
        return;
      }
      this.backlogHead++;
      let dispatched;
      try {
        dispatched = this.session.dispatch(item);
      } catch (error) {
        dispatched = { reply: toErrorReply(error, this.server.log), blind: false };
      }
      const { reply, blind } = dispatched;
      const close = this.session.closeAfterReply;
      if (close) this.stopped = true;
      if (!(reply instanceof Promise)) {
        this.addReply(reply, close);
        continue;
      }
      const slot: ReplySlot = { done: false, reply: null, close };
      this.slots.push(slot);
      if (blind) {
        this.blindWritesInFlight++;
        reply.then(
          (value) => this.blindWriteDone(slot, value),
          (error: unknown) => this.blindWriteDone(slot, toErrorReply(error, this.server.log)),
        );
      } else {
        this.waiting = true;
        reply.then(
          (value) => this.commandDone(slot, value),
          (error: unknown) => this.commandDone(slot, toErrorReply(error, this.server.log)),
        );
      }
    }
    if (this.backlogHead >= this.backlog.length && this.backlog.length > 0) {
      this.backlog = [];
      this.backlogHead = 0;
    }
  }

  private commandDone(slot: ReplySlot, reply: Reply): void {
    slot.done = true;
    slot.reply = reply;
    this.waiting = false;
    this.drainSlots();
    this.pump();
    this.updateReading();
  }

  private blindWriteDone(slot: ReplySlot, reply: Reply): void {
    slot.done = true;
    slot.reply = reply;
    this.blindWritesInFlight--;
    this.drainSlots();
    if (this.blindWritesInFlight === 0 && this.waitingForBlindWrites) {
      this.waitingForBlindWrites = false;
      this.pump();
      this.updateReading();
    }
  }

  private addReply(reply: Reply, close: boolean): void {
    if (this.slots.length === 0) {
      this.encode(reply, close);
    } else {
      this.slots.push({ done: true, reply, close });
    }
  }

  /** Encodes the finished replies at the head of the queue, in order. */
  private drainSlots(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      this.encode(slot.reply, slot.close);
    }
  }

  private encode(reply: Reply, close: boolean): void {
    if (this.closed) return;
    writeReply(this, reply, this.session.protocol);
    if (close) {
      this.flush();
      this.socket.end();
      this.closed = true;
      return;
    }
    if (!this.flushScheduled && !this.handlingData) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  // ReplySink
  text(chunk: string): void {
    this.pendingText += chunk;
  }

  bytes(chunk: Buffer): void {
    if (this.pendingText !== '') this.chunks.push(this.pendingText);
    this.pendingText = '';
    this.chunks.push(chunk);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed && this.socket.writableEnded) return;
    if (this.chunks.length === 0) {
      if (this.pendingText !== '') this.socket.write(this.pendingText, 'latin1');
    } else {
      if (this.pendingText !== '') this.chunks.push(this.pendingText);
      this.socket.cork();
      for (const chunk of this.chunks) {
        if (typeof chunk === 'string') this.socket.write(chunk, 'latin1');
        else this.socket.write(chunk);
      }
      this.socket.uncork();
      this.chunks = [];
    }
    this.pendingText = '';
    this.updateReading();
  }

  /** A partially received request must complete within requestTimeoutMs (slow-client bound). */
  private watchPartialRequest(): void {
    if (this.parser.idle || this.stopped) {
      if (this.requestTimer) clearTimeout(this.requestTimer);
      this.requestTimer = undefined;
      return;
    }
    this.requestTimer ??= setTimeout(() => {
      this.requestTimer = undefined;
      if (this.parser.idle || this.stopped) return;
      this.stopped = true;
      this.addReply(new ErrorReply('ERR The request was not received in time.'), true);
    }, this.server.limits.requestTimeoutMs);
  }

  private updateReading(): void {
    if (this.closed) return;
    const backlog = this.backlog.length - this.backlogHead;
    const shouldPause = backlog > MAX_BACKLOG || this.socket.writableLength > MAX_UNSENT_BYTES;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private onClose(): void {
    this.closed = true;
    this.stopped = true;
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.server.sessions.delete(this.session.id);
  }
}
