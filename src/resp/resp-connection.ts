// One client connection: the thin loop between a socket, the parser and the session.
//
// Pipelining: commands are taken in order; replies are written in order. A command that reads
// waits for every earlier command of this connection to finish, so it sees their effects. A run
// of blind writes (SET without options, MSET, SETEX) is started without waiting: their commits
// are queued in order and may share one durable commit, and each reply is still sent only after
// its own write resolved (durable). Replies produced in one event-loop turn go out in one socket
// write (setImmediate flush).
//
// Bounds (docs/limits.md): a partial request must complete within limits.requestTimeoutMs.
// Commands stop running, and the socket stops being read, while more than OUTPUT_PAUSE_BYTES of
// replies are unsent (so a client that does not read its replies stops being served instead of
// growing memory: a chunk of pipelined GETs is not answered all at once); a connection whose
// unsent replies still exceed limits.maxRespOutputBytes is disconnected. Reading also pauses while
// the parsed commands waiting to run hold more than maxRespRequestBytes or number more than
// MAX_BACKLOG. What the connection holds (input, MULTI queue, output) is reported to the
// listener's ClientMemoryBudget (limits.maxRespClientsBytes).

import type { Socket } from 'node:net';
import { writeReply } from './encoder.js';
import type { MemoryHolder } from './client-memory.js';
import { OutputBuffer } from './output-buffer.js';
import { ProtocolError, RespParser } from './parser.js';
import { ErrorReply, type Reply } from './reply.js';
import { toErrorReply } from './resp-errors.js';
import type { RespServerState } from './server-state.js';
import { Session } from './session.js';

/** Pause reading while more than this many parsed commands wait to run. */
const MAX_BACKLOG = 4096;
/** Stop running commands and reading while more than this many reply bytes are unsent. */
export const OUTPUT_PAUSE_BYTES = 4 * 1024 * 1024;
/** Time a client has to read the last reply of a connection kvs ends before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

interface ReplySlot {
  done: boolean;
  reply: Reply;
  /** Close the connection once this reply is written (QUIT, protocol error). */
  close: boolean;
}

export class RespConnection implements MemoryHolder {
  readonly session: Session;
  heldBytes = 0;
  private readonly parser: RespParser;
  private backlog: (Buffer[] | ProtocolError)[] = [];
  /** The cost of each backlog item (parser.lastCommandBytes), and their sum from backlogHead on. */
  private backlogCosts: number[] = [];
  private backlogBytes = 0;
  private backlogHead = 0;
  /** A command that others must wait for is running. */
  private waiting = false;
  private blindWritesInFlight = 0;
  private waitingForBlindWrites = false;
  private readonly slots: ReplySlot[] = [];
  /** Replies encoded and not yet handed to the socket. */
  private readonly output: OutputBuffer;
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
    this.output = new OutputBuffer((detail) =>
      this.server.log(
        `resp: internal error: client id=${this.session.id} command ${this.session.lastCommand}: ${detail}`,
      ),
    );
    this.parser = new RespParser({
      maxRequestBytes: server.limits.maxRespRequestBytes,
      maxArguments: server.limits.maxRespArguments,
    });
    server.sessions.set(this.session.id, this.session);
    server.memory.add(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    // CLIENT LIST's idle time counts from the last read, as Redis's does.
    this.session.lastActiveAt = Date.now();
    this.parser.feed(chunk);
    for (;;) {
      const item = this.parser.next();
      if (item === undefined) break;
      const cost = item instanceof ProtocolError ? 0 : this.parser.lastCommandBytes;
      this.backlog.push(item);
      this.backlogCosts.push(cost);
      this.backlogBytes += cost;
      if (item instanceof ProtocolError) break;
    }
    this.handlingData = true;
    this.pump();
    this.handlingData = false;
    // Replies answered synchronously (reads) go out now, without waiting for another turn.
    if (!this.flushScheduled && this.output.length > 0) this.flush();
    this.watchPartialRequest();
    this.updateReading();
    this.account();
  }

  /** The socket sent everything: run the commands held back for output (see OUTPUT_PAUSE_BYTES). */
  private onDrain(): void {
    this.pump();
    this.updateReading();
    this.account();
  }

  /** Unsent reply bytes: in the socket and encoded but not yet written. */
  private get outputBytes(): number {
    return this.socket.writableLength + this.output.length;
  }

  /** Reports what this connection holds to the listener's budget (which may evict it). */
  private account(): void {
    if (this.closed) return;
    const multiBytes = this.session.multiBytes;
    this.server.memory.update(this, this.parser.pendingBytes + this.backlogBytes + multiBytes + this.outputBytes);
  }

  /** MemoryHolder: the listener's connections hold too much and this one holds the most. */
  evict(totalBytes: number): void {
    if (this.closed) return;
    this.server.log(
      `resp: client id=${this.session.id} disconnected: RESP connections held ${totalBytes} bytes (maxRespClientsBytes ${this.server.limits.maxRespClientsBytes}), this one the most`,
    );
    const hadOutput = this.outputBytes > 0;
    this.dropEverything();
    if (hadOutput) {
      this.socket.destroy();
      return;
    }
    this.socket.write(
      `-ERR Connection closed: RESP clients hold more than ${this.server.limits.maxRespClientsBytes} bytes (maxRespClientsBytes), this one the most.\r\n`,
      'latin1',
    );
    this.closeAfterReply();
  }

  /**
   * Ends the connection after its last reply (QUIT, protocol error, eviction). Nothing more is
   * read: a client that goes on sending (20 clients each sending 6 MiB after a refused `*1048576`
   * grew RSS by 38 MiB of read-and-dropped chunks) costs nothing. The socket is let go after
   * CLOSE_GRACE_MS even if the client never closes its side.
   */
  private closeAfterReply(): void {
    this.socket.pause();
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
    this.server.sessions.delete(this.session.id);
  }

  /** Stops everything and lets go of what the connection holds. */
  private dropEverything(): void {
    this.closed = true;
    this.stopped = true;
    this.backlog = [];
    this.backlogCosts = [];
    this.backlogBytes = 0;
    this.backlogHead = 0;
    this.slots.length = 0;
    this.output.clear();
    this.parser.discard();
    this.session.endMulti();
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    this.server.memory.remove(this);
  }

  /** Runs queued commands until one must be waited for. */
  private pump(): void {
    // One clock reading ends a command answered at once and starts the next. A reading costs
    // about 60 ns on the 2-core machine: with two per command here and the session's own (now
    // one per read chunk), clock readings were 3.5% of kvs's samples under redis-benchmark -P 16
    // GET (perf), 2.3% after.
    let clock = performance.now();
    while (!this.waiting && !this.stopped && this.backlogHead < this.backlog.length) {
      // Replies wait in memory until the client reads them: answer no more until it has.
      if (this.outputBytes > OUTPUT_PAUSE_BYTES) break;
      const item = this.backlog[this.backlogHead]!;
      this.backlogBytes -= this.backlogCosts[this.backlogHead]!;
      if (item instanceof ProtocolError) {
        this.backlogHead++;
        this.stopped = true;
        this.addReply(new ErrorReply(`ERR ${item.message}`), true);
        break;
      }
      if (this.blindWritesInFlight > 0 && !this.session.isBlindWrite(item)) {
        this.backlogBytes += this.backlogCosts[this.backlogHead]!;
        this.waitingForBlindWrites = true;
        return;
      }
      this.backlogHead++;
      const started = clock;
      let reply: Reply | Promise<Reply>;
      let blind = false;
      try {
        reply = this.session.dispatch(item);
        blind = this.session.dispatchedBlindWrite;
      } catch (error) {
        reply = toErrorReply(error, this.server.log);
      }
      const command = this.session.metricName;
      const close = this.session.closeAfterReply;
      if (close) this.stopped = true;
      if (!(reply instanceof Promise)) {
        this.addReply(reply, close);
        clock = performance.now();
        this.server.recordCommand(this.session, command, (clock - started) / 1000, reply);
        continue;
      }
      const slot: ReplySlot = { done: false, reply: null, close };
      this.slots.push(slot);
      const done = blind ? this.blindWriteDone : this.commandDone;
      if (blind) this.blindWritesInFlight++;
      else this.waiting = true;
      const settle = (value: Reply) => {
        this.server.recordCommand(this.session, command, (performance.now() - started) / 1000, value);
        done.call(this, slot, value);
      };
      reply.then(settle, (error: unknown) => settle(toErrorReply(error, this.server.log)));
      clock = performance.now();
    }
    if (this.backlogHead >= this.backlog.length && this.backlog.length > 0) {
      this.backlog = [];
      this.backlogCosts = [];
      this.backlogBytes = 0;
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
    writeReply(this.output, reply, this.session.protocol);
    if (this.outputBytes > this.server.limits.maxRespOutputBytes) {
      this.disconnectForOutput();
      return;
    }
    if (close) {
      this.flush();
      this.closeAfterReply();
      this.closed = true;
      return;
    }
    if (!this.flushScheduled && !this.handlingData) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** The client does not read its replies and they exceed maxRespOutputBytes: drop it. */
  private disconnectForOutput(): void {
    this.server.log(
      `resp: client id=${this.session.id} disconnected: ${this.outputBytes} bytes of unsent replies exceed maxRespOutputBytes (${this.server.limits.maxRespOutputBytes})`,
    );
    this.dropEverything();
    this.socket.destroy();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed && this.socket.writableEnded) return;
    if (this.closed && this.output.length === 0) return;
    const segments = this.output.take();
    if (segments.length === 1) {
      this.socket.write(segments[0]!);
    } else if (segments.length > 1) {
      this.socket.cork();
      for (const segment of segments) this.socket.write(segment);
      this.socket.uncork();
    }
    this.updateReading();
    this.account();
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
    const shouldPause =
      backlog > MAX_BACKLOG ||
      this.backlogBytes > this.server.limits.maxRespRequestBytes ||
      this.outputBytes > OUTPUT_PAUSE_BYTES;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private onClose(): void {
    this.dropEverything();
    this.server.sessions.delete(this.session.id);
  }
}
