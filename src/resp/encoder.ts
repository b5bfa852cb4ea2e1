// RESP2 / RESP3 reply encoding. Replies are written to a ReplySink (output-buffer.ts) as latin1
// text (headers, every char one byte) or as raw bytes (values), so the connection can batch many
// replies into one socket write without turning values into strings.

import {
  BooleanReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArrayReply,
  SetReply,
  SimpleReply,
  VerbatimReply,
  EncodedReply,
  type Reply,
} from './reply.js';
import { OutputBuffer } from './output-buffer.js';
import type { ReplySink } from './reply-sink.js';
import { INTERNAL_ERROR_LINE } from './resp-errors.js';

export type Protocol = 2 | 3;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * `:N` only for a 64-bit integer. Anything else (a fraction, Infinity, NaN, beyond 64 bits) would
 * be invalid RESP (`:Infinity` broke clients): it becomes the internal error in its place, so the
 * rest of the reply stays well framed.
 */
function writeInteger(sink: ReplySink, value: number | bigint): void {
  if (typeof value === 'number' ? Number.isSafeInteger(value) : value >= INT64_MIN && value <= INT64_MAX) {
    sink.text(`:${value}\r\n`);
    return;
  }
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 63) {
    sink.text(`:${BigInt(value)}\r\n`);
    return;
  }
  sink.invalid?.(`integer reply ${String(value)} is not a 64-bit integer`);
  sink.text(`-${INTERNAL_ERROR_LINE}\r\n`);
}

/** ASCII strings up to this length are written as text; longer ones are encoded to bytes first. */
const INLINE_TEXT_CHARS = 16 * 1024;

const ASCII = /^[\x00-\x7f]*$/;

export function writeBulk(sink: ReplySink, value: Buffer): void {
  sink.text(`$${value.length}\r\n`);
  sink.bytes(value);
  sink.text('\r\n');
}

function writeBulkString(sink: ReplySink, value: string, type = '$'): void {
  if (value.length <= INLINE_TEXT_CHARS && ASCII.test(value)) {
    sink.text(`${type}${value.length}\r\n${value}\r\n`);
    return;
  }
  const bytes = Buffer.from(value, 'utf8');
  if (type === '$') {
    writeBulk(sink, bytes);
  } else {
    sink.text(`${type}${bytes.length}\r\n`);
    sink.bytes(bytes);
    sink.text('\r\n');
  }
}

/** Simple strings and errors must stay on one line: CR and LF become spaces, as Redis does. */
function oneLine(text: string): string {
  return text.includes('\r') || text.includes('\n') ? text.replace(/[\r\n]/g, ' ') : text;
}

function latin1OfUtf8(text: string): string {
  return ASCII.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

export function writeReply(sink: ReplySink, reply: Reply, protocol: Protocol): void {
  if (reply === null) {
    sink.text(protocol === 3 ? '_\r\n' : '$-1\r\n');
  } else if (Buffer.isBuffer(reply)) {
    writeBulk(sink, reply);
  } else if (typeof reply === 'string') {
    writeBulkString(sink, reply);
  } else if (typeof reply === 'number' || typeof reply === 'bigint') {
    writeInteger(sink, reply);
  } else if (Array.isArray(reply)) {
    const items = reply as readonly Reply[];
    sink.text(`*${items.length}\r\n`);
    for (const item of items) writeReply(sink, item, protocol);
  } else if (reply instanceof SimpleReply) {
    sink.text(`+${latin1OfUtf8(oneLine(reply.text))}\r\n`);
  } else if (reply instanceof ErrorReply) {
    sink.text(`-${latin1OfUtf8(oneLine(reply.line))}\r\n`);
  } else if (reply instanceof NullArrayReply) {
    sink.text(protocol === 3 ? '_\r\n' : '*-1\r\n');
  } else if (reply instanceof MapReply) {
    sink.text(protocol === 3 ? `%${reply.entries.length}\r\n` : `*${reply.entries.length * 2}\r\n`);
    for (const [key, value] of reply.entries) {
      writeReply(sink, key, protocol);
      writeReply(sink, value, protocol);
    }
  } else if (reply instanceof SetReply) {
    sink.text(protocol === 3 ? `~${reply.items.length}\r\n` : `*${reply.items.length}\r\n`);
    for (const item of reply.items) writeReply(sink, item, protocol);
  } else if (reply instanceof DoubleReply) {
    const text = formatDouble(reply.value);
    if (protocol === 3) sink.text(`,${text}\r\n`);
    else writeBulkString(sink, text);
  } else if (reply instanceof BooleanReply) {
    sink.text(protocol === 3 ? (reply.value ? '#t\r\n' : '#f\r\n') : reply.value ? ':1\r\n' : ':0\r\n');
  } else if (reply instanceof VerbatimReply) {
    if (protocol === 3) writeBulkString(sink, `${reply.format}:${reply.text}`, '=');
    else writeBulkString(sink, reply.text);
  } else if (reply instanceof EncodedReply) {
    for (const chunk of reply.chunks) sink.bytes(chunk);
  } else {
    throw new TypeError('unknown reply type');
  }
}

/** Encodes one reply into a Buffer (tests, and replies written outside the batching path). */
export function encodeReply(reply: Reply, protocol: Protocol): Buffer {
  const output = new OutputBuffer();
  writeReply(output, reply, protocol);
  return Buffer.concat(output.take());
}

/** Redis's double formatting (`%.17g`; inf, -inf, nan). */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  const precise = value.toPrecision(17);
  // %g uses scientific notation when the exponent is < -4 or >= the precision.
  const [mantissa, exp] = precise.includes('e') ? precise.split('e') : [precise, undefined];
  const trimmed = (text: string) => (text.includes('.') ? text.replace(/\.?0+$/, '') : text);
  if (exp === undefined && exponent >= -4 && exponent < 17) return trimmed(mantissa!);
  const scientific = value.toExponential(16);
  const [digits, power] = scientific.split('e');
  const powerValue = Number(power);
  const sign = powerValue < 0 ? '-' : '+';
  const magnitude = String(Math.abs(powerValue)).padStart(2, '0');
  return `${trimmed(digits!)}e${sign}${magnitude}`;
}
