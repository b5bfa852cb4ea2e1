// Pure helpers of the scale suite: the name of the i-th loaded key (the same names
// bench/lib/request-set.ts benchKeys gives, without building an array of 10M strings), random
// samples of them, listing prefixes, the size of a data directory and a process's resident set.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const SCALE_PREFIX = 'scale-';

/** The index-th of `count` keys, exactly as benchKeys(count, SCALE_PREFIX)[index]. */
export function scaleKey(index: number, count: number): string {
  const width = String(count - 1).length;
  return `${SCALE_PREFIX}${String(index).padStart(width, '0')}`;
}

/** A small deterministic generator (the runs are repeatable): numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    // xorshift32
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/** `samples` keys drawn uniformly from the whole key space. */
export function randomKeys(count: number, samples: number, random: () => number): string[] {
  return Array.from({ length: samples }, () => scaleKey(Math.floor(random() * count), count));
}

/**
 * Listing prefixes spread over the key space: a random key cut after its first few digits, so
 * that every prefix matches many keys (at least `limit` whenever the store holds enough) and a
 * page of `limit` is always full.
 */
export function randomPrefixes(count: number, samples: number, limit: number, random: () => number): string[] {
  const width = String(count - 1).length;
  // Digits dropped: enough that one prefix covers at least `limit` keys.
  const dropped = Math.min(width, Math.ceil(Math.log10(limit)));
  const kept = Math.max(1, width - dropped);
  return randomKeys(count, samples, random).map((key) => key.slice(0, SCALE_PREFIX.length + kept));
}

/** Bytes of every file under `dir` (apparent size, as `du -sb` counts them). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    total += stat.isDirectory() ? directoryBytes(path) : stat.size;
  }
  return total;
}

/** A process's resident set, in bytes: all of it, and the part that maps files (lmdb's store). */
export interface ResidentSet {
  readonly rss: number;
  readonly anon: number | undefined;
  readonly file: number | undefined;
}

function statusKb(status: string, field: string): number | undefined {
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm'));
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** VmRSS of a /proc/PID/status text, in bytes; undefined when the line is missing. */
export function parseVmRss(status: string): number | undefined {
  return statusKb(status, 'VmRSS');
}

/** VmRSS with its RssAnon and RssFile parts (Linux 4.5+) from a /proc/PID/status text. */
export function parseResidentSet(status: string): ResidentSet | undefined {
  const rss = parseVmRss(status);
  return rss === undefined ? undefined : { rss, anon: statusKb(status, 'RssAnon'), file: statusKb(status, 'RssFile') };
}

export function processResidentSet(pid: number): ResidentSet | undefined {
  try {
    return parseResidentSet(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}
