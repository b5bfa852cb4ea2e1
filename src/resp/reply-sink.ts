// Where the encoder writes a reply's bytes (encoder.ts): the connection's OutputBuffer, or a reply
// encoded ahead along a walk (KEYS). Its own module so that both sides depend on it, not on each
// other.

export interface ReplySink {
  /** Bytes given as a latin1 string: every char is one byte (< 256). */
  text(chunk: string): void;
  /** Raw bytes (the sink copies them or keeps a reference until written). */
  bytes(chunk: Buffer): void;
  /** A handler answered something RESP cannot carry (logged; the client gets an internal error). */
  invalid?(detail: string): void;
}
