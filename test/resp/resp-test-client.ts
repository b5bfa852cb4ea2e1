// A minimal RESP client for tests: sends commands (or raw bytes) over a real socket and reads
// replies, RESP2 and RESP3, into tagged values so tests can compare exact reply types.

import { connect, type Socket } from 'node:net';

export type RespValue =
  | { type: 'simple'; value: string }
  | { type: 'error'; value: string }
  | { type: 'integer'; value: bigint }
  | { type: 'bulk'; value: Buffer | null }
  | { type: 'array'; value: RespValue[] | null }
  | { type: 'null' }
  | { type: 'map'; value: [RespValue, RespValue][] }
  | { type: 'set'; value: RespValue[] }
  | { type: 'double'; value: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'verbatim'; format: string; value: Buffer }
  | { type: 'bignumber'; value: string }
  | { type: 'push'; value: RespValue[] };

/** A RESP integer line: what `:`, `*`, `$`, ... carry. Anything else (`:Infinity`) is not RESP. */
const INTEGER_LINE = /^-?\d+$/;

function integerLine(line: string, type: string): number {
  if (!INTEGER_LINE.test(line)) throw new Error(`invalid RESP: ${JSON.stringify(type + line)} is not an integer line`);
  return Number(line);
}

/** Parses one reply from buffer at offset; undefined when incomplete; throws on invalid RESP. */
export function readReply(buffer: Buffer, offset: number): { value: RespValue; next: number } | undefined {
  if (offset >= buffer.length) return undefined;
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]!);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  const aggregate = (count: number, make: (items: RespValue[]) => RespValue) => {
    const items: RespValue[] = [];
    let position = after;
    for (let index = 0; index < count; index++) {
      const item = readReply(buffer, position);
      if (item === undefined) return undefined;
      items.push(item.value);
      position = item.next;
    }
    return { value: make(items), next: position };
  };
  const blob = () => {
    const length = integerLine(line, type);
    if (length < 0) return { length, bytes: null, next: after };
    if (buffer.length < after + length + 2) return undefined;
    if (buffer[after + length] !== 13 || buffer[after + length + 1] !== 10)
      throw new Error(`invalid RESP: no CRLF after a ${length}-byte bulk string`);
    return { length, bytes: buffer.subarray(after, after + length), next: after + length + 2 };
  };
  switch (type) {
    case '+':
      return { value: { type: 'simple', value: line }, next: after };
    case '-':
      return { value: { type: 'error', value: line }, next: after };
    case ':':
      integerLine(line, type);
      return { value: { type: 'integer', value: BigInt(line) }, next: after };
    case '_':
      return { value: { type: 'null' }, next: after };
    case ',':
      return { value: { type: 'double', value: line }, next: after };
    case '#':
      return { value: { type: 'boolean', value: line === 't' }, next: after };
    case '(':
      return { value: { type: 'bignumber', value: line }, next: after };
    case '$': {
      const result = blob();
      if (result === undefined) return undefined;
      return {
        value: { type: 'bulk', value: result.bytes === null ? null : Buffer.from(result.bytes) },
        next: result.next,
      };
    }
    case '=': {
      const result = blob();
      if (result === undefined || result.bytes === null) return undefined;
      return {
        value: {
          type: 'verbatim',
          format: result.bytes.toString('latin1', 0, 3),
          value: Buffer.from(result.bytes.subarray(4)),
        },
        next: result.next,
      };
    }
    case '*': {
      const count = integerLine(line, type);
      if (count < 0) return { value: { type: 'array', value: null }, next: after };
      return aggregate(count, (items) => ({ type: 'array', value: items }));
    }
    case '~':
      return aggregate(integerLine(line, type), (items) => ({ type: 'set', value: items }));
    case '>':
      return aggregate(integerLine(line, type), (items) => ({ type: 'push', value: items }));
    case '%':
      return aggregate(integerLine(line, type) * 2, (items) => {
        const pairs: [RespValue, RespValue][] = [];
        for (let index = 0; index < items.length; index += 2) pairs.push([items[index]!, items[index + 1]!]);
        return { type: 'map', value: pairs };
      });
    default:
      throw new Error(
        `unexpected reply type byte ${JSON.stringify(type)} in ${JSON.stringify(buffer.toString('latin1', offset, offset + 40))}`,
      );
  }
}

export function encodeCommand(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** A compact, comparable rendering of a reply (for assertions and diffs). */
export function show(value: RespValue): unknown {
  switch (value.type) {
    case 'simple':
      return `+${value.value}`;
    case 'error':
      return `-${value.value}`;
    case 'integer':
      return Number.isSafeInteger(Number(value.value)) ? Number(value.value) : `${value.value}n`;
    case 'bulk':
      return value.value === null ? null : value.value.toString('latin1');
    case 'array':
      return value.value === null ? '*nil' : value.value.map(show);
    case 'null':
      return '_nil';
    case 'map':
      return { map: value.value.map(([key, item]) => [show(key), show(item)]) };
    case 'set':
      return { set: value.value.map(show) };
    case 'double':
      return { double: value.value };
    case 'boolean':
      return { boolean: value.value };
    case 'verbatim':
      return { verbatim: value.value.toString('latin1') };
    case 'bignumber':
      return { bignumber: value.value };
    case 'push':
      return { push: value.value.map(show) };
  }
}

export class RespTestClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  private readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RespTestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => {
        socket.off('error', reject);
        resolve(new RespTestClient(socket));
      });
      socket.once('error', reject);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  writeRaw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  send(...args: (string | Buffer)[]): void {
    this.socket.write(encodeCommand(args));
  }

  /** The next reply; rejects after timeoutMs or when the connection closes first. */
  async read(timeoutMs = 10_000): Promise<RespValue> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = readReply(this.buffer, 0);
      if (parsed !== undefined) {
        this.buffer = this.buffer.subarray(parsed.next);
        return parsed.value;
      }
      if (this.closed)
        throw new Error(`connection closed; unparsed bytes: ${JSON.stringify(this.buffer.toString('latin1'))}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new Error(`no reply within ${timeoutMs} ms; buffered: ${JSON.stringify(this.buffer.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async call(...args: (string | Buffer)[]): Promise<RespValue> {
    this.send(...args);
    return this.read();
  }

  /** The reply rendered with show(). */
  async do(...args: (string | Buffer)[]): Promise<unknown> {
    return show(await this.call(...args));
  }

  /** Bytes received and not parsed as replies yet. */
  get unparsed(): Buffer {
    return this.buffer;
  }

  /** Resolves when the server closed the connection (rejects after timeoutMs). */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.closedPromise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('connection was not closed')), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    this.socket.destroy();
  }
}
