// Number arguments parsed exactly as Redis 7.0 parses them (string2ll): an optional '-', digits
// without leading zeros, nothing else, within the signed 64-bit range.

import { RespError, redisErrors } from './reply.js';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** The value as a bigint, or undefined when it is not a Redis integer. */
export function parseInt64(bytes: Buffer): bigint | undefined {
  const length = bytes.length;
  if (length === 0 || length > 20) return undefined;
  if (length === 1 && bytes[0] === 0x30) return 0n;
  let index = 0;
  if (bytes[0] === 0x2d) {
    index = 1;
    if (length === 1) return undefined;
  }
  const first = bytes[index]!;
  if (first < 0x31 || first > 0x39) return undefined;
  for (let position = index + 1; position < length; position++) {
    const byte = bytes[position]!;
    if (byte < 0x30 || byte > 0x39) return undefined;
  }
  const value = BigInt(bytes.toString('latin1'));
  if (value < INT64_MIN || value > INT64_MAX) return undefined;
  return value;
}

/** A 64-bit integer argument, or throws "value is not an integer or out of range". */
export function int64Arg(bytes: Buffer, error: string = redisErrors.notInteger): bigint {
  const value = parseInt64(bytes);
  if (value === undefined) throw new RespError(error);
  return value;
}

/**
 * A 64-bit integer argument as a JavaScript number. Values beyond 2^53 lose precision, which is
 * harmless where this is used (offsets and indexes, which are clamped to a string length).
 */
export function integerArg(bytes: Buffer, error: string = redisErrors.notInteger): number {
  // Fast path for short plain numbers (indexes, counts): no BigInt.
  if (bytes.length > 0 && bytes.length <= 15) {
    const negative = bytes[0] === 0x2d;
    const start = negative ? 1 : 0;
    const first = bytes[start];
    if (first !== undefined && ((first >= 0x31 && first <= 0x39) || (first === 0x30 && bytes.length === 1))) {
      let value = 0;
      let index = start;
      for (; index < bytes.length; index++) {
        const digit = bytes[index]! - 0x30;
        if (digit < 0 || digit > 9) break;
        value = value * 10 + digit;
      }
      if (index === bytes.length) return negative ? -value : value;
    }
    throw new RespError(error);
  }
  return Number(int64Arg(bytes, error));
}

/** A C `int` argument (SELECT, COPY ... DB). */
export function int32Arg(bytes: Buffer, error: string = redisErrors.notInteger): number {
  const value = int64Arg(bytes, error);
  if (value < -(2n ** 31n) || value > 2n ** 31n - 1n) {
    throw new RespError('ERR value is out of range, value must between -2147483648 and 2147483647');
  }
  return Number(value);
}

/** Case-insensitive comparison of an ASCII argument with a lowercase word. */
export function isWord(bytes: Buffer, lowercase: string): boolean {
  if (bytes.length !== lowercase.length) return false;
  for (let index = 0; index < bytes.length; index++) {
    let byte = bytes[index]!;
    if (byte >= 0x41 && byte <= 0x5a) byte |= 0x20;
    if (byte !== lowercase.charCodeAt(index)) return false;
  }
  return true;
}

/** The argument as lowercase ASCII text (option names, subcommands). */
export function lowerWord(bytes: Buffer): string {
  return bytes.toString('latin1').toLowerCase();
}
