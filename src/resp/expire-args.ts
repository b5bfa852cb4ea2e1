// Expiry arguments (SET EX/PX/EXAT/PXAT, SETEX, GETEX, EXPIRE...) validated as Redis 7.0 does,
// plus kvs's one bound for every front end (MAX_EXPIRES_MS in model/time.ts): an expiry must be
// a representable date (before the year 275760), refused here with Redis's own error.

import { MAX_EXPIRES_MS } from '../model/time.js';
import { INT64_MAX, int64Arg } from './numeric-args.js';
import { RespError } from './reply.js';

export function invalidExpireTime(commandName: string): RespError {
  return new RespError(`ERR invalid expire time in '${commandName}' command`);
}

/**
 * SET/SETEX/GETEX style: a positive count of seconds or ms, relative to now or absolute (unix
 * time). Returns the absolute expiry in ms.
 */
export function positiveExpireArg(
  bytes: Buffer,
  unit: 'seconds' | 'ms',
  relative: boolean,
  now: number,
  commandName: string,
): number {
  const value = int64Arg(bytes);
  if (value <= 0n || (unit === 'seconds' && value > INT64_MAX / 1000n)) throw invalidExpireTime(commandName);
  let ms = unit === 'seconds' ? value * 1000n : value;
  if (relative) ms += BigInt(now);
  if (ms > INT64_MAX || ms > BigInt(MAX_EXPIRES_MS)) throw invalidExpireTime(commandName);
  return Number(ms);
}

/**
 * EXPIRE style: any integer (zero and negative mean "already expired"), relative or absolute.
 * Returns the absolute expiry in ms (may be in the past, or negative).
 */
export function anyExpireArg(
  bytes: Buffer,
  unit: 'seconds' | 'ms',
  relative: boolean,
  now: number,
  commandName: string,
): number {
  let when = int64Arg(bytes);
  if (unit === 'seconds') {
    if (when > INT64_MAX / 1000n || when < -INT64_MAX / 1000n) throw invalidExpireTime(commandName);
    when *= 1000n;
  }
  const base = relative ? BigInt(now) : 0n;
  if (when > INT64_MAX - base) throw invalidExpireTime(commandName);
  when += base;
  if (when > BigInt(MAX_EXPIRES_MS)) throw invalidExpireTime(commandName);
  return Number(when);
}
