// Redis's @keyspace commands as they apply to string keys: existence, deletion, renaming,
// expiry, and iteration (KEYS, SCAN, RANDOMKEY). Iteration lists the store in key order through
// KvService.list; SCAN cursors are positions in that order (scan-cursors.ts).

import {
  allKeys,
  defineCommand,
  oneKey,
  twoKeys,
  type Command,
  type CommandCall,
  type RunContext,
} from '../command.js';
import { setImmediate as yieldToOthers } from 'node:timers/promises';
import { representableTime } from '../../model/time.js';
import { anyExpireArg } from '../expire-args.js';
import { GlobPattern } from '../../core/glob.js';
import { int32Arg, integerArg, isWord } from '../numeric-args.js';
import { compareKeys } from '../../model/key-order.js';
import { SCAN_EXPIRED_MAX, WALK_SLICE_KEYS, walkKeys } from '../key-walk.js';
import { probeBetween } from '../random-probe.js';
import { EncodedReply, ok, replyTooLarge, RespError, redisErrors, SimpleReply, type Reply } from '../reply.js';
import { writeReply } from '../encoder.js';
import { OutputBuffer } from '../output-buffer.js';

const typeString = new SimpleReply('string');
const typeNone = new SimpleReply('none');

/** What one key costs in a KEYS reply besides its bytes (RESP framing, the JavaScript string). */
const KEY_REPLY_OVERHEAD_BYTES = 16;

interface MatchingKeys {
  readonly keys: string[];
  /** The keys as the reply's bytes, encoded along the walk. */
  readonly reply: EncodedReply;
}

/**
 * Every key matching `pattern`, in key order; refused once the reply would exceed
 * maxRespOutputBytes. The walk is inherently as long as the store (under the pattern's literal
 * prefix), so it goes in small slices with a turn for other clients between them (key-walk.ts):
 * no turn holds the event loop for more than a slice (docs/limits.md,
 * docs/redis-compatibility.md). Each slice's keys are encoded as it goes: the whole reply
 * encoded at once (125,000 keys: about 90 ms) was the KEYS phase's longest turn in the stall suite.
 */
async function listMatching(call: CommandCall, pattern: GlobPattern): Promise<MatchingKeys> {
  const { service, session } = call;
  const limit = service.limits.maxRespOutputBytes;
  const keys: string[] = [];
  // The keys' bulk strings, encoded as the walk goes (a bulk string is the same in RESP2 and RESP3).
  const output = new OutputBuffer();
  let replyBytes = 0;
  for await (const page of walkKeys(service, session.caller, { prefix: pattern.literalPrefix })) {
    for (const item of page.items) {
      if (!pattern.matches(item.key)) continue;
      replyBytes += Buffer.byteLength(item.key) + KEY_REPLY_OVERHEAD_BYTES;
      if (replyBytes > limit) throw replyTooLarge(limit);
      keys.push(item.key);
      writeReply(output, item.key, 2);
    }
  }
  return { keys, reply: new EncodedReply([Buffer.from(`*${keys.length}\r\n`, 'latin1'), ...output.take()]) };
}

/** Redis's parseScanCursorOrReply accepts an unsigned decimal; kvs also needs to know the cursor. */
function scanCursorArg(bytes: Buffer): number {
  if (bytes.length === 0 || bytes.length > 20 || !/^[0-9]+$/.test(bytes.toString('latin1'))) {
    throw new RespError('ERR invalid cursor');
  }
  return Number(bytes.toString('latin1'));
}

interface ScanPage {
  readonly cursor: string;
  readonly keys: string[];
}

async function scan(call: CommandCall): Promise<ScanPage> {
  const { args, service, session, server } = call;
  const cursor = scanCursorArg(args[1]!);
  let count = 10;
  let pattern: GlobPattern | undefined;
  let type: string | undefined;
  for (let index = 2; index < args.length; index++) {
    const option = args[index]!;
    const hasValue = index + 1 < args.length;
    if (isWord(option, 'count') && hasValue) {
      count = integerArg(args[++index]!);
      if (count < 1) throw new RespError(redisErrors.syntax);
    } else if (isWord(option, 'match') && hasValue) {
      const candidate = new GlobPattern(args[++index]!);
      pattern = candidate.matchesEverything ? undefined : candidate;
    } else if (isWord(option, 'type') && hasValue) {
      type = args[++index]!.toString('utf8').toLowerCase();
    } else {
      throw new RespError(redisErrors.syntax);
    }
  }
  let after: string | undefined;
  if (cursor !== 0) {
    after = server.cursors.resolve(cursor);
    // kvs cursors are table entries: one that was never issued (or long forgotten) is refused
    // rather than silently restarting the iteration.
    if (after === undefined) throw new RespError('ERR invalid cursor');
  }
  // Every key is a string: TYPE string is no filter, any other type matches nothing.
  if (type !== undefined && type !== 'string') return { cursor: '0', keys: [] };
  // COUNT keys (at most maxListLimit) in slices with a turn for other clients between them: COUNT
  // 1000 in one read held the event loop for about 10 ms a call (key-walk.ts). The slices pass
  // over at most COUNT + SCAN_EXPIRED_MAX expired keys in all, so a call's cost stays bounded on
  // a range of expired keys not yet swept, and it may answer fewer keys than COUNT, as Redis's may.
  const limit = Math.min(count, service.limits.maxListLimit);
  const keys: string[] = [];
  let next: string | null = null;
  const walk = walkKeys(service, session.caller, {
    prefix: pattern?.literalPrefix ?? '',
    after,
    maxKeys: limit,
    maxSlices: Math.ceil(limit / WALK_SLICE_KEYS) + SCAN_EXPIRED_MAX / WALK_SLICE_KEYS,
  });
  for await (const page of walk) {
    for (const item of page.items) if (pattern === undefined || pattern.matches(item.key)) keys.push(item.key);
    next = page.next;
  }
  return { cursor: String(next === null ? 0 : server.cursors.create(next)), keys };
}

/** Stores of up to this many keys get a uniformly chosen RANDOMKEY; larger ones a random position. */
const UNIFORM_RANDOM_KEYS = 10_000;
/**
 * Random positions RANDOMKEY tries on a large store, one slice each (a one-key page that passes
 * over at most WALK_SLICE_KEYS expired-but-not-yet-swept keys, key-walk.ts), with a turn for
 * other clients before each, after one slice from the start (the first key, also the low end of
 * the positions, random-probe.ts) and one lookup of the greatest key; if every try met only
 * expired keys, the first key, else one look at the most recently written keys; then it answers
 * nil, as Redis gives up after a bounded number of tries on a store of expired keys.
 * A fresh position per try, not the next page: expired keys tend to lie together (one prefix
 * of sessions), and a page that met only expired keys is likely to be followed by more.
 * Many small tries rather than 4 of up to 1000 expired keys each (a listing page's bound): on
 * the stall suite's store (a quarter of the keys expired, in one range that most random
 * positions land before), those reads of about 10 ms each were the event loop's longest turns;
 * 16 tries of at most 101 records read fewer records in all and hold a turn about 1 ms (turns
 * over 5 ms of CPU during 300 RANDOMKEY: 114 before, 6 after; BENCHMARKS.md, stall section).
 */
const RANDOM_KEY_TRIES = 16;
/** Past every key: the bound when the greatest key is not known (a private store without a token). */
const LARGEST_KEY = '\u{10FFFF}';

async function randomKey(call: CommandCall): Promise<string | null> {
  const { service, session } = call;
  const count = await service.count();
  if (count === 0) return null;
  if (count <= UNIFORM_RANDOM_KEYS) {
    // At most UNIFORM_RANDOM_KEYS keys (live or expired) in all: a bounded walk.
    let skip = Math.floor(Math.random() * count);
    let first: string | undefined;
    for await (const page of walkKeys(service, session.caller, { prefix: '' })) {
      first ??= page.items[0]?.key;
      if (skip < page.items.length) return page.items[skip]!.key;
      skip -= page.items.length;
    }
    return first ?? null; // expired keys made the count too high
  }
  const oneKey = async (after: string | undefined): Promise<string | undefined> =>
    (await service.list(session.caller, '', after, 1, WALK_SLICE_KEYS)).items[0]?.key;
  // The positions are drawn between the first live key (or the start, when expired keys hide it)
  // and the greatest key stored (random-probe.ts).
  const first = await oneKey(undefined);
  const greatest = await service.greatestKey(session.caller);
  for (let tries = 0; tries < RANDOM_KEY_TRIES; tries++) {
    await yieldToOthers();
    const found = await oneKey(probeBetween(first ?? '', greatest ?? LARGEST_KEY, Math.random));
    if (found !== undefined) return found;
  }
  if (first !== undefined) return first;
  // Every try met only expired keys: one of the most recently written live keys, if any.
  await yieldToOthers();
  const recent = await service.recentlyModified(session.caller, 20);
  return recent[Math.floor(Math.random() * recent.length)]?.key ?? null;
}

interface ExpireFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
}

function parseExpireFlags(args: readonly Buffer[]): ExpireFlags {
  const flags = { nx: false, xx: false, gt: false, lt: false };
  for (let index = 3; index < args.length; index++) {
    const option = args[index]!;
    if (isWord(option, 'nx')) flags.nx = true;
    else if (isWord(option, 'xx')) flags.xx = true;
    else if (isWord(option, 'gt')) flags.gt = true;
    else if (isWord(option, 'lt')) flags.lt = true;
    else throw new RespError(`ERR Unsupported option ${option.toString('utf8')}`);
  }
  if (flags.nx && (flags.xx || flags.gt || flags.lt)) {
    throw new RespError('ERR NX and XX, GT or LT options at the same time are not compatible');
  }
  if (flags.gt && flags.lt) throw new RespError('ERR GT and LT options at the same time are not compatible');
  return flags;
}

const expireCommand = (
  name: string,
  unit: 'seconds' | 'ms',
  relative: boolean,
  summary: string,
  since: string,
): Command =>
  defineCommand({
    name,
    arity: -3,
    flags: ['write', 'fast'],
    group: 'generic',
    summary,
    since,
    keys: oneKey,
    access: 'write',
    run(context) {
      const { args, view, now } = context;
      const key = context.keys[0]!;
      const flags = parseExpireFlags(args);
      const when = anyExpireArg(args[2]!, unit, relative, now, name);
      const current = view.get(key);
      if (current === undefined) return 0;
      const existing = current.expires;
      if (flags.nx && existing !== null) return 0;
      if (flags.xx && existing === null) return 0;
      if (flags.gt && (existing === null || when <= existing)) return 0;
      if (flags.lt && existing !== null && when >= existing) return 0;
      if (when <= now) view.delete(key);
      else view.put(key, current.value, when, current.contentType);
      return 1;
    },
  });

/**
 * A stored expiry as a whole number of ms within what kvs accepts (MAX_EXPIRES_MS). Another front
 * end may have stored anything (`ttl: 1e308` over HTTP made it Infinity, and PTTL `:Infinity`):
 * TTL/PTTL/EXPIRETIME/PEXPIRETIME always answer integers.
 */
export function representableExpiry(expires: number): number {
  return Math.ceil(representableTime(expires));
}

const ttlCommand = (
  name: string,
  report: (expires: number, now: number) => number,
  summary: string,
  since: string,
): Command =>
  defineCommand({
    name,
    arity: 2,
    flags: ['readonly', 'fast'],
    group: 'generic',
    summary,
    since,
    keys: oneKey,
    access: 'read',
    usesValues: false,
    run(context) {
      const expires = context.view.expiresOf(context.keys[0]!);
      if (expires === undefined) return -2;
      if (expires === null) return -1;
      return report(representableExpiry(expires), context.now);
    },
  });

function existing(context: RunContext): number {
  let count = 0;
  for (const key of context.keys) if (context.view.exists(key)) count++;
  return count;
}

function deleteKeys(context: RunContext): number {
  let count = 0;
  for (const key of context.keys) {
    if (context.view.exists(key)) {
      context.view.delete(key);
      count++;
    }
  }
  return count;
}

function rename(context: RunContext, nx: boolean): Reply {
  const { view } = context;
  const [source, destination] = context.keys as [string, string];
  const current = view.get(source);
  if (current === undefined) throw new RespError(redisErrors.noSuchKey);
  if (source === destination) return nx ? 0 : ok;
  if (nx && view.exists(destination)) return 0;
  view.put(destination, current.value, current.expires, current.contentType);
  view.delete(source);
  return nx ? 1 : ok;
}

export const keyspaceCommands: readonly Command[] = [
  ...(['del', 'unlink'] as const).map((name) =>
    defineCommand({
      name,
      arity: -2,
      flags: name === 'del' ? ['write'] : ['write', 'fast'],
      group: 'generic',
      summary:
        name === 'del'
          ? 'Delete a key'
          : 'Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.',
      since: name === 'del' ? '1.0.0' : '4.0.0',
      complexity: 'O(N) where N is the number of keys that will be removed.',
      keys: allKeys,
      access: 'write',
      usesValues: false,
      run: deleteKeys,
    }),
  ),

  ...(['exists', 'touch'] as const).map((name) =>
    defineCommand({
      name,
      arity: -2,
      flags: ['readonly', 'fast'],
      group: 'generic',
      summary:
        name === 'exists'
          ? 'Determine if a key exists'
          : 'Alters the last access time of a key(s). Returns the number of existing keys specified.',
      since: name === 'exists' ? '1.0.0' : '3.2.1',
      complexity: 'O(N) where N is the number of keys to check.',
      keys: allKeys,
      access: 'read',
      usesValues: false,
      run: existing,
    }),
  ),

  defineCommand({
    name: 'type',
    arity: 2,
    flags: ['readonly', 'fast'],
    group: 'generic',
    summary: 'Determine the type stored at key',
    since: '1.0.0',
    keys: oneKey,
    access: 'read',
    usesValues: false,
    run: (context) => (context.view.exists(context.keys[0]!) ? typeString : typeNone),
  }),

  defineCommand({
    name: 'rename',
    arity: 3,
    flags: ['write'],
    group: 'generic',
    summary: 'Rename a key',
    since: '1.0.0',
    keys: twoKeys,
    access: 'write',
    run: (context) => rename(context, false),
  }),

  defineCommand({
    name: 'renamenx',
    arity: 3,
    flags: ['write', 'fast'],
    group: 'generic',
    summary: 'Rename a key, only if the new key does not exist',
    since: '1.0.0',
    keys: twoKeys,
    access: 'write',
    run: (context) => rename(context, true),
  }),

  defineCommand({
    name: 'copy',
    arity: -3,
    flags: ['write', 'denyoom'],
    group: 'generic',
    summary: 'Copy a key',
    since: '6.2.0',
    complexity: 'O(N) worst case for collections, where N is the number of nested items. O(1) for string values.',
    keys: twoKeys,
    access: 'write',
    keyAccess: (index) => (index === 0 ? 'read' : 'write'),
    run(context) {
      const { args, view } = context;
      let replace = false;
      for (let index = 3; index < args.length; index++) {
        const option = args[index]!;
        if (isWord(option, 'replace')) {
          replace = true;
        } else if (isWord(option, 'db') && index + 1 < args.length) {
          // kvs has one database: 0.
          if (int32Arg(args[++index]!) !== 0) throw new RespError(redisErrors.dbIndex);
        } else {
          throw new RespError(redisErrors.syntax);
        }
      }
      const [source, destination] = context.keys as [string, string];
      if (source === destination) throw new RespError(redisErrors.sameObject);
      const current = view.get(source);
      if (current === undefined) return 0;
      if (view.exists(destination) && !replace) return 0;
      view.put(destination, current.value, current.expires, current.contentType);
      return 1;
    },
  }),

  defineCommand<MatchingKeys>({
    name: 'keys',
    arity: 2,
    flags: ['readonly'],
    group: 'generic',
    summary: 'Find all keys matching the given pattern',
    since: '1.0.0',
    complexity:
      'O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.',
    access: 'read',
    prepare: (call) => listMatching(call, new GlobPattern(call.args[1]!)),
    run(context, listed) {
      // Inside MULTI, earlier commands' writes count. Outside it there are none: no set of every
      // listed key is built for nothing.
      const pattern = new GlobPattern(context.args[1]!);
      let keys: Set<string> | undefined;
      for (const [key, exists] of context.view.pendingKeys()) {
        if (!pattern.matches(key)) continue;
        keys ??= new Set(listed.keys);
        if (exists) keys.add(key);
        else keys.delete(key);
      }
      return keys === undefined ? listed.reply : [...keys].sort(compareKeys);
    },
  }),

  defineCommand<ScanPage>({
    name: 'scan',
    arity: -2,
    flags: ['readonly'],
    group: 'generic',
    summary: 'Incrementally iterate the keys space',
    since: '2.8.0',
    complexity:
      'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.',
    access: 'read',
    prepare: scan,
    run: (_context, page) => [page.cursor, page.keys],
  }),

  defineCommand<string | null>({
    name: 'randomkey',
    arity: 1,
    flags: ['readonly'],
    group: 'generic',
    summary: 'Return a random key from the keyspace',
    since: '1.0.0',
    access: 'read',
    prepare: randomKey,
    run: (_context, key) => key,
  }),

  expireCommand('expire', 'seconds', true, "Set a key's time to live in seconds", '1.0.0'),
  expireCommand('pexpire', 'ms', true, "Set a key's time to live in milliseconds", '2.6.0'),
  expireCommand('expireat', 'seconds', false, 'Set the expiration for a key as a UNIX timestamp', '1.2.0'),
  expireCommand(
    'pexpireat',
    'ms',
    false,
    'Set the expiration for a key as a UNIX timestamp specified in milliseconds',
    '2.6.0',
  ),

  ttlCommand(
    'ttl',
    (expires, now) => Math.floor((Math.max(0, expires - now) + 500) / 1000),
    'Get the time to live for a key in seconds',
    '1.0.0',
  ),
  ttlCommand(
    'pttl',
    (expires, now) => Math.max(0, expires - now),
    'Get the time to live for a key in milliseconds',
    '2.6.0',
  ),
  // Redis rounds EXPIRETIME to the nearest second, as it does TTL.
  ttlCommand(
    'expiretime',
    (expires) => Math.floor((expires + 500) / 1000),
    'Get the expiration Unix timestamp for a key',
    '7.0.0',
  ),
  ttlCommand(
    'pexpiretime',
    (expires) => expires,
    'Get the expiration Unix timestamp for a key in milliseconds',
    '7.0.0',
  ),

  defineCommand({
    name: 'persist',
    arity: 2,
    flags: ['write', 'fast'],
    group: 'generic',
    summary: 'Remove the expiration from a key',
    since: '2.2.0',
    keys: oneKey,
    access: 'write',
    run(context) {
      const key = context.keys[0]!;
      const current = context.view.get(key);
      if (current === undefined || current.expires === null) return 0;
      context.view.put(key, current.value, null, current.contentType);
      return 1;
    },
  }),
];
