// Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET, and the HTTP listing's match=): `*` any run of bytes, `?` one byte,
// `[abc]` `[^a]` `[a-z]` byte sets, `\x` the byte x. Matching is over the UTF-8 bytes of the key,
// exactly as Redis's stringmatchlen does (so `?` matches one byte, not one character).

import { isUtf8 } from 'node:buffer';

export class GlobPattern {
  private readonly pattern: Buffer;
  /** The bytes every match starts with (used to list only that part of the key space). */
  readonly literalPrefix: string;
  readonly matchesEverything: boolean;

  constructor(pattern: Buffer) {
    this.pattern = pattern;
    this.matchesEverything = pattern.length > 0 && pattern.every((byte) => byte === 0x2a);
    this.literalPrefix = literalPrefixOf(pattern);
  }

  matches(key: string): boolean {
    if (this.matchesEverything) return true;
    const subject = Buffer.from(key, 'utf8');
    return matchAt(this.pattern, 0, subject, 0, { skipLonger: false });
  }
}

/** The longest prefix of plain bytes, cut back to whole UTF-8 characters. */
function literalPrefixOf(pattern: Buffer): string {
  const bytes: number[] = [];
  for (let index = 0; index < pattern.length; index++) {
    const byte = pattern[index]!;
    if (byte === 0x2a || byte === 0x3f || byte === 0x5b) break;
    if (byte === 0x5c) {
      if (index + 1 >= pattern.length) break;
      index++;
    }
    bytes.push(pattern[index]!);
  }
  for (let end = bytes.length; end >= 0; end--) {
    const prefix = Buffer.from(bytes.slice(0, end));
    if (isUtf8(prefix)) return prefix.toString('utf8');
  }
  return '';
}

/** C's `char` is signed on x86: Redis compares range bounds as signed bytes. */
function signed(byte: number): number {
  return byte > 127 ? byte - 256 : byte;
}

function matchAt(pattern: Buffer, p: number, subject: Buffer, s: number, state: { skipLonger: boolean }): boolean {
  const patternEnd = pattern.length;
  const subjectEnd = subject.length;
  while (p < patternEnd && s < subjectEnd) {
    const token = pattern[p]!;
    if (token === 0x2a /* * */) {
      while (p + 1 < patternEnd && pattern[p + 1] === 0x2a) p++;
      if (p + 1 === patternEnd) return true;
      while (s < subjectEnd) {
        if (matchAt(pattern, p + 1, subject, s, state)) return true;
        if (state.skipLonger) return false;
        s++;
      }
      // No match for the rest of the pattern anywhere in the rest of the subject: a longer match
      // for an earlier `*` cannot help either (Redis's skipLongerMatches).
      state.skipLonger = true;
      return false;
    } else if (token === 0x3f /* ? */) {
      s++;
    } else if (token === 0x5b /* [ */) {
      p++;
      const negate = pattern[p] === 0x5e; /* ^ */
      if (negate) p++;
      let matched = false;
      const byte = subject[s]!;
      for (;;) {
        if (pattern[p] === 0x5c && patternEnd - p >= 2) {
          p++;
          if (pattern[p] === byte) matched = true;
        } else if (pattern[p] === 0x5d /* ] */) {
          break;
        } else if (p >= patternEnd) {
          p--;
          break;
        } else if (patternEnd - p >= 3 && pattern[p + 1] === 0x2d /* - */) {
          let start = signed(pattern[p]!);
          let end = signed(pattern[p + 2]!);
          if (start > end) [start, end] = [end, start];
          p += 2;
          const value = signed(byte);
          if (value >= start && value <= end) matched = true;
        } else if (pattern[p] === byte) {
          matched = true;
        }
        p++;
      }
      if (negate) matched = !matched;
      if (!matched) return false;
      s++;
    } else {
      if (token === 0x5c /* \ */ && patternEnd - p >= 2) p++;
      if (pattern[p] !== subject[s]) return false;
      s++;
    }
    p++;
    if (s === subjectEnd) {
      while (p < patternEnd && pattern[p] === 0x2a) p++;
      break;
    }
  }
  return p === patternEnd && s === subjectEnd;
}
