// The client side of RESP2 for the attacks: encoding commands, and a streaming reply reader that
// counts every byte and finds where each top-level reply ends without building it (a COMMAND
// INFO reply can be tens of megabytes of nested arrays; only its size and outcome matter here).

import { connect, type Socket } from 'node:net';

export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export interface RespReply {
  readonly kind: 'simple' | 'error' | 'integer' | 'bulk' | 'null' | 'array' | 'other';
  /** The line, the first bytes of a bulk string, or the element count of an array. */
  readonly text: string;
  /** Bytes the whole reply took on the wire. */
  readonly bytes: number;
}

const TEXT_CAPTURE = 200;

export class RespReplyReader {
  private leftover: Buffer = Buffer.alloc(0);
  /** Stream offset of the first byte of `leftover`. */
  private consumed = 0;
  /** Elements still expected by each open aggregate, innermost last. */
  private readonly open: number[] = [];
  private replyStart = 0;
  private topKind: RespReply['kind'] = 'other';
  private topText = '';
  /** Bulk bytes (content and CRLF) still to skip. */
  private skip = 0;
  private bulkLength = 0;
  private bulkIsTop = false;

  feed(chunk: Buffer): RespReply[] {
    const replies: RespReply[] = [];
    const data = this.leftover.length > 0 ? Buffer.concat([this.leftover, chunk]) : chunk;
    let pos = 0;
    while (pos < data.length) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, data.length - pos);
        if (this.bulkIsTop && this.topText.length < TEXT_CAPTURE)
          this.topText += data.toString('latin1', pos, pos + Math.min(take, TEXT_CAPTURE));
        pos += take;
        this.skip -= take;
        if (this.skip === 0) {
          if (this.bulkIsTop) this.topText = this.topText.slice(0, Math.min(this.bulkLength, TEXT_CAPTURE));
          this.elementDone(pos, replies);
        }
        continue;
      }
      const lineEnd = data.indexOf('\r\n', pos, 'latin1');
      if (lineEnd < 0) break;
      const top = this.open.length === 0;
      if (top) this.replyStart = this.consumed + pos;
      const type = String.fromCharCode(data[pos]!);
      const line = data.toString('latin1', pos + 1, lineEnd);
      pos = lineEnd + 2;
      const leaf = (kind: RespReply['kind']) => {
        if (top) {
          this.topKind = kind;
          this.topText = line.slice(0, TEXT_CAPTURE);
        }
        this.elementDone(pos, replies);
      };
      switch (type) {
        case '+':
          leaf('simple');
          break;
        case '-':
          leaf('error');
          break;
        case ':':
          leaf('integer');
          break;
        case '$':
        case '=': {
          const length = Number(line);
          if (length < 0) {
            leaf('null');
            break;
          }
          if (top) {
            this.topKind = 'bulk';
            this.topText = '';
          }
          this.bulkIsTop = top;
          this.bulkLength = length;
          this.skip = length + 2;
          break;
        }
        case '*':
        case '~':
        case '>':
        case '%': {
          const count = Number(line) * (type === '%' ? 2 : 1);
          if (top) {
            this.topKind = count < 0 ? 'null' : 'array';
            this.topText = count < 0 ? '' : `${count} elements`;
          }
          if (count <= 0) this.elementDone(pos, replies);
          else this.open.push(count);
          break;
        }
        default:
          leaf('other');
      }
    }
    this.consumed += pos;
    this.leftover = Buffer.from(data.subarray(pos));
    return replies;
  }

  private elementDone(pos: number, replies: RespReply[]): void {
    for (;;) {
      if (this.open.length === 0) {
        replies.push({ kind: this.topKind, text: this.topText, bytes: this.consumed + pos - this.replyStart });
        return;
      }
      const last = this.open.length - 1;
      this.open[last]! -= 1;
      if (this.open[last]! > 0) return;
      this.open.pop();
    }
  }
}

/** One RESP connection answering commands in order; every call is bounded by a timeout. */
export class RespConnection {
  private readonly reader = new RespReplyReader();
  private readonly waiting: { resolve: (reply: RespReply) => void; reject: (error: Error) => void }[] = [];
  private failure: Error | undefined;
  bytesRead = 0;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.bytesRead += chunk.length;
      for (const reply of this.reader.feed(chunk)) this.waiting.shift()?.resolve(reply);
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the server')));
  }

  static open(port: number, timeoutMs = 5000, localAddress?: string): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`RESP connect timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new RespConnection(socket));
      });
      const onError = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', onError);
    });
  }

  /** Sends every command at once (one write), then waits for all their replies. */
  async pipeline(commands: readonly (readonly (string | Buffer)[])[], timeoutMs: number): Promise<RespReply[]> {
    if (this.failure !== undefined) throw this.failure;
    const replies = commands.map(
      () => new Promise<RespReply>((resolve, reject) => this.waiting.push({ resolve, reject })),
    );
    this.socket.write(Buffer.concat(commands.map((args) => encodeCommand(args))));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([Promise.all(replies), deadline]);
    } catch (error) {
      // Replies after a timeout would be matched to the wrong commands: this connection is done.
      this.socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
      for (const reply of replies) reply.catch(() => undefined);
    }
  }

  async call(args: readonly (string | Buffer)[], timeoutMs = 10_000): Promise<RespReply> {
    return (await this.pipeline([args], timeoutMs))[0]!;
  }

  close(): void {
    this.socket.destroy();
  }
}
