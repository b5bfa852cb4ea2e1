// The @string commands of Redis 7.0 (except the bit commands, in bits.ts; LCS is in lcs.ts). Each runs over a
// KeyView (see command.ts): values are bytes, TTLs are absolute ms, and a value's content type
// (set over HTTP) is kept by commands that modify it (APPEND, INCR, SETRANGE, ...).

import { allKeys, commandDefiner, keyValuePairs, oneKey, type Command, type RunContext } from '../command.js';
import { positiveExpireArg } from '../expire-args.js';
import type { KeyState, WriteExpiry } from '../key-view.js';
import { addLongDouble, formatLongDoubleHuman, parseLongDouble } from '../long-double.js';
import { INT64_MAX, INT64_MIN, int64Arg, integerArg, isWord, parseInt64 } from '../numeric-args.js';
import { ok, replyTooLarge, RespError, redisErrors, type Reply } from '../reply.js';
import { KvsError } from '../../core/errors.js';
import { lcsCommand } from './lcs.js';

const stringCommand = commandDefiner({ group: 'string', keys: oneKey });

/** The value bytes, copied unless they already own their memory (a socket chunk would be kept alive). */
export function ownValue(bytes: Buffer): Buffer {
  return bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength ? bytes : Buffer.from(bytes);
}

/** Throws value_too_large before a command builds a value over the limit (SETRANGE, SETBIT). */
export function checkValueSize(context: RunContext, size: number): void {
  const limit = context.service.limits.maxValueBytes;
  if (size > limit) throw new KvsError('value_too_large', undefined, { limit, size });
}

type ExpireUnit = 'EX' | 'PX' | 'EXAT' | 'PXAT';

interface SetOptions {
  readonly nx: boolean;
  readonly xx: boolean;
  readonly get: boolean;
  readonly keepTtl: boolean;
  readonly persist: boolean;
  /** EX/PX/EXAT/PXAT and its argument, not yet validated (GETEX looks the key up first). */
  readonly expire: { readonly unit: ExpireUnit; readonly arg: Buffer } | undefined;
}

/** The absolute expiry (ms) the options ask for, or undefined for none. */
function expiryOf(options: SetOptions, now: number, commandName: string): number | undefined {
  if (options.expire === undefined) return undefined;
  const { unit, arg } = options.expire;
  const seconds = unit === 'EX' || unit === 'EXAT';
  const relative = unit === 'EX' || unit === 'PX';
  return positiveExpireArg(arg, seconds ? 'seconds' : 'ms', relative, now, commandName);
}

/**
 * Redis's parseExtendedStringArgumentsOrReply for SET (`forSet`) and GETEX: the same
 * combination rules, and `syntax error` for anything else.
 */
function parseSetOptions(args: readonly Buffer[], start: number, forSet: boolean): SetOptions {
  let nx = false;
  let xx = false;
  let get = false;
  let keepTtl = false;
  let persist = false;
  let unit: ExpireUnit | undefined;
  let expireArg: Buffer | undefined;
  for (let index = start; index < args.length; index++) {
    const option = args[index]!;
    const hasNext = index + 1 < args.length;
    const timed = unit !== undefined;
    if (forSet && isWord(option, 'nx') && !xx) nx = true;
    else if (forSet && isWord(option, 'xx') && !nx) xx = true;
    else if (forSet && isWord(option, 'get')) get = true;
    else if (forSet && isWord(option, 'keepttl') && !persist && !timed) keepTtl = true;
    else if (!forSet && isWord(option, 'persist') && !timed && !keepTtl) persist = true;
    else if (isWord(option, 'ex') && !keepTtl && !persist && (unit === undefined || unit === 'EX') && hasNext) {
      unit = 'EX';
      expireArg = args[++index];
    } else if (isWord(option, 'px') && !keepTtl && !persist && (unit === undefined || unit === 'PX') && hasNext) {
      unit = 'PX';
      expireArg = args[++index];
    } else if (isWord(option, 'exat') && !keepTtl && !persist && (unit === undefined || unit === 'EXAT') && hasNext) {
      unit = 'EXAT';
      expireArg = args[++index];
    } else if (isWord(option, 'pxat') && !keepTtl && !persist && (unit === undefined || unit === 'PXAT') && hasNext) {
      unit = 'PXAT';
      expireArg = args[++index];
    } else {
      throw new RespError(redisErrors.syntax);
    }
  }
  return { nx, xx, get, keepTtl, persist, expire: unit === undefined ? undefined : { unit, arg: expireArg! } };
}

function setReads(args: readonly Buffer[]): boolean {
  for (let index = 3; index < args.length; index++) {
    const option = args[index]!;
    if (isWord(option, 'nx') || isWord(option, 'xx') || isWord(option, 'get')) return true;
  }
  return false;
}

const readOnly = (
  name: string,
  arity: number,
  summary: string,
  since: string,
  complexity: string,
  run: (context: RunContext) => Reply,
  flags: string[] = ['readonly', 'fast'],
): Command =>
  stringCommand({
    name,
    arity,
    flags,
    summary,
    since,
    complexity,
    access: 'read',
    run,
  });

/** A key's value as a Redis integer, or the Redis error. */
function integerValue(state: KeyState | undefined): bigint {
  if (state === undefined) return 0n;
  const value = parseInt64(state.value);
  if (value === undefined) throw new RespError(redisErrors.notInteger);
  return value;
}

function incrementBy(context: RunContext, increment: bigint): Reply {
  const key = context.keys[0]!;
  const current = context.view.get(key);
  const value = integerValue(current);
  const result = value + increment;
  if (result > INT64_MAX || result < INT64_MIN) throw new RespError(redisErrors.overflow);
  context.view.replace(key, Buffer.from(result.toString()));
  return result;
}

const incrementCommand = (
  name: string,
  arity: number,
  summary: string,
  increment: (args: readonly Buffer[]) => bigint,
): Command =>
  stringCommand({
    name,
    arity,
    flags: ['write', 'denyoom', 'fast'],
    summary,
    since: '1.0.0',
    access: 'write',
    run: (context) => incrementBy(context, increment(context.args)),
  });

/** GETRANGE's index arithmetic (Redis 7.0). */
function getRange(value: Buffer, startArg: number, endArg: number): Buffer {
  let start = startArg;
  let end = endArg;
  const length = value.length;
  if (start < 0 && end < 0 && start > end) return Buffer.alloc(0);
  if (start < 0) start = length + start;
  if (end < 0) end = length + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= length) end = length - 1;
  if (start > end || length === 0) return Buffer.alloc(0);
  return value.subarray(start, end + 1);
}

const getrangeRun = (context: RunContext): Reply => {
  const start = integerArg(context.args[2]!);
  const end = integerArg(context.args[3]!);
  const current = context.view.get(context.keys[0]!);
  if (current === undefined) return Buffer.alloc(0);
  return getRange(current.value, start, end);
};

export const stringCommands: readonly Command[] = [
  stringCommand({
    name: 'get',
    arity: 2,
    flags: ['readonly', 'fast'],
    summary: 'Get the value of a key',
    since: '1.0.0',
    complexity: 'O(1)',
    access: 'read',
    repliesWithValue: true,
    run: (context) => context.view.get(context.keys[0]!)?.value ?? null,
  }),

  stringCommand({
    name: 'set',
    arity: -3,
    flags: ['write', 'denyoom'],
    summary: 'Set the string value of a key',
    since: '1.0.0',
    access: 'write',
    reads: setReads,
    run(context) {
      const { args, view } = context;
      const key = context.keys[0]!;
      const options = args.length > 3 ? parseSetOptions(args, 3, true) : undefined;
      const expiry: WriteExpiry =
        (options && expiryOf(options, context.now, 'set')) ?? (options?.keepTtl ? 'keep' : null);
      if (options === undefined || (!options.nx && !options.xx && !options.get)) {
        view.put(key, ownValue(args[2]!), expiry);
        return ok;
      }
      const old = view.get(key);
      const previous = options.get ? (old?.value ?? null) : null;
      if ((options.nx && old !== undefined) || (options.xx && old === undefined)) return previous;
      view.put(key, ownValue(args[2]!), expiry === 'keep' ? (old?.expires ?? null) : expiry);
      return options.get ? previous : ok;
    },
  }),

  stringCommand({
    name: 'setnx',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Set the value of a key, only if the key does not exist',
    since: '1.0.0',
    access: 'write',
    usesValues: false,
    run(context) {
      const key = context.keys[0]!;
      if (context.view.exists(key)) return 0;
      context.view.put(key, ownValue(context.args[2]!), null);
      return 1;
    },
  }),

  ...(['setex', 'psetex'] as const).map((name) =>
    stringCommand({
      name,
      arity: 4,
      flags: ['write', 'denyoom'],
      summary:
        name === 'setex'
          ? 'Set the value and expiration of a key'
          : 'Set the value and expiration in milliseconds of a key',
      since: name === 'setex' ? '2.0.0' : '2.6.0',
      access: 'write',
      reads: () => false,
      run(context) {
        const at = positiveExpireArg(context.args[2]!, name === 'setex' ? 'seconds' : 'ms', true, context.now, name);
        context.view.put(context.keys[0]!, ownValue(context.args[3]!), at);
        return ok;
      },
    }),
  ),

  stringCommand({
    name: 'getset',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Set the string value of a key and return its old value',
    since: '1.0.0',
    access: 'write',
    run(context) {
      const key = context.keys[0]!;
      const old = context.view.get(key);
      context.view.put(key, ownValue(context.args[2]!), null);
      return old?.value ?? null;
    },
  }),

  stringCommand({
    name: 'getex',
    arity: -2,
    flags: ['write', 'fast'],
    summary: 'Get the value of a key and optionally set its expiration',
    since: '6.2.0',
    access: 'write',
    run(context) {
      const key = context.keys[0]!;
      const options = parseSetOptions(context.args, 2, false);
      const current = context.view.get(key);
      if (current === undefined) return null;
      const at = expiryOf(options, context.now, 'getex');
      if (at !== undefined) {
        const absolute = options.expire!.unit === 'EXAT' || options.expire!.unit === 'PXAT';
        if (absolute && at <= context.now) context.view.delete(key);
        else context.view.put(key, current.value, at, current.contentType);
      } else if (options.persist && current.expires !== null) {
        context.view.put(key, current.value, null, current.contentType);
      }
      return current.value;
    },
  }),

  stringCommand({
    name: 'getdel',
    arity: 2,
    flags: ['write', 'fast'],
    summary: 'Get the value of a key and delete the key',
    since: '6.2.0',
    access: 'write',
    run(context) {
      const key = context.keys[0]!;
      const current = context.view.get(key);
      if (current === undefined) return null;
      context.view.delete(key);
      return current.value;
    },
  }),

  stringCommand({
    name: 'mget',
    arity: -2,
    flags: ['readonly', 'fast'],
    summary: 'Get the values of all the given keys',
    since: '1.0.0',
    complexity: 'O(N) where N is the number of keys to retrieve.',
    keys: allKeys,
    access: 'read',
    run(context) {
      // Keys may repeat (only distinct keys count against maxBatch): bound the reply itself.
      const limit = context.service.limits.maxRespOutputBytes;
      let bytes = 0;
      const values = context.keys.map((key) => {
        const value = context.view.get(key)?.value ?? null;
        bytes += (value?.length ?? 0) + 16;
        if (bytes > limit) throw replyTooLarge(limit);
        return value;
      });
      return values;
    },
  }),

  stringCommand({
    name: 'mset',
    arity: -3,
    flags: ['write', 'denyoom'],
    summary: 'Set multiple keys to multiple values',
    since: '1.0.1',
    complexity: 'O(N) where N is the number of keys to set.',
    keys: keyValuePairs,
    access: 'write',
    reads: () => false,
    run(context) {
      const { args, keys, view } = context;
      if (args.length % 2 === 0) throw new RespError("ERR wrong number of arguments for 'mset' command");
      keys.forEach((key, index) => view.put(key, ownValue(args[2 + index * 2]!), null));
      return ok;
    },
  }),

  stringCommand({
    name: 'msetnx',
    arity: -3,
    flags: ['write', 'denyoom'],
    summary: 'Set multiple keys to multiple values, only if none of the keys exist',
    since: '1.0.1',
    complexity: 'O(N) where N is the number of keys to set.',
    keys: keyValuePairs,
    access: 'write',
    usesValues: false,
    run(context) {
      const { args, keys, view } = context;
      if (args.length % 2 === 0) throw new RespError("ERR wrong number of arguments for 'msetnx' command");
      if (keys.some((key) => view.exists(key))) return 0;
      keys.forEach((key, index) => view.put(key, ownValue(args[2 + index * 2]!), null));
      return 1;
    },
  }),

  incrementCommand('incr', 2, 'Increment the integer value of a key by one', () => 1n),
  incrementCommand('decr', 2, 'Decrement the integer value of a key by one', () => -1n),
  incrementCommand('incrby', 3, 'Increment the integer value of a key by the given amount', (args) =>
    int64Arg(args[2]!),
  ),
  incrementCommand('decrby', 3, 'Decrement the integer value of a key by the given number', (args) => {
    const decrement = int64Arg(args[2]!);
    if (decrement === INT64_MIN) throw new RespError('ERR decrement would overflow');
    return -decrement;
  }),

  stringCommand({
    name: 'incrbyfloat',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Increment the float value of a key by the given amount',
    since: '2.6.0',
    access: 'write',
    run(context) {
      const key = context.keys[0]!;
      const current = context.view.get(key);
      const value = current === undefined ? parseLongDouble('0') : parseLongDouble(current.value.toString('latin1'));
      const increment = parseLongDouble(context.args[2]!.toString('latin1'));
      if (value === undefined || increment === undefined) throw new RespError(redisErrors.notFloat);
      const sum = addLongDouble(value, increment);
      if (sum === undefined) throw new RespError('ERR increment would produce NaN or Infinity');
      const text = formatLongDoubleHuman(sum);
      context.view.replace(key, Buffer.from(text));
      return text;
    },
  }),

  stringCommand({
    name: 'append',
    arity: 3,
    flags: ['write', 'denyoom', 'fast'],
    summary: 'Append a value to a key',
    since: '2.0.0',
    complexity:
      'O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.',
    access: 'write',
    run(context) {
      const key = context.keys[0]!;
      const current = context.view.get(key);
      const addition = context.args[2]!;
      checkValueSize(context, (current?.value.length ?? 0) + addition.length);
      const value = current === undefined ? Buffer.from(addition) : Buffer.concat([current.value, addition]);
      context.view.replace(key, value);
      return value.length;
    },
  }),

  readOnly(
    'strlen',
    2,
    'Get the length of the value stored in a key',
    '2.2.0',
    'O(1)',
    (context) => context.view.get(context.keys[0]!)?.value.length ?? 0,
  ),
  readOnly(
    'getrange',
    4,
    'Get a substring of the string stored at a key',
    '2.4.0',
    'O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.',
    getrangeRun,
    ['readonly'],
  ),
  readOnly(
    'substr',
    4,
    'Get a substring of the string stored at a key',
    '1.0.0',
    'O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.',
    getrangeRun,
    ['readonly'],
  ),

  stringCommand({
    name: 'setrange',
    arity: 4,
    flags: ['write', 'denyoom'],
    summary: 'Overwrite part of a string at key starting at the specified offset',
    since: '2.2.0',
    complexity:
      'O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.',
    access: 'write',
    run(context) {
      const key = context.keys[0]!;
      const offset = integerArg(context.args[2]!);
      const patch = context.args[3]!;
      if (offset < 0) throw new RespError('ERR offset is out of range');
      const current = context.view.get(key);
      const length = current?.value.length ?? 0;
      if (patch.length === 0) return length;
      checkValueSize(context, offset + patch.length);
      const value = Buffer.alloc(Math.max(length, offset + patch.length));
      current?.value.copy(value);
      patch.copy(value, offset);
      context.view.replace(key, value);
      return value.length;
    },
  }),

  lcsCommand,
];
