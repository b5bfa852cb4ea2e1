// Reply bytes waiting to be written: the ReplySink the encoder writes into. Small pieces (headers,
// values up to COPY_LIMIT_BYTES) are copied into Buffers this class allocates; larger values are
// kept by reference, so they are never copied before the socket writes them. take() hands
// everything over, in order, as a few Buffers (one socket write, or one writev).
//
// Why bytes and not a latin1 string built with `+=`: under `redis-benchmark -c 50 -P 16 -t get
// -d 100`, encoding each value with toString('latin1') and writing the concatenated string took
// 17.7% of kvs's CPU (writeLatin1String 15.1%: flattening and converting the string, and the
// write itself; latin1Slice 2.6%). Writing these Buffers took 12.7% (writeBuffer, nearly all of it
// the write itself) and the copies 2.8%.

import type { ReplySink } from './reply-sink.js';

/** Values up to this size are copied; larger ones are passed on as they are. */
export const COPY_LIMIT_BYTES = 16 * 1024;

/**
 * The first Buffer of a batch. Below half of Buffer.poolSize (8 KiB), Buffer.allocUnsafe takes a
 * slice of Node's shared pool instead of allocating: a batch of 16 GET replies of 100 bytes
 * (about 1.7 KiB) fits in it.
 */
const FIRST_CAPACITY = 2048;
/** Later Buffers double up to this size. */
const MAX_CAPACITY = 256 * 1024;
/** Strings up to this length are copied char by char (cheaper than a call into C++ for `+OK\r\n`). */
const SHORT_TEXT = 32;

export class OutputBuffer implements ReplySink {
  /** Filled Buffers (and large values by reference), in order, before `current`. */
  private segments: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  /** Bytes held: everything written since the last take(). */
  length = 0;

  constructor(private readonly onInvalid?: (detail: string) => void) {}

  text(chunk: string): void {
    const size = chunk.length;
    const buffer = this.room(size);
    const start = this.used;
    if (size <= SHORT_TEXT) {
      for (let index = 0; index < size; index++) buffer[start + index] = chunk.charCodeAt(index);
    } else {
      buffer.write(chunk, start, size, 'latin1');
    }
    this.used = start + size;
    this.length += size;
  }

  bytes(chunk: Buffer): void {
    const size = chunk.length;
    if (size > COPY_LIMIT_BYTES) {
      this.seal();
      this.segments.push(chunk);
    } else {
      const buffer = this.room(size);
      buffer.set(chunk, this.used);
      this.used += size;
    }
    this.length += size;
  }

  invalid(detail: string): void {
    this.onInvalid?.(detail);
  }

  /** Everything written since the last take(), in order; the buffer is empty afterwards. */
  take(): Buffer[] {
    this.seal();
    const segments = this.segments;
    this.segments = [];
    this.current = undefined;
    this.length = 0;
    return segments;
  }

  /** Forgets everything held. */
  clear(): void {
    this.segments = [];
    this.current = undefined;
    this.used = 0;
    this.length = 0;
  }

  /** The current Buffer with room for `size` more bytes (a new one when it has not). */
  private room(size: number): Buffer {
    const current = this.current;
    if (current !== undefined && this.used + size <= current.length) return current;
    const previous = current === undefined ? 0 : current.length;
    this.seal();
    const capacity = Math.max(size, previous === 0 ? FIRST_CAPACITY : Math.min(previous * 2, MAX_CAPACITY));
    const fresh = Buffer.allocUnsafe(capacity);
    this.current = fresh;
    this.used = 0;
    return fresh;
  }

  /** Moves the filled part of the current Buffer to the segments; nothing is written after it. */
  private seal(): void {
    if (this.current !== undefined && this.used > 0) {
      this.segments.push(this.current.subarray(0, this.used));
    }
    this.current = undefined;
    this.used = 0;
  }
}
