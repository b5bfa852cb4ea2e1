// LCS (Redis 7.0): the longest common subsequence of two string values, its length, or the
// matching ranges (IDX, MINMATCHLEN, WITHMATCHLEN) in Redis's order. The dynamic-programming
// table is bounded (MAX_LCS_CELLS).

import { defineCommand, twoKeys, type Command, type RunContext } from '../command.js';
import { integerArg, isWord } from '../numeric-args.js';
import { MapReply, RespError, redisErrors, type Reply } from '../reply.js';

/** Largest LCS table (cells) computed; beyond it LCS answers Redis's allocation error. */
const MAX_LCS_CELLS = 16 * 1024 * 1024;

function lcs(context: RunContext): Reply {
  const view = context.view;
  const a = view.get(context.keys[0]!)?.value ?? Buffer.alloc(0);
  const b = view.get(context.keys[1]!)?.value ?? Buffer.alloc(0);
  let getIdx = false;
  let getLen = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  const args = context.args;
  for (let index = 3; index < args.length; index++) {
    const option = args[index]!;
    const moreArgs = args.length - 1 - index;
    if (isWord(option, 'idx')) getIdx = true;
    else if (isWord(option, 'len')) getLen = true;
    else if (isWord(option, 'withmatchlen')) withMatchLen = true;
    else if (isWord(option, 'minmatchlen') && moreArgs > 0) {
      minMatchLen = Math.max(0, integerArg(args[++index]!));
    } else throw new RespError(redisErrors.syntax);
  }
  if (getIdx && getLen) throw new RespError('ERR If you want both the length and indexes, please just use IDX.');
  const aLength = a.length;
  const bLength = b.length;
  const width = bLength + 1;
  if ((aLength + 1) * width > MAX_LCS_CELLS) {
    throw new RespError('ERR Insufficient memory, failed allocating transient memory for LCS');
  }
  const table = new Uint32Array((aLength + 1) * width);
  for (let i = 1; i <= aLength; i++) {
    for (let j = 1; j <= bLength; j++) {
      if (a[i - 1] === b[j - 1]) table[i * width + j] = table[(i - 1) * width + j - 1]! + 1;
      else {
        const up = table[(i - 1) * width + j]!;
        const left = table[i * width + j - 1]!;
        table[i * width + j] = up > left ? up : left;
      }
    }
  }
  const total = table[aLength * width + bLength]!;
  if (getLen && !getIdx) return total;
  // Walk back from the end exactly as Redis does, so ranges come out in Redis's order.
  const result = Buffer.alloc(total);
  let position = total;
  const matches: Reply[] = [];
  let aStart = aLength;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = aLength;
  let j = bLength;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[position - 1] = a[i - 1]!;
      if (aStart === aLength) {
        aStart = i - 1;
        aEnd = i - 1;
        bStart = j - 1;
        bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      position--;
      i--;
      j--;
    } else {
      const up = table[(i - 1) * width + j]!;
      const left = table[i * width + j - 1]!;
      if (up > left) i--;
      else j--;
      if (aStart !== aLength) emit = true;
    }
    const matchLength = aEnd - aStart + 1;
    if (emit) {
      if (getIdx && (minMatchLen === 0 || matchLength >= minMatchLen)) {
        const match: Reply[] = [
          [aStart, aEnd],
          [bStart, bEnd],
        ];
        if (withMatchLen) match.push(matchLength);
        matches.push(match);
      }
      aStart = aLength;
    }
  }
  if (getIdx) {
    return new MapReply([
      ['matches', matches],
      ['len', total],
    ]);
  }
  return result;
}

export const lcsCommand: Command = defineCommand({
  name: 'lcs',
  arity: -3,
  flags: ['readonly'],
  group: 'string',
  summary: 'Find longest common substring',
  since: '7.0.0',
  complexity: 'O(N*M) where N and M are the lengths of s1 and s2, respectively',
  keys: twoKeys,
  access: 'read',
  run: lcs,
});
