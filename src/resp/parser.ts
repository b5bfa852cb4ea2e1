// The RESP request parser: a pure state machine over bytes (no sockets, no timers).
// feed() hands it whatever the socket read; next() returns one complete command (an array of
// Buffers), undefined when more bytes are needed, or a ProtocolError once the input is malformed.
// After an error the parser stays failed: the connection answers the error and closes.
//
// Requests are what Redis accepts: multibulk arrays (`*N\r\n$LEN\r\nBYTES\r\n...`) and inline
// commands (a line of space-separated words with Redis's quoting rules). Error messages are
// Redis 7.0's own ("Protocol error: invalid bulk length", ...).

/** Longest inline command line or `*N` / `$N` header line (Redis's PROTO_INLINE_MAX_SIZE). */
export const MAX_INLINE_BYTES = 64 * 1024;

/** Bulk strings at least this long that arrive in pieces are copied into one buffer as they come. */
const LARGE_BULK_BYTES = 64 * 1024;

/**
 * What one argument costs besides its own bytes, charged against maxRequestBytes: the Buffer
 * object and its array slot (measured on Node.js 20: 105 bytes of heap per argument of a pending
 * `*1048576` command of empty strings) and its `$N\r\n...\r\n` framing held in the read chunks.
 * Without it, 1,048,576 empty arguments (6 MiB on the wire, 0 bytes of "request") held 65 MB.
 */
export const ARGUMENT_OVERHEAD_BYTES = 128;

/** The memory one parsed command holds, as the parser charges it (see ARGUMENT_OVERHEAD_BYTES). */
export function commandCost(args: readonly Buffer[]): number {
  let bytes = args.length * ARGUMENT_OVERHEAD_BYTES;
  for (const arg of args) bytes += arg.length;
  return bytes;
}

const CR = 13;
const LF = 10;

export class ProtocolError {
  constructor(readonly message: string) {}
}

export interface ParserLimits {
  /** Largest request: the lengths of all arguments of one command plus ARGUMENT_OVERHEAD_BYTES each. */
  readonly maxRequestBytes: number;
  /** Most arguments in one command. */
  readonly maxArguments: number;
}

enum State {
  /** Between commands. */
  Start,
  /** Inside a multibulk command, expecting `$LEN\r\n`. */
  BulkHeader,
  /** Expecting the bytes of a bulk string (and its CRLF) that are all in `buffer`. */
  BulkBody,
  /** Copying a large bulk string into `large` as it arrives. */
  LargeBulk,
  /** Expecting the CRLF after a large bulk string. */
  LargeBulkEnd,
  Failed,
}

export class RespParser {
  private buffer: Buffer = Buffer.alloc(0);
  private position = 0;
  private state = State.Start;
  private args: Buffer[] = [];
  private remainingArgs = 0;
  private requestBytes = 0;
  private bulkLength = 0;
  private large: Buffer | undefined;
  private largeFilled = 0;
  private error: ProtocolError | undefined;
  /** The cost (commandCost) of the command next() returned last. */
  lastCommandBytes = 0;

  constructor(private readonly limits: ParserLimits) {}

  feed(chunk: Buffer): void {
    if (this.state === State.Failed || chunk.length === 0) return;
    if (this.position >= this.buffer.length) {
      this.buffer = chunk;
    } else {
      // Only the unconsumed tail is kept; large bulk strings bypass this (see LargeBulk).
      this.buffer = Buffer.concat([this.buffer.subarray(this.position), chunk]);
    }
    this.position = 0;
  }

  /** True when no partial command is held (nothing received since the last complete command). */
  get idle(): boolean {
    return this.state === State.Start && this.position >= this.buffer.length;
  }

  get failed(): boolean {
    return this.state === State.Failed;
  }

  /**
   * Bytes held for the command being received: its arguments so far as charged against
   * maxRequestBytes (a large bulk string counts in full from its header on, as its buffer is
   * allocated then), plus received bytes not parsed yet.
   */
  get pendingBytes(): number {
    const unparsed = this.buffer.length - this.position;
    return (this.state === State.Start || this.state === State.Failed ? 0 : this.requestBytes) + unparsed;
  }

  next(): Buffer[] | ProtocolError | undefined {
    for (;;) {
      switch (this.state) {
        case State.Failed:
          return undefined;
        case State.Start: {
          if (this.position >= this.buffer.length) return undefined;
          if (this.buffer[this.position] !== 0x2a /* '*' */) {
            const inline = this.parseInline();
            if (inline === undefined || inline instanceof ProtocolError) return inline;
            if (inline.length > 0) return inline;
            continue; // an empty line: Redis ignores it
          }
          const count = this.parseHeaderLine('mbulk');
          if (count === undefined || count instanceof ProtocolError) return count;
          if (count > this.limits.maxArguments) return this.fail('invalid multibulk length');
          // Refused at once: each argument costs at least ARGUMENT_OVERHEAD_BYTES.
          if (count * ARGUMENT_OVERHEAD_BYTES > this.limits.maxRequestBytes) {
            return this.fail(`request larger than ${this.limits.maxRequestBytes} bytes`);
          }
          if (count <= 0) continue; // `*0` and `*-1` are empty commands: ignored, as Redis does
          this.args = [];
          this.remainingArgs = count;
          this.requestBytes = 0;
          this.state = State.BulkHeader;
          continue;
        }
        case State.BulkHeader: {
          if (this.position >= this.buffer.length) return undefined;
          const first = this.buffer[this.position]!;
          if (first !== 0x24 /* '$' */) return this.fail(`expected '$', got '${String.fromCharCode(first)}'`);
          const length = this.parseHeaderLine('bulk');
          if (length === undefined || length instanceof ProtocolError) return length;
          if (length < 0 || length > this.limits.maxRequestBytes) return this.fail('invalid bulk length');
          this.requestBytes += length + ARGUMENT_OVERHEAD_BYTES;
          if (this.requestBytes > this.limits.maxRequestBytes) {
            return this.fail(`request larger than ${this.limits.maxRequestBytes} bytes`);
          }
          this.bulkLength = length;
          this.state = State.BulkBody;
          continue;
        }
        case State.BulkBody: {
          const available = this.buffer.length - this.position;
          const length = this.bulkLength;
          if (available >= length + 2) {
            const end = this.position + length;
            if (this.buffer[end] !== CR || this.buffer[end + 1] !== LF)
              return this.fail('expected CRLF after bulk string');
            const arg = this.buffer.subarray(this.position, end);
            this.position = end + 2;
            const done = this.pushArg(arg);
            if (done) return done;
            continue;
          }
          if (length < LARGE_BULK_BYTES) return undefined;
          // A large value arriving in pieces: copy each piece once instead of re-concatenating.
          this.large = Buffer.allocUnsafe(length);
          this.largeFilled = 0;
          this.state = State.LargeBulk;
          continue;
        }
        case State.LargeBulk: {
          const large = this.large!;
          const take = Math.min(large.length - this.largeFilled, this.buffer.length - this.position);
          this.buffer.copy(large, this.largeFilled, this.position, this.position + take);
          this.largeFilled += take;
          this.position += take;
          if (this.largeFilled < large.length) return undefined;
          this.state = State.LargeBulkEnd;
          continue;
        }
        case State.LargeBulkEnd: {
          if (this.buffer.length - this.position < 2) return undefined;
          if (this.buffer[this.position] !== CR || this.buffer[this.position + 1] !== LF) {
            return this.fail('expected CRLF after bulk string');
          }
          this.position += 2;
          const arg = this.large!;
          this.large = undefined;
          const done = this.pushArg(arg);
          if (done) return done;
          continue;
        }
      }
    }
  }

  /** Adds an argument; returns the command when it was the last one. */
  private pushArg(arg: Buffer): Buffer[] | undefined {
    this.args.push(arg);
    if (--this.remainingArgs > 0) {
      this.state = State.BulkHeader;
      return undefined;
    }
    const command = this.args;
    this.args = [];
    this.lastCommandBytes = this.requestBytes;
    this.requestBytes = 0;
    this.state = State.Start;
    this.compact();
    return command;
  }

  /** Drops the consumed prefix once everything is consumed, so old chunks can be collected. */
  private compact(): void {
    if (this.position >= this.buffer.length && this.buffer.length > 0) {
      this.buffer = Buffer.alloc(0);
      this.position = 0;
    }
  }

  /**
   * Parses `*N\r\n` or `$N\r\n` at the current position (the type byte is already checked).
   * undefined: the line is incomplete.
   */
  private parseHeaderLine(kind: 'mbulk' | 'bulk'): number | ProtocolError | undefined {
    const buffer = this.buffer;
    const start = this.position + 1;
    const newline = buffer.indexOf(CR, start);
    if (newline < 0 || newline + 1 >= buffer.length) {
      if (buffer.length - this.position > MAX_INLINE_BYTES) return this.fail(`too big ${kind} count string`);
      return undefined;
    }
    if (newline - this.position > MAX_INLINE_BYTES) return this.fail(`too big ${kind} count string`);
    if (buffer[newline + 1] !== LF)
      return this.fail(kind === 'mbulk' ? 'invalid multibulk length' : 'invalid bulk length');
    const value = parseStrictInteger(buffer, start, newline);
    if (value === undefined) return this.fail(kind === 'mbulk' ? 'invalid multibulk length' : 'invalid bulk length');
    this.position = newline + 2;
    return value;
  }

  private parseInline(): Buffer[] | ProtocolError | undefined {
    const buffer = this.buffer;
    const newline = buffer.indexOf(LF, this.position);
    if (newline < 0) {
      if (buffer.length - this.position > MAX_INLINE_BYTES) return this.fail('too big inline request');
      return undefined;
    }
    if (newline - this.position > MAX_INLINE_BYTES) return this.fail('too big inline request');
    let end = newline;
    if (end > this.position && buffer[end - 1] === CR) end--;
    const args = splitInlineArgs(buffer.subarray(this.position, end));
    if (args === undefined) return this.fail('unbalanced quotes in request');
    if (args.length > this.limits.maxArguments) return this.fail('invalid multibulk length');
    const cost = commandCost(args);
    if (cost > this.limits.maxRequestBytes)
      return this.fail(`request larger than ${this.limits.maxRequestBytes} bytes`);
    this.lastCommandBytes = cost;
    this.position = newline + 1;
    this.compact();
    return args;
  }

  /** Drops everything held (the connection is closing): nothing more is parsed. */
  discard(): void {
    this.fail('connection closed');
  }

  private fail(detail: string): ProtocolError {
    this.state = State.Failed;
    this.error = new ProtocolError(`Protocol error: ${detail}`);
    this.buffer = Buffer.alloc(0);
    this.position = 0;
    this.args = [];
    this.requestBytes = 0;
    this.large = undefined;
    return this.error;
  }
}

/**
 * Redis's string2ll over buffer[start, end): optional '-', no '+', no leading zeros, no spaces,
 * at most 20 characters, within the signed 64-bit range (here: a safe JS integer, which every
 * length or count that could be accepted is).
 */
function parseStrictInteger(buffer: Buffer, start: number, end: number): number | undefined {
  const length = end - start;
  if (length <= 0 || length > 20) return undefined;
  if (length === 1 && buffer[start] === 0x30) return 0;
  let index = start;
  let negative = false;
  if (buffer[index] === 0x2d) {
    negative = true;
    index++;
    if (index === end) return undefined;
  }
  const first = buffer[index]!;
  if (first < 0x31 || first > 0x39) return undefined;
  let value = 0;
  for (; index < end; index++) {
    const digit = buffer[index]! - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  // Beyond 2^53 the exact value no longer matters: it is over every limit either way.
  return negative ? -value : value;
}

/** \n \r \t \b \a inside double quotes. */
const INLINE_ESCAPES = new Map([
  [0x6e, 0x0a],
  [0x72, 0x0d],
  [0x74, 0x09],
  [0x62, 0x08],
  [0x61, 0x07],
]);

function isSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

function isHexDigit(byte: number | undefined): boolean {
  return (
    byte !== undefined &&
    ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66))
  );
}

function hexValue(byte: number): number {
  if (byte <= 0x39) return byte - 0x30;
  return (byte | 0x20) - 0x61 + 10;
}

/**
 * Redis's sdssplitargs: words separated by whitespace; "double quotes" with \n \r \t \b \a \xHH
 * and \<char> escapes; 'single quotes' with \' only. A closing quote must be followed by
 * whitespace or the end. undefined: unbalanced quotes.
 */
export function splitInlineArgs(line: Buffer): Buffer[] | undefined {
  const args: Buffer[] = [];
  const length = line.length;
  let index = 0;
  for (;;) {
    while (index < length && isSpace(line[index]!)) index++;
    // A NUL byte ends the line for Redis (it is parsed as a C string).
    if (index >= length || line[index] === 0) return args;
    const bytes: number[] = [];
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const byte = index < length ? line[index]! : 0;
      const nextByte = index + 1 < length ? line[index + 1]! : 0;
      if (inDouble) {
        if (byte === 0x5c && nextByte === 0x78 && isHexDigit(line[index + 2]) && isHexDigit(line[index + 3])) {
          bytes.push(hexValue(line[index + 2]!) * 16 + hexValue(line[index + 3]!));
          index += 3;
        } else if (byte === 0x5c && nextByte !== 0) {
          index++;
          const escaped = line[index]!;
          bytes.push(INLINE_ESCAPES.get(escaped) ?? escaped);
        } else if (byte === 0x22) {
          if (nextByte !== 0 && !isSpace(nextByte)) return undefined;
          done = true;
        } else if (byte === 0) {
          return undefined;
        } else {
          bytes.push(byte);
        }
      } else if (inSingle) {
        if (byte === 0x5c && nextByte === 0x27) {
          index++;
          bytes.push(0x27);
        } else if (byte === 0x27) {
          if (nextByte !== 0 && !isSpace(nextByte)) return undefined;
          done = true;
        } else if (byte === 0) {
          return undefined;
        } else {
          bytes.push(byte);
        }
      } else if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09 || byte === 0) {
        done = true;
      } else if (byte === 0x22) {
        inDouble = true;
      } else if (byte === 0x27) {
        inSingle = true;
      } else {
        bytes.push(byte);
      }
      if (index < length && byte !== 0) index++;
      else if (!done) return undefined;
    }
    args.push(Buffer.from(bytes));
  }
}
