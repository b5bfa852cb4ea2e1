// What command handlers answer, independent of the protocol version. The encoder turns a Reply
// into RESP2 or RESP3 bytes (a map is a flat array in RESP2, null is `$-1` or `_`, ...).
//
// Plain JavaScript values stand for the common cases so that hot handlers allocate nothing extra:
// a Buffer or string is a bulk string, a number or bigint an integer, null the null reply and an
// array an array.

export type Reply =
  | Buffer
  | string
  | number
  | bigint
  | null
  | readonly Reply[]
  | SimpleReply
  | ErrorReply
  | NullArrayReply
  | MapReply
  | SetReply
  | DoubleReply
  | BooleanReply
  | VerbatimReply
  | EncodedReply;

/** `+text`: status replies (OK, QUEUED, PONG, string for TYPE, ...). */
export class SimpleReply {
  constructor(readonly text: string) {}
}

/** `-CODE message`: `line` includes the code (ERR, WRONGPASS, NOAUTH, ...). */
export class ErrorReply {
  constructor(readonly line: string) {}
}

/** The "null array" of RESP2 (`*-1`, an aborted EXEC); `_` in RESP3. */
export class NullArrayReply {
  private constructor() {}
  static readonly instance = new NullArrayReply();
}

export class MapReply {
  constructor(readonly entries: readonly (readonly [Reply, Reply])[]) {}
}

export class SetReply {
  constructor(readonly items: readonly Reply[]) {}
}

export class DoubleReply {
  constructor(readonly value: number) {}
}

export class BooleanReply {
  constructor(readonly value: boolean) {}
}

/** RESP3 verbatim string (`=LEN\r\ntxt:...`); a bulk string in RESP2. */
export class VerbatimReply {
  constructor(
    readonly format: string,
    readonly text: string,
  ) {}
}

/**
 * A reply already encoded, as bytes that are the same in RESP2 and RESP3 (an array of bulk
 * strings): a long reply encoded a slice at a time, with turns for other clients between the
 * slices, rather than in one piece when it is sent (KEYS, keyspace.ts).
 */
export class EncodedReply {
  constructor(readonly chunks: readonly Buffer[]) {}
}

export const ok = new SimpleReply('OK');
export const queued = new SimpleReply('QUEUED');
export const pong = new SimpleReply('PONG');
export const nullArray = NullArrayReply.instance;

/**
 * An error a command handler throws to answer `-line` (Redis's own errors: syntax error, value is
 * not an integer, ...). Errors of the kvs catalogue (KvsError) are rendered by resp-errors.ts.
 */
export class RespError extends Error {
  constructor(readonly line: string) {
    super(line);
    this.name = 'RespError';
  }
}

/** A reply that would exceed the connection's bound on unsent replies (docs/limits.md). */
export function replyTooLarge(limit: number): RespError {
  return new RespError(`ERR reply larger than ${limit} bytes (maxRespOutputBytes); ask for less`);
}

/** `-ERR message`. */
export function errorReply(message: string): ErrorReply {
  return new ErrorReply(`ERR ${message}`);
}

/** Redis's shared error strings, exactly as Redis 7.0 words them. */
export const redisErrors = {
  syntax: 'ERR syntax error',
  notInteger: 'ERR value is not an integer or out of range',
  notFloat: 'ERR value is not a valid float',
  overflow: 'ERR increment or decrement would overflow',
  noSuchKey: 'ERR no such key',
  sameObject: 'ERR source and destination objects are the same',
  dbIndex: 'ERR DB index is out of range',
  noAuth: 'NOAUTH Authentication required.',
  wrongPass: 'WRONGPASS invalid username-password pair or user is disabled.',
} as const;
