// The bit commands on string values (Redis's @bitmap group): SETBIT GETBIT BITCOUNT BITPOS,
// with Redis 7.0's BYTE/BIT ranges. Bit 0 is the most significant bit of the first byte.

import { commandDefiner, oneKey, type Command, type RunContext } from '../command.js';
import { integerArg, isWord, parseInt64 } from '../numeric-args.js';
import { RespError, redisErrors, type Reply } from '../reply.js';
import { checkValueSize } from './strings.js';

const bitCommand = commandDefiner({ group: 'bitmap', keys: oneKey });

/** Redis's proto-max-bulk-len (512 MB): bit offsets must address a byte below it. */
const MAX_BIT_OFFSET = 512n * 1024n * 1024n * 8n;

function bitOffsetArg(bytes: Buffer): number {
  const value = parseInt64(bytes);
  if (value === undefined || value < 0n || value >= MAX_BIT_OFFSET) {
    throw new RespError('ERR bit offset is not an integer or out of range');
  }
  return Number(value);
}

function popcount(byte: number): number {
  let value = byte - ((byte >> 1) & 0x55);
  value = (value & 0x33) + ((value >> 2) & 0x33);
  return (value + (value >> 4)) & 0x0f;
}

/** Position of the first `bit` in bytes (Redis's redisBitpos): -1 if looking for 1 and none; 8*count if looking for 0 and none. */
function firstBit(bytes: Buffer | Uint8Array, start: number, count: number, bit: number): number {
  for (let index = 0; index < count; index++) {
    const byte = bytes[start + index]!;
    if ((bit === 1 && byte !== 0) || (bit === 0 && byte !== 0xff)) {
      for (let position = 0; position < 8; position++) {
        if (((byte >> (7 - position)) & 1) === bit) return index * 8 + position;
      }
    }
  }
  return bit === 1 ? -1 : count * 8;
}

interface Range {
  start: number;
  end: number;
  firstMask: number;
  lastMask: number;
}

/** Redis's negative-index normalisation for BITCOUNT/BITPOS, and the edge masks of BIT ranges. */
function normaliseRange(startArg: number, endArg: number, byteLength: number, isBit: boolean): Range {
  const total = isBit ? byteLength * 8 : byteLength;
  let start = startArg;
  let end = endArg;
  if (start < 0) start = total + start;
  if (end < 0) end = total + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  let firstMask = 0;
  let lastMask = 0;
  if (isBit && start <= end) {
    firstMask = ~((1 << (8 - (start & 7))) - 1) & 0xff;
    lastMask = (1 << (7 - (end & 7))) - 1;
    start >>= 3;
    end >>= 3;
  }
  return { start, end, firstMask, lastMask };
}

function unitArg(bytes: Buffer): boolean {
  if (isWord(bytes, 'bit')) return true;
  if (isWord(bytes, 'byte')) return false;
  throw new RespError(redisErrors.syntax);
}

function bitcount(context: RunContext): Reply {
  const args = context.args;
  const current = context.view.get(context.keys[0]!);
  if (current === undefined) return 0;
  const value = current.value;
  let range: Range;
  if (args.length === 4 || args.length === 5) {
    const start = integerArg(args[2]!);
    const end = integerArg(args[3]!);
    const isBit = args.length === 5 ? unitArg(args[4]!) : false;
    if (start < 0 && end < 0 && start > end) return 0;
    range = normaliseRange(start, end, value.length, isBit);
  } else if (args.length === 2) {
    range = { start: 0, end: value.length - 1, firstMask: 0, lastMask: 0 };
  } else {
    throw new RespError(redisErrors.syntax);
  }
  if (range.start > range.end) return 0;
  let count = 0;
  for (let index = range.start; index <= range.end; index++) count += popcount(value[index]!);
  if (range.firstMask !== 0) count -= popcount(value[range.start]! & range.firstMask);
  if (range.lastMask !== 0) count -= popcount(value[range.end]! & range.lastMask);
  return count;
}

function bitpos(context: RunContext): Reply {
  const args = context.args;
  const bit = integerArg(args[2]!);
  if (bit !== 0 && bit !== 1) throw new RespError('ERR The bit argument must be 1 or 0.');
  const current = context.view.get(context.keys[0]!);
  if (current === undefined) return bit === 1 ? -1 : 0;
  const value = current.value;
  let endGiven = false;
  let range: Range;
  if (args.length >= 4 && args.length <= 6) {
    const start = integerArg(args[3]!);
    const isBit = args.length === 6 ? unitArg(args[5]!) : false;
    let end: number;
    if (args.length >= 5) {
      end = integerArg(args[4]!);
      endGiven = true;
    } else {
      end = isBit ? value.length * 8 + 7 : value.length - 1;
    }
    range = normaliseRange(start, end, value.length, isBit);
  } else if (args.length === 3) {
    range = { start: 0, end: value.length - 1, firstMask: 0, lastMask: 0 };
  } else {
    throw new RespError(redisErrors.syntax);
  }
  if (range.start > range.end) return -1;
  let { start } = range;
  const { end, firstMask, lastMask } = range;
  let bytes = end - start + 1;
  let position: number;
  // biome-ignore lint/suspicious/noConfusingLabels: the labelled block is the early exit once the bit is found
  found: {
    if (firstMask !== 0) {
      let byte = bit ? value[start]! & ~firstMask & 0xff : value[start]! | firstMask;
      if (lastMask !== 0 && bytes === 1) byte = bit ? byte & ~lastMask & 0xff : byte | lastMask;
      position = firstBit(Uint8Array.of(byte), 0, 1, bit);
      if (bytes === 1 || (position !== -1 && position !== 8)) break found;
      start++;
      bytes--;
    }
    const whole = bytes - (lastMask !== 0 ? 1 : 0);
    if (whole > 0) {
      position = firstBit(value, start, whole, bit);
      if (bytes === whole || (position !== -1 && position !== whole * 8)) break found;
      start += whole;
      bytes -= whole;
    }
    const byte = bit ? value[end]! & ~lastMask & 0xff : value[end]! | lastMask;
    position = firstBit(Uint8Array.of(byte), 0, 1, bit);
  }
  if (endGiven && bit === 0 && position === bytes * 8) return -1;
  if (position !== -1) position += start * 8;
  return position;
}

export const bitCommands: readonly Command[] = [
  bitCommand({
    name: 'setbit',
    arity: 4,
    flags: ['write', 'denyoom'],
    summary: 'Sets or clears the bit at offset in the string value stored at key',
    since: '2.2.0',
    access: 'write',
    run(context) {
      const key = context.keys[0]!;
      const offset = bitOffsetArg(context.args[2]!);
      const bitError = 'ERR bit is not an integer or out of range';
      const bit = integerArg(context.args[3]!, bitError);
      if (bit !== 0 && bit !== 1) throw new RespError(bitError);
      const current = context.view.get(key);
      const byteIndex = Math.floor(offset / 8);
      const length = current?.value.length ?? 0;
      const newLength = Math.max(length, byteIndex + 1);
      checkValueSize(context, newLength);
      const value = Buffer.alloc(newLength);
      current?.value.copy(value);
      const mask = 1 << (7 - (offset & 7));
      const previous = (value[byteIndex]! & mask) !== 0 ? 1 : 0;
      value[byteIndex] = bit ? value[byteIndex]! | mask : value[byteIndex]! & ~mask;
      context.view.replace(key, value);
      return previous;
    },
  }),

  bitCommand({
    name: 'getbit',
    arity: 3,
    flags: ['readonly', 'fast'],
    summary: 'Returns the bit value at offset in the string value stored at key',
    since: '2.2.0',
    access: 'read',
    run(context) {
      const offset = bitOffsetArg(context.args[2]!);
      const value = context.view.get(context.keys[0]!)?.value;
      const byteIndex = Math.floor(offset / 8);
      if (value === undefined || byteIndex >= value.length) return 0;
      return (value[byteIndex]! >> (7 - (offset & 7))) & 1;
    },
  }),

  bitCommand({
    name: 'bitcount',
    arity: -2,
    flags: ['readonly'],
    summary: 'Count set bits in a string',
    since: '2.6.0',
    complexity: 'O(N)',
    access: 'read',
    run: bitcount,
  }),

  bitCommand({
    name: 'bitpos',
    arity: -3,
    flags: ['readonly'],
    summary: 'Find first bit set or clear in a string',
    since: '2.8.7',
    complexity: 'O(N)',
    access: 'read',
    run: bitpos,
  }),
];
