// The RESP fuzzer: hostile and odd input against a running kvs RESP listener (test/fuzz/
// fuzz-options.ts is the contract). Cases come from fast-check arbitraries, drawn in batches with
// fc.sample and a seed derived from the campaign's seed, so a seed replays the same inputs:
//
// - raw: random bytes, and malformed framing (huge, negative, non-numeric lengths; `*` nested in
//   `*`; `+`, `:`, `$` where a command is expected; inline commands with odd quoting);
// - commands: a pipeline of commands of the command table (every command and subcommand), with
//   random arguments (keys, valid and invalid numbers, options, huge counts and offsets), sent
//   with or without a token, cut at random byte boundaries across writes;
// - flood: one command pipelined up to 3000 times, its replies read or never read;
// - model: SET / MSET / DEL / INCR on a dedicated key range, whose acknowledged effects are kept
//   in a model that the store must match at the end (no partial or lost write).
//
// Invariants: every reply is valid RESP (test/resp/resp-test-client.ts readReply, strict); no
// reply is the catalogue's `internal` error; after each batch the process is alive, a fresh
// connection answers PING, and its RSS is within bounds; at the end the model keys hold what was
// acknowledged. Findings are returned, never thrown.

import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { createCommandTable } from '../../src/resp/command-table.js';
import type { Command } from '../../src/resp/command.js';
import { INTERNAL_ERROR_LINE } from '../../src/resp/resp-errors.js';
import { encodeCommand, readReply, type RespValue } from '../resp/resp-test-client.js';
import { processResidentSet } from '../../bench/scale/scale-store.js';
import { rssBytes, type FuzzFinding, type FuzzOptions, type FuzzReport } from './fuzz-options.js';

export interface RespFuzzTarget {
  readonly respPort: number;
  readonly pid: number;
  readonly token: string;
  /** Largest growth of the server's own memory (ownMemoryBytes) over its start; default 256 MiB + 128 MiB of slack. */
  readonly rssGrowthLimitBytes?: number;
}

type Arg = string | Buffer;

/**
 * The server's own memory, the figure the campaign bounds: RssAnon (its heap, Buffers and the
 * allocator's arenas), where the kernel reports it, else VmRSS. VmRSS also counts RssFile, lmdb's
 * store pages mapped by reads and writes: they grow with the store the campaign writes (46 to 73
 * MiB in a 1,200 s campaign whose VmRSS passed this bound 50 times) and are page cache the
 * kernel can take back, not memory kvs holds. A finding still names all three. Measured on that
 * campaign's seed: 400 s, 32,288 cases, RssAnon 54 -> 175 MB, no finding; the same 120 s with
 * a copy of every read chunk kept (a leak planted for the check), 50 findings, RssAnon 300 MB.
 */
async function ownMemoryBytes(pid: number): Promise<number> {
  const split = processResidentSet(pid);
  // No status to read (the process is gone): rssBytes says why.
  if (split === undefined) return rssBytes(pid);
  return split.anon ?? split.rss;
}

interface RawCase {
  readonly kind: 'raw';
  readonly auth: boolean;
  readonly bytes: Buffer;
  readonly cuts: readonly number[];
}

interface CommandsCase {
  readonly kind: 'commands';
  readonly auth: boolean;
  readonly commands: readonly (readonly Arg[])[];
  readonly cuts: readonly number[];
}

/** One command pipelined many times, its replies read or never read (the output bounds). */
interface FloodCase {
  readonly kind: 'flood';
  readonly auth: boolean;
  readonly command: readonly Arg[];
  readonly copies: number;
  readonly read: boolean;
}

type ModelOp =
  | { readonly op: 'set'; readonly key: string; readonly value: string }
  | { readonly op: 'mset'; readonly pairs: readonly (readonly [string, string])[] }
  | { readonly op: 'del'; readonly keys: readonly string[] }
  | { readonly op: 'incr'; readonly key: string };

interface ModelCase {
  readonly kind: 'model';
  readonly ops: readonly ModelOp[];
  /** Malformed bytes after the pipeline: the server closes, some replies may never come. */
  readonly poison: boolean;
  readonly cuts: readonly number[];
}

type FuzzCase = RawCase | CommandsCase | ModelCase | FloodCase;

const MODEL_PREFIX = 'fuzz:model:';
const MODEL_KEYS = 12;
const SENTINEL = 'fuzz-sentinel';
const BATCH_SIZE = 50;
/** After the last byte, a case ends when nothing arrives for this long (or the server closes). */
const IDLE_MS = 50;
/** Raw and command cases run this many at a time; model cases run alone, in order, after them. */
const CONCURRENCY = 4;
const REPLY_TIMEOUT_MS = 10_000;
const MAX_FINDINGS = 50;

// ---------------------------------------------------------------------------------------------
// Generators

const numberWords = [
  '0',
  '1',
  '-1',
  '2',
  '10',
  '100',
  '-100',
  '1000',
  '4096',
  '65536',
  '1048576',
  '536870912',
  '4294967295',
  '4294967296',
  '9223372036854775807',
  '-9223372036854775808',
  '9223372036854775808',
  '-9223372036854775809',
  '99999999999999999999999',
  '1e3',
  '3.14',
  '-0',
  '00',
  '+1',
  ' 1',
  'inf',
  '-inf',
  'nan',
  'abc',
  '',
  '0x10',
  '1.7976931348623157e308',
];
const optionWords = [
  'NX',
  'XX',
  'GT',
  'LT',
  'EX',
  'PX',
  'EXAT',
  'PXAT',
  'KEEPTTL',
  'GET',
  'PERSIST',
  'COUNT',
  'MATCH',
  'TYPE',
  'BIT',
  'BYTE',
  'IDX',
  'LEN',
  'MINMATCHLEN',
  'WITHMATCHLEN',
  'REPLACE',
  'DB',
  'ASYNC',
  'SYNC',
  'AUTH',
  'SETNAME',
  'ID',
  'INFO',
  'LIST',
  'DOCS',
  'COUNT',
  'HELP',
  'default',
  'all',
  'everything',
  'string',
  'normal',
  'lib-name',
  'lib-ver',
  'server',
  'keyspace',
];
const patternWords = ['*', '?', 'fuzz:k:*', 'fuzz:k:[0-9]', '[', '\\', '*a*b*c*d*e*f*', '[^a-z]*', 'fuzz:k:\\*'];

const keyArg = fc.integer({ min: 0, max: 15 }).map((index): Arg => `fuzz:k:${index}`);
const oddKeyArg = fc.constantFrom<Arg>('', 'k'.repeat(1100), Buffer.from([0xff, 0xfe]), 'fuzz:k:é');
const valueArg = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 20 }).map((text): Arg => text) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): Arg => Buffer.from(bytes)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 80 * 1024 }).map((length): Arg => Buffer.alloc(length, 0x61)) },
);
const argument: fc.Arbitrary<Arg> = fc.oneof(
  { weight: 4, arbitrary: keyArg },
  { weight: 4, arbitrary: fc.constantFrom<Arg>(...numberWords) },
  { weight: 2, arbitrary: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map((value): Arg => String(value)) },
  { weight: 3, arbitrary: fc.constantFrom<Arg>(...optionWords) },
  { weight: 1, arbitrary: fc.constantFrom<Arg>(...patternWords) },
  { weight: 3, arbitrary: valueArg },
  { weight: 1, arbitrary: oddKeyArg },
);

/** Every command and subcommand of the command table, as the words that invoke it. */
function commandNames(): string[][] {
  const names: string[][] = [];
  const add = (command: Command) => {
    if (command.subcommands) {
      for (const sub of command.subcommands) names.push(sub.name.split('|'));
      names.push([command.name]); // the container alone: arity error
    } else {
      names.push([command.name]);
    }
  };
  for (const command of createCommandTable().values()) add(command);
  return names;
}

function commandArbitrary(names: readonly string[][], token: string): fc.Arbitrary<Arg[]> {
  const table = createCommandTable();
  return fc
    .tuple(
      fc.constantFrom(...names),
      fc.array(argument, { maxLength: 8 }),
      fc.boolean(),
      fc.constantFrom(token, 'not-a-token'),
      fc.boolean(),
    )
    .map(([words, extra, exactArity, authToken, upper]) => {
      const command =
        words.length === 2
          ? table.get(words[0]!)!.subcommands!.find((sub) => sub.name === words.join('|'))!
          : table.get(words[0]!)!;
      const arity = Math.abs(command.arity);
      const needed = Math.max(0, arity - words.length);
      // Mostly the right number of arguments (so the command runs), sometimes any number.
      const args: Arg[] = exactArity ? [...extra, ...extra, ...extra].slice(0, needed) : extra;
      while (exactArity && args.length < needed) args.push(`fuzz:k:${args.length}`);
      if (command.arity < 0 && !exactArity) args.push(...extra.slice(0, 3));
      // AUTH and HELLO ... AUTH get the real token half of the time.
      if (command.name === 'auth' && args.length > 0) args[args.length - 1] = authToken;
      const shown = words.map((word) => (upper ? word.toUpperCase() : word));
      return [...shown, ...args];
    });
}

const cutsArbitrary = fc.array(fc.nat({ max: 1_000_000 }), { maxLength: 6 });

function malformedFragment(): fc.Arbitrary<string> {
  const hugeNumber = fc.constantFrom(
    '999999999999',
    '-5',
    '-1',
    '0',
    'abc',
    '',
    '4194305',
    '1048577',
    '99999999999999999999999',
    '1 ',
    '+3',
    '00',
  );
  return fc.oneof(
    hugeNumber.map((n) => `*${n}\r\n`),
    hugeNumber.map((n) => `$${n}\r\n`),
    hugeNumber.map((n) => `*1\r\n$${n}\r\n`),
    fc.constantFrom(
      '*1\r\n*1\r\n$4\r\nPING\r\n',
      '+OK\r\n',
      ':1\r\n',
      '-ERR x\r\n',
      '%1\r\n',
      '_\r\n',
      '*2\r\n$4\r\nECHO\r\n:5\r\n',
    ),
    fc.constantFrom(
      'PING\r\n',
      'ECHO "a\\x41b"\r\n',
      "SET 'k' \"unbalanced\r\n",
      'GET "a"b\r\n',
      '\r\n',
      '\n',
      'PING\n',
      '"\\x4\r\n',
      '\x00PING\r\n',
    ),
    fc.string({ maxLength: 40 }).map((text) => `${text}\r\n`),
    fc.constantFrom(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${70 * 1024}\r\n`, '*2\r\n$4\r\nPING\r\n$3\r\nabcde\r\n'),
  );
}

function rawArbitrary(): fc.Arbitrary<RawCase> {
  const random = fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes));
  const malformed = fc
    .array(malformedFragment(), { minLength: 1, maxLength: 5 })
    .map((parts) => Buffer.from(parts.join(''), 'latin1'));
  return fc.record({
    kind: fc.constant('raw' as const),
    auth: fc.boolean(),
    bytes: fc.oneof(random, malformed),
    cuts: cutsArbitrary,
  });
}

function modelArbitrary(): fc.Arbitrary<ModelCase> {
  const key = fc.integer({ min: 0, max: MODEL_KEYS - 1 }).map((index) => `${MODEL_PREFIX}${index}`);
  const badKey = fc.constantFrom('', 'x'.repeat(1100));
  const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: -1000, max: 1000 }).map(String));
  const op: fc.Arbitrary<ModelOp> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), key, value }),
    fc.record({
      op: fc.constant('mset' as const),
      pairs: fc.array(fc.tuple(fc.oneof({ weight: 9, arbitrary: key }, { weight: 1, arbitrary: badKey }), value), {
        minLength: 1,
        maxLength: 4,
      }),
    }),
    fc.record({ op: fc.constant('del' as const), keys: fc.array(key, { minLength: 1, maxLength: 3 }) }),
    fc.record({ op: fc.constant('incr' as const), key }),
  );
  return fc.record({
    kind: fc.constant('model' as const),
    ops: fc.array(op, { minLength: 1, maxLength: 5 }),
    poison: fc.boolean(),
    cuts: cutsArbitrary,
  });
}

function caseArbitrary(token: string): fc.Arbitrary<FuzzCase> {
  const names = commandNames();
  const commands: fc.Arbitrary<CommandsCase> = fc.record({
    kind: fc.constant('commands' as const),
    auth: fc.boolean(),
    commands: fc.array(commandArbitrary(names, token), { minLength: 1, maxLength: 6 }),
    cuts: cutsArbitrary,
  });
  const flood: fc.Arbitrary<FloodCase> = fc.record({
    kind: fc.constant('flood' as const),
    auth: fc.boolean(),
    command: fc.oneof(
      commandArbitrary(names, token),
      fc.constant<Arg[]>(['GET', 'fuzz:k:1']),
      fc.constant<Arg[]>(['MGET', 'fuzz:k:1', 'fuzz:k:1', 'fuzz:k:1']),
    ),
    copies: fc.integer({ min: 10, max: 3000 }),
    read: fc.boolean(),
  });
  return fc.oneof(
    { weight: 2, arbitrary: rawArbitrary() },
    { weight: 5, arbitrary: commands },
    { weight: 2, arbitrary: modelArbitrary() },
    { weight: 1, arbitrary: flood },
  );
}

// ---------------------------------------------------------------------------------------------
// Running cases

/** A connection that collects and parses every reply (strictly) as it arrives. */
class FuzzConnection {
  readonly replies: RespValue[] = [];
  invalid: string | undefined;
  closed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private lastDataAt = Date.now();
  private wakers: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.lastDataAt = Date.now();
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new FuzzConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  private parse(): void {
    if (this.invalid !== undefined) return;
    try {
      for (;;) {
        const parsed = readReply(this.buffer, 0);
        if (parsed === undefined) return;
        this.replies.push(parsed.value);
        this.buffer = this.buffer.subarray(parsed.next);
      }
    } catch (error) {
      this.invalid = `${(error as Error).message}; bytes: ${escapeBytes(this.buffer.subarray(0, 200))}`;
    }
  }

  /** Bytes received that do not form a whole reply yet. */
  get unparsed(): number {
    return this.buffer.length;
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const waker of wakers) waker();
  }

  private waitForEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Waits until `count` replies arrived, the server closed, or timeoutMs passed. */
  async waitReplies(count: number, timeoutMs = REPLY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < count && !this.closed && this.invalid === undefined && Date.now() < deadline) {
      await this.waitForEvent(deadline - Date.now());
    }
  }

  /** Waits until the server closed, the sentinel came back, or nothing arrived for IDLE_MS. */
  async waitSettled(timeoutMs = REPLY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.closed || this.invalid !== undefined || isSentinel(this.replies[this.replies.length - 1])) return;
      const now = Date.now();
      if (now >= deadline || (now - this.lastDataAt >= IDLE_MS && this.unparsed === 0)) return;
      await this.waitForEvent(Math.min(IDLE_MS, deadline - now));
    }
  }

  /** Writes the bytes cut at the given offsets, one write per piece, a turn of the loop apart. */
  async writeCut(bytes: Buffer, cuts: readonly number[]): Promise<void> {
    const offsets = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % bytes.length)))].sort(
      (a, b) => a - b,
    );
    let start = 0;
    for (const offset of [...offsets, bytes.length]) {
      if (offset <= start && offset !== bytes.length) continue;
      if (this.closed) return;
      this.socket.write(bytes.subarray(start, offset));
      start = offset;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function isSentinel(reply: RespValue | undefined): boolean {
  return reply?.type === 'bulk' && reply.value?.toString('latin1') === SENTINEL;
}

function escapeBytes(bytes: Buffer): string {
  return JSON.stringify(bytes.toString('latin1'));
}

function describeCase(fuzzCase: FuzzCase): string {
  const text = JSON.stringify(fuzzCase, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
      const data = (value as { data: number[] }).data;
      return data.length > 256 ? `<${data.length} bytes>` : `latin1:${Buffer.from(data).toString('latin1')}`;
    }
    if (typeof value === 'string' && value.length > 256) return `<${value.length} chars: ${value.slice(0, 16)}...>`;
    return value;
  });
  return text.length > 4000 ? `${text.slice(0, 4000)}...` : text;
}

function isInternalError(reply: RespValue): boolean {
  if (reply.type === 'error') return reply.value === INTERNAL_ERROR_LINE;
  if (reply.type === 'array' || reply.type === 'set' || reply.type === 'push')
    return (reply.value ?? []).some(isInternalError);
  if (reply.type === 'map') return reply.value.some(([key, value]) => isInternalError(key) || isInternalError(value));
  return false;
}

/** The model of acknowledged writes: a value, absent (null), or unknown (not in the map). */
class WriteModel {
  readonly known = new Map<string, string | null>();

  constructor() {
    for (let index = 0; index < MODEL_KEYS; index++) this.known.set(`${MODEL_PREFIX}${index}`, null);
  }

  forget(keys: readonly string[]): void {
    for (const key of keys) this.known.delete(key);
  }

  forgetAll(): void {
    this.known.clear();
  }
}

function modelOpArgs(op: ModelOp): Arg[] {
  switch (op.op) {
    case 'set':
      return ['SET', op.key, op.value];
    case 'mset':
      return ['MSET', ...op.pairs.flat()];
    case 'del':
      return ['DEL', ...op.keys];
    case 'incr':
      return ['INCR', op.key];
  }
}

function modelOpKeys(op: ModelOp): string[] {
  switch (op.op) {
    case 'set':
    case 'incr':
      return [op.key];
    case 'mset':
      return op.pairs.map(([key]) => key);
    case 'del':
      return [...op.keys];
  }
}

/** Applies an acknowledged reply to the model; returns a mismatch description, if any. */
function applyModelReply(model: WriteModel, op: ModelOp, reply: RespValue): string | undefined {
  if (reply.type === 'error') return undefined; // refused: nothing may have been written
  switch (op.op) {
    case 'set':
      if (reply.type !== 'simple' || reply.value !== 'OK') return `SET answered ${JSON.stringify(reply)}`;
      model.known.set(op.key, op.value);
      return undefined;
    case 'mset':
      if (reply.type !== 'simple' || reply.value !== 'OK') return `MSET answered ${JSON.stringify(reply)}`;
      for (const [key, value] of op.pairs) model.known.set(key, value);
      return undefined;
    case 'del': {
      if (reply.type !== 'integer') return `DEL answered ${reply.type}`;
      const distinct = [...new Set(op.keys)];
      if (distinct.every((key) => model.known.has(key))) {
        const expected = distinct.filter((key) => model.known.get(key) !== null).length;
        if (Number(reply.value) !== expected)
          return `DEL ${distinct.join(' ')} answered ${reply.value}, the model expected ${expected}`;
      }
      for (const key of distinct) model.known.set(key, null);
      return undefined;
    }
    case 'incr': {
      if (reply.type !== 'integer') return `INCR answered ${reply.type}`;
      const before = model.known.get(op.key);
      if (before === null && reply.value !== 1n) return `INCR of an absent key answered ${reply.value}`;
      if (typeof before === 'string' && /^-?\d+$/.test(before) && BigInt(before) + 1n !== reply.value) {
        return `INCR of ${before} answered ${reply.value}`;
      }
      model.known.set(op.key, String(reply.value));
      return undefined;
    }
  }
}

export async function fuzzResp(target: RespFuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  log(
    `resp fuzz: seed ${options.seed} (replay with KVS_FUZZ_SEED=${options.seed}), up to ${options.cases} cases or ${options.durationMs} ms`,
  );
  const started = Date.now();
  const findings: FuzzFinding[] = [];
  const seen = new Set<string>();
  const report = (invariant: string, input: string, detail: string) => {
    const signature = `${invariant}:${detail.slice(0, 80)}`;
    if (seen.has(signature) || findings.length >= MAX_FINDINGS) return;
    seen.add(signature);
    findings.push({ invariant, input, detail });
    log(`resp fuzz: FINDING ${invariant}: ${detail}\n  input: ${input}`);
  };
  const baselineRss = await ownMemoryBytes(target.pid);
  const rssLimit = baselineRss + (target.rssGrowthLimitBytes ?? 384 * 1024 * 1024);
  let rssPeak = baselineRss;
  const model = new WriteModel();
  const arbitrary = caseArbitrary(target.token);
  let casesRun = 0;
  let dead = false;

  const authenticate = async (connection: FuzzConnection): Promise<boolean> => {
    connection.socket.write(encodeCommand(['AUTH', target.token]));
    await connection.waitReplies(1);
    const reply = connection.replies.shift();
    return reply?.type === 'simple' && reply.value === 'OK';
  };

  const errorPrefixes = new Map<string, number>();
  let replyCount = 0;
  const checkReplies = (connection: FuzzConnection, input: string) => {
    replyCount += connection.replies.length;
    for (const reply of connection.replies) {
      if (reply.type !== 'error') continue;
      const prefix = reply.value.split(' ').slice(0, 3).join(' ');
      errorPrefixes.set(prefix, (errorPrefixes.get(prefix) ?? 0) + 1);
    }
    if (connection.invalid !== undefined) report('invalid-reply', input, connection.invalid);
    for (const reply of connection.replies)
      if (isInternalError(reply)) report('internal-error', input, `a reply held ${INTERNAL_ERROR_LINE}`);
  };

  const runCase = async (fuzzCase: FuzzCase): Promise<void> => {
    const input = describeCase(fuzzCase);
    const connection = await FuzzConnection.open(target.respPort);
    try {
      if (fuzzCase.kind === 'model') {
        if (!(await authenticate(connection))) return;
        const payload = Buffer.concat([
          ...fuzzCase.ops.map((op) => encodeCommand(modelOpArgs(op))),
          fuzzCase.poison ? Buffer.from('*1\r\n$x\r\n') : Buffer.alloc(0),
        ]);
        await connection.writeCut(payload, fuzzCase.cuts);
        await connection.waitReplies(fuzzCase.ops.length + (fuzzCase.poison ? 1 : 0));
        fuzzCase.ops.forEach((op, index) => {
          const reply = connection.replies[index];
          if (reply === undefined) {
            model.forget(modelOpKeys(op));
            return;
          }
          const mismatch = applyModelReply(model, op, reply);
          if (mismatch !== undefined) report('model-mismatch', input, mismatch);
        });
        if (connection.replies.length < fuzzCase.ops.length && !connection.closed) {
          report(
            'hang',
            input,
            `${connection.replies.length} of ${fuzzCase.ops.length} replies within ${REPLY_TIMEOUT_MS} ms`,
          );
        }
        checkReplies(connection, input);
        return;
      }
      const authenticated = fuzzCase.auth && (await authenticate(connection));
      if (fuzzCase.kind === 'flood') {
        if (!fuzzCase.read) connection.socket.pause();
        const one = encodeCommand(fuzzCase.command);
        await connection.writeCut(Buffer.concat(Array.from({ length: fuzzCase.copies }, () => one)), []);
        if (fuzzCase.read) await connection.waitSettled();
        else await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        checkReplies(connection, input);
        if (authenticated && /^flush/i.test(String(fuzzCase.command[0]))) model.forgetAll();
        return;
      }
      const payload =
        fuzzCase.kind === 'raw'
          ? fuzzCase.bytes
          : Buffer.concat(fuzzCase.commands.map((command) => encodeCommand(command)));
      await connection.writeCut(payload, fuzzCase.cuts);
      if (!connection.closed) connection.socket.write(encodeCommand(['PING', SENTINEL]));
      await connection.waitSettled();
      checkReplies(connection, input);
      // An authenticated FLUSHDB/FLUSHALL (or anything unforeseen) may have removed model keys.
      if (
        authenticated &&
        fuzzCase.kind === 'commands' &&
        fuzzCase.commands.some((command) => /^flush/i.test(String(command[0])))
      )
        model.forgetAll();
      if (authenticated && fuzzCase.kind === 'raw' && /flush/i.test(fuzzCase.bytes.toString('latin1')))
        model.forgetAll();
    } finally {
      connection.close();
    }
  };

  const checkHealth = async (afterCase: string): Promise<void> => {
    try {
      process.kill(target.pid, 0);
    } catch {
      report('crash', afterCase, `the server process ${target.pid} is gone`);
      dead = true;
      return;
    }
    try {
      const probe = await FuzzConnection.open(target.respPort);
      probe.socket.write(encodeCommand(['PING']));
      await probe.waitReplies(1);
      probe.close();
      const reply = probe.replies[0];
      if (reply?.type !== 'simple' || reply.value !== 'PONG')
        report('health', afterCase, `PING on a fresh connection answered ${JSON.stringify(reply)}`);
    } catch (error) {
      report('health', afterCase, `a fresh connection failed: ${(error as Error).message}`);
    }
    const rss = await ownMemoryBytes(target.pid).catch(() => 0);
    rssPeak = Math.max(rssPeak, rss);
    if (rss > rssLimit) {
      const split = processResidentSet(target.pid);
      report(
        'rss',
        afterCase,
        `the server's own memory (RssAnon) ${rss} bytes is over the bound ${rssLimit} (start ${baselineRss}); VmRSS ${split?.rss ?? '?'}, RssFile ${split?.file ?? '?'}`,
      );
    }
  };

  let batch = 0;
  while (casesRun < options.cases && Date.now() - started < options.durationMs && !dead) {
    const count = Math.min(BATCH_SIZE, options.cases - casesRun);
    const cases = fc.sample(arbitrary, { seed: options.seed + batch, numRuns: count });
    let last = '';
    const runOne = async (fuzzCase: FuzzCase) => {
      if (Date.now() - started >= options.durationMs) return;
      last = describeCase(fuzzCase);
      try {
        await runCase(fuzzCase);
      } catch (error) {
        report('health', last, `the case could not run: ${(error as Error).message}`);
      }
      casesRun++;
    };
    const parallel = cases.filter((fuzzCase) => fuzzCase.kind !== 'model');
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < parallel.length) await runOne(parallel[next++]!);
      }),
    );
    for (const fuzzCase of cases) if (fuzzCase.kind === 'model') await runOne(fuzzCase);
    await checkHealth(`after batch ${batch} (seed ${options.seed + batch}); last case: ${last}`);
    batch++;
  }

  if (!dead) {
    const reader = await FuzzConnection.open(target.respPort);
    const keys = [...model.known.keys()];
    if (keys.length > 0) {
      reader.socket.write(Buffer.concat(keys.map((key) => encodeCommand(['GET', key]))));
      await reader.waitReplies(keys.length);
      keys.forEach((key, index) => {
        const reply = reader.replies[index];
        const stored = reply?.type === 'bulk' ? (reply.value?.toString('utf8') ?? null) : `<${JSON.stringify(reply)}>`;
        const expected = model.known.get(key)!;
        if (stored !== expected)
          report(
            'partial-write',
            `GET ${key}`,
            `the store holds ${JSON.stringify(stored)}, acknowledged writes left ${JSON.stringify(expected)}`,
          );
      });
    }
    reader.close();
  }
  const commonErrors = [...errorPrefixes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([prefix, count]) => `${prefix} (${count})`);
  log(`resp fuzz: ${replyCount} replies; most common errors: ${commonErrors.join(', ')}`);
  log(
    `resp fuzz: ${casesRun} cases in ${Date.now() - started} ms, ${findings.length} findings, RssAnon peak ${rssPeak} bytes (start ${baselineRss}); seed ${options.seed}`,
  );
  return { target: 'resp', seed: options.seed, casesRun, findings, rssPeakBytes: rssPeak };
}
