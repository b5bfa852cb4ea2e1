// The CLI fuzzer: generated command lines for every `kvs` command, run as the real binary
// (`node bin/kvs.js`), each in a fresh working directory (test/fuzz/fuzz-options.ts is the
// contract). The commands, their arguments and their options are read from the commander program
// (src/cli/program.ts), so a new command or flag is fuzzed without changing this file. A seeded
// PRNG draws every case, so a seed replays the same command lines.
//
// Each case: a command, its arguments and a random subset of its options, with values that are
// valid or broken (unknown flags, missing values, wrong types, huge and negative numbers, empty
// strings, control characters, missing paths, a file where a directory is expected and the other
// way round, /proc paths, URLs without a scheme or unreachable, import files with generated
// garbage), sometimes the same through KVS_* variables. Client commands talk to a real server;
// `serve` gets a free port on 127.0.0.1 and is stopped by PID (SIGTERM) once it reports ready,
// `watch` (SIGINT) once it has run for a moment.
//
// Invariants: the process ends (or is stopped) within a bound; its exit code is 0, 1 or 2
// (docs/cli.md); no stack trace, 'Unhandled', 'node:internal' or `(internal)` code on stderr; a
// failing command prints at most three lines, each `kvs: ...` (or import's count of what it wrote
// before the failure); a failing command leaves its working directory (data directories, token
// files, output files) byte-identical and writes no key on the server; RSS stays bounded.

import { spawn } from 'node:child_process';
import { Random } from '../helpers/random.js';
import { createHash } from 'node:crypto';
import { cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Command, Option } from 'commander';
import { KvsClient } from '../../src/client/index.js';
import { createProgram } from '../../src/cli/program.js';
import { kvsBin, removeDir, tempDir } from '../helpers/server-process.js';
import { rssBytes, type FuzzFinding, type FuzzOptions, type FuzzReport } from './fuzz-options.js';

export interface CliFuzzTarget {
  /** A running kvs server the client commands talk to. */
  readonly url: string;
  readonly token: string;
  /** A port that is in use (the server's): EADDRINUSE cases. */
  readonly busyPort: number;
  /** A data directory with a store, copied into the cases that want an existing one. */
  readonly storeTemplate?: string;
}

export interface CliCase {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Files to create in the case's directory before the run (relative path -> bytes). */
  readonly files: Readonly<Record<string, Buffer>>;
  readonly dirs: readonly string[];
  /** Copy the store template to this relative directory. */
  readonly store?: string;
  /** Stdin bytes (closed after). */
  readonly input: Buffer;
  /** Keys of this case live under this prefix on the server. */
  readonly prefix: string;
  /** The command may write keys of its prefix even when it fails (NDJSON import is streamed). */
  readonly partialWritesAllowed: boolean;
}

const CONCURRENCY = 2;
const EXIT_BOUND_MS = 20_000;
const SERVE_READY_BOUND_MS = 20_000;
const STOP_BOUND_MS = 10_000;
/** A watch that got this far is stopped with SIGINT. */
const WATCH_RUN_MS = 1500;
const RSS_LIMIT_BYTES = 400 * 1024 * 1024;
const MAX_FINDINGS = 50;
/** Files of a case directory hashed for the nothing-written invariant (bounded walk). */
const SNAPSHOT_MAX_ENTRIES = 2000;

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// The command tree, read from the program.

export interface CommandSpec {
  /** ['token', 'add'] */
  readonly path: readonly string[];
  readonly command: Command;
  readonly options: readonly Option[];
}

export async function commandSpecs(): Promise<CommandSpec[]> {
  const specs: CommandSpec[] = [];
  const walk = (command: Command, path: string[]) => {
    if (command.commands.length === 0) {
      specs.push({ path, command, options: command.options.filter((option) => !option.hidden) });
      return;
    }
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(await createProgram(), []);
  return specs;
}

// ---------------------------------------------------------------------------------------------
// Values

const numberWords = [
  '0',
  '1',
  '2',
  '7',
  '100',
  '65535',
  '65536',
  '99999',
  '-1',
  '-100',
  '1.5',
  '1e3',
  '1e308',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  ' 5',
  '9007199254740993',
  '99999999999999999999999999',
  'abc',
  '',
];

const nastyStrings = [
  '',
  ' ',
  '-',
  '--',
  '-x',
  '--help',
  'a\nb',
  'tab\there',
  '\u0000nul',
  '\u001b[31mred',
  'ключ/😀',
  '\uFFFD\uFFFE',
  '\uD800',
  '%00%ff',
  '../../etc/passwd',
  '$(touch pwned)',
  '`id`',
  '*',
  "'quoted'",
  '"dq"',
  'x'.repeat(5000),
];

function nasty(random: Random): string {
  if (random.chance(0.2)) {
    // Random code points, control characters included (argv cannot carry NUL; spawn refuses it).
    return Array.from({ length: 1 + random.below(12) }, () => String.fromCodePoint(1 + random.below(0x2fff))).join('');
  }
  return random.pick(nastyStrings).replace(/\u0000/g, '');
}

interface CaseBuilder {
  readonly random: Random;
  readonly target: CliFuzzTarget;
  readonly prefix: string;
  readonly files: Record<string, Buffer>;
  readonly dirs: string[];
  store?: string;
  partialWritesAllowed: boolean;
  /** Names of files/dirs made so far, for unique names. */
  counter: number;
}

function fresh(builder: CaseBuilder, stem: string): string {
  return `${stem}-${builder.counter++}`;
}

function key(builder: CaseBuilder): string {
  const { random } = builder;
  if (random.chance(0.03)) return '';
  if (random.chance(0.1)) return `${builder.prefix}${nasty(random)}`;
  return `${builder.prefix}${random.pick(['a', 'b/c', 'ключ', 'with space', 'x'.repeat(1 + random.below(300))])}`;
}

/** Paths of every kind, relative to the case directory or absolute. */
function pathValue(builder: CaseBuilder, wants: 'file' | 'dir' | 'output'): string {
  const { random } = builder;
  switch (random.below(12)) {
    case 0:
      return fresh(builder, 'missing');
    case 1:
      return `${fresh(builder, 'no-dir')}/inside/x`;
    case 2: {
      const name = fresh(builder, 'plain');
      builder.files[name] = Buffer.from('a plain file\n');
      return name;
    }
    case 3: {
      const name = fresh(builder, 'dir');
      builder.dirs.push(name);
      if (random.chance(0.5)) builder.files[`${name}/junk`] = Buffer.from('junk');
      return name;
    }
    case 4:
      // Never a real system path that a successful run could write to (`/` as --data, /dev/null
      // as an output renamed into place): only paths that cannot be written, or read-only inputs.
      return random.pick(
        wants === 'file'
          ? ['/proc/nope', '/proc/self/status', '/proc/1/nope/x', '/sys/nope', '/dev/null']
          : ['/proc/nope', '/proc/self/status', '/proc/1/nope/x', '/sys/nope'],
      );
    case 5:
      return '';
    case 6:
      return `${fresh(builder, 'odd')}${random.pick(['\n', ' ', '\t', '#', ':', '%'])}name`;
    case 7:
      if (builder.target.storeTemplate !== undefined && wants === 'dir') {
        builder.store = fresh(builder, 'store');
        return builder.store;
      }
      return fresh(builder, 'new');
    default:
      if (wants === 'dir') return fresh(builder, 'data');
      if (wants === 'output') return `${fresh(builder, 'out')}.${random.pick(['yaml', 'json', 'ndjson', 'txt'])}`;
      return importFile(builder);
  }
}

/** A token file: valid, or garbage. */
function tokenFile(builder: CaseBuilder): string {
  const { random } = builder;
  if (random.chance(0.4)) return pathValue(builder, 'file');
  const name = fresh(builder, 'tokens');
  builder.files[name] = Buffer.from(
    random.pick([
      `${'t'.repeat(32)} admin\n`,
      `${'t'.repeat(32)} read ${builder.prefix}\n`,
      'one passphrase with spaces\n',
      'tok wrongscope\nsecond line\n',
      '# only a comment\n',
      '',
      '\u0000\u00ff\n',
    ]),
  );
  return name;
}

function encodeValue(random: Random): unknown {
  switch (random.below(8)) {
    case 0:
      return 'text';
    case 1:
      return { value: Buffer.from([0, 255]).toString('base64'), encoding: 'base64' };
    case 2:
      return { value: '%%%', encoding: 'base64' };
    case 3:
      return { value: 'v', encoding: 'rot13' };
    case 4:
      return { value: 'v', expires: random.pick(['yesterday', '2001-01-01T00:00:00Z', 1e308, -1, '9999-12-31']) };
    case 5:
      return { value: 5 };
    case 6:
      return [1, 2];
    default:
      return { value: 'v', contentType: random.pick(['text/plain', '', 'a\nb', null]) };
  }
}

/** An import file: a valid export with keys of the case's prefix, or garbage in a known format. */
function importFile(builder: CaseBuilder): string {
  const { random, prefix } = builder;
  const format = random.pick(['yaml', 'yml', 'json', 'ndjson', 'jsonl', 'txt']);
  const entries = Array.from({ length: random.below(6) }, (_, index) => [`${prefix}${index}`, encodeValue(random)]) as [
    string,
    unknown,
  ][];
  let text: string;
  if (format === 'json') text = JSON.stringify(Object.fromEntries(entries));
  else if (format === 'ndjson' || format === 'jsonl')
    text = entries
      .map(([key, value]) =>
        JSON.stringify(typeof value === 'object' && value !== null ? { key, ...value } : { key, value }),
      )
      .join('\n');
  else text = entries.map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`).join('\n');
  let bytes = Buffer.from(text);
  switch (random.below(10)) {
    case 0:
      bytes = bytes.subarray(0, random.below(bytes.length + 1));
      break;
    case 1:
      bytes = Buffer.from(`${text}\n${JSON.stringify(`${prefix}0`)}: dup\n`);
      break;
    case 2:
      bytes = Buffer.concat([bytes, Buffer.from(`\n${'z'.repeat(200_000 + random.below(200_000))}\n`)]);
      break;
    case 3:
      bytes = Buffer.from(Array.from({ length: random.below(400) }, () => random.below(256)));
      break;
    case 4:
      bytes = Buffer.from(random.pick(['[]', '42', 'null', '"s"', '{"a":', '---\n- a\n- b\n', '\uFEFF{}', '{}{}']));
      break;
    case 5:
      bytes = Buffer.from(`{"${prefix}k": {"value": "${'q'.repeat(1 + random.below(3_000_000))}"}}`);
      break;
    default:
      break;
  }
  if (format === 'ndjson' || format === 'jsonl') builder.partialWritesAllowed = true;
  const name = `${fresh(builder, 'import')}.${format}`;
  builder.files[name] = bytes;
  return name;
}

function urlValue(builder: CaseBuilder): string {
  const { random, target } = builder;
  if (random.chance(0.55)) return target.url;
  return random.pick([
    target.url.replace(/^http:\/\//, ''),
    'localhost:8080',
    'ftp://127.0.0.1/',
    'http://',
    'http://127.0.0.1:9',
    'http://127.0.0.1:1',
    'http://[::1',
    'http://no-such-host.invalid:8080',
    `${target.url}/some/path?x=1#f`,
    'https://127.0.0.1:9',
    nasty(random),
  ]);
}

function optionValue(builder: CaseBuilder, spec: CommandSpec, option: Option): string {
  const { random } = builder;
  if (random.chance(0.08)) return nasty(random);
  if (option.argChoices !== undefined)
    return random.chance(0.8) ? random.pick(option.argChoices) : random.pick(['', 'YAML', 'xml', 'admin,read']);
  const name = option.attributeName();
  const placeholder = /<(\w[\w-]*)>/.exec(option.flags)?.[1] ?? '';
  if (name === 'url') return urlValue(builder);
  if (name === 'token') return random.chance(0.8) ? builder.target.token : nasty(random);
  if (name === 'port' || name === 'respPort') {
    return random.pick(['0', '0', String(builder.target.busyPort), ...numberWords]);
  }
  if (name === 'workers') return random.pick(['1', '1', '2', '0', '65', '-1', 'abc', '']);
  if (name === 'host') return random.pick(['127.0.0.1', '::1', 'localhost', '999.1.1.1', 'no-such-host.invalid', '']);
  if (name === 'store')
    return random.pick([
      'lmdb',
      'memory',
      'memory',
      'etcd://',
      'etcd://a b',
      'etcds://[::1',
      'etcd://127.0.0.1:9',
      'mysql://x',
      '',
    ]);
  if (name === 'data') return pathValue(builder, 'dir');
  if (name === 'tokenFile' || (name === 'file' && spec.path[0] === 'token')) return tokenFile(builder);
  if (name === 'output' || name === 'salvage') return pathValue(builder, 'output');
  if (name === 'prefix') return random.chance(0.7) ? builder.prefix : nasty(random);
  if (/^(n|seconds|revision)$/.test(placeholder)) return random.pick(numberWords);
  if (/file/.test(placeholder)) return pathValue(builder, 'file');
  return nasty(random);
}

/** The env variable an option reads, if any. */
function envOf(option: Option): string | undefined {
  return (option as Option & { envVar?: string }).envVar;
}

export function generateCase(random: Random, target: CliFuzzTarget, index: number, specs: CommandSpec[]): CliCase {
  const prefix = `fzcli/${index}/`;
  const builder: CaseBuilder = {
    random,
    target,
    prefix,
    files: {},
    dirs: [],
    partialWritesAllowed: false,
    counter: 0,
  };
  const env: Record<string, string> = {};
  // `serve` a quarter of the time: each one that starts costs a server start.
  const spec = random.chance(0.25) ? specs.find((one) => one.path[0] === 'serve')! : random.pick(specs);
  const argv: string[] = [...spec.path];
  const isServe = spec.path[0] === 'serve';
  if (isServe) {
    // Defaults that keep a serve case cheap and contained; options below may override or break them.
    argv.push('--host', '127.0.0.1', '--port', '0', '--data', pathValue(builder, 'dir'));
    if (random.chance(0.5)) argv.push('--store', 'memory');
  }
  for (const argument of spec.command.registeredArguments) {
    if (!argument.required && random.chance(0.4)) continue;
    if (argument.required && random.chance(0.05)) continue; // missing
    const name = argument.name();
    if (name === 'key') argv.push(key(builder));
    else if (name === 'file') argv.push(random.chance(0.9) ? importFile(builder) : pathValue(builder, 'file'));
    else if (name === 'prefix') argv.push(random.chance(0.8) ? prefix : nasty(random));
    else argv.push(random.chance(0.8) ? `value-${random.below(1000)}` : nasty(random));
  }
  const chosen = spec.options.filter(() => random.chance(isServe ? 0.12 : 0.35));
  for (const option of chosen) {
    const flag = option.long ?? option.short!;
    if (option.isBoolean()) {
      argv.push(random.chance(0.9) ? flag : `${flag}=yes`);
      continue;
    }
    const value = optionValue(builder, spec, option);
    const variable = envOf(option);
    if (variable !== undefined && random.chance(0.15)) env[variable] = value;
    else if (random.chance(0.15)) argv.push(`${flag}=${value}`);
    else argv.push(flag, value);
  }
  // Client commands reach the fuzz server unless --url was drawn.
  if (spec.options.some((option) => option.long === '--url') && !argv.includes('--url') && env.KVS_URL === undefined)
    env.KVS_URL = target.url;
  switch (random.below(14)) {
    case 0:
      argv.splice(random.below(argv.length + 1), 0, random.pick(['--bogus', '-z', '--', '---x', '--url']));
      break;
    case 1:
      if (argv.length > 1) argv.pop(); // a value or an argument goes missing
      break;
    case 2:
      argv.push(random.pick(['extra', '--help', '-h', '--version']));
      break;
    case 3:
      argv.splice(0, spec.path.length, random.pick(['', 'frob', 'GET', 'help', 'token']));
      break;
    default:
      break;
  }
  const input = random.chance(0.5) ? Buffer.from(nasty(random)) : Buffer.alloc(0);
  return {
    argv,
    env,
    files: builder.files,
    dirs: builder.dirs,
    ...(builder.store === undefined ? {} : { store: builder.store }),
    input,
    prefix,
    partialWritesAllowed: builder.partialWritesAllowed,
  };
}

// ---------------------------------------------------------------------------------------------
// Running a case

export interface CaseResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** How the run ended: by itself, stopped after ready, or killed for taking too long. */
  readonly ending: 'exited' | 'stopped' | 'killed';
  readonly rssPeakBytes: number;
}

function snapshot(dir: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (relative: string) => {
    if (entries.size >= SNAPSHOT_MAX_ENTRIES) return;
    const path = join(dir, relative);
    const info = lstatSync(path);
    if (info.isDirectory()) {
      entries.set(relative, `dir ${info.mode & 0o777}`);
      for (const name of readdirSync(path).sort()) walk(relative === '' ? name : join(relative, name));
    } else if (info.isSymbolicLink()) entries.set(relative, `link ${readlinkSync(path)}`);
    else entries.set(relative, `file ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
  };
  walk('');
  return entries;
}

function differences(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [path, what] of after) if (before.get(path) !== what) changed.push(`${path || '.'}: ${what}`);
  for (const path of before.keys()) if (!after.has(path)) changed.push(`${path}: removed`);
  return changed;
}

function runCase(testCase: CliCase, cwd: string): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const isServe = testCase.argv[0] === 'serve';
    const isWatch = testCase.argv[0] === 'watch';
    const child = spawn(process.execPath, ['--max-old-space-size=256', kvsBin, ...testCase.argv], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: cwd, ...testCase.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let ending: CaseResult['ending'] = 'exited';
    let rssPeak = 0;
    const stopWith = (signal: NodeJS.Signals, how: CaseResult['ending']) => {
      // One stop signal per run: a second SIGTERM during a graceful stop is a forced stop.
      if (child.exitCode !== null || child.signalCode !== null || ending === how) return;
      ending = how;
      child.kill(signal);
      if (how !== 'killed') killTimer = setTimeout(() => stopWith('SIGKILL', 'killed'), STOP_BOUND_MS);
    };
    let killTimer: NodeJS.Timeout | undefined;
    const bound = setTimeout(() => stopWith('SIGKILL', 'killed'), isServe ? SERVE_READY_BOUND_MS : EXIT_BOUND_MS);
    const watchTimer = isWatch ? setTimeout(() => stopWith('SIGINT', 'stopped'), WATCH_RUN_MS) : undefined;
    const sampler = setInterval(() => {
      if (child.pid === undefined) return;
      rssBytes(child.pid).then(
        (rss) => (rssPeak = Math.max(rssPeak, rss)),
        () => {},
      );
    }, 100);
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < 1_000_000) stdout += chunk.toString();
      if (isServe && stdout.includes('kvs ready: ')) stopWith('SIGTERM', 'stopped');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 1_000_000) stderr += chunk.toString();
    });
    child.stdin.on('error', () => {}); // a command that never reads stdin closes it early
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(bound);
      clearTimeout(killTimer);
      clearTimeout(watchTimer);
      clearInterval(sampler);
      resolve({ exitCode, signal, stdout, stderr, ending, rssPeakBytes: rssPeak });
    });
    child.stdin.end(testCase.input);
  });
}

/** Printable form of a case, enough to replay it by hand. */
export function describeCase(testCase: CliCase): string {
  const env = Object.entries(testCase.env)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(' ');
  const files = Object.entries(testCase.files)
    .map(
      ([name, bytes]) =>
        `${JSON.stringify(name)} (${bytes.length} bytes: ${JSON.stringify(bytes.subarray(0, 80).toString('latin1'))})`,
    )
    .join(', ');
  return `${env} kvs ${testCase.argv.map((arg) => JSON.stringify(arg)).join(' ')}${files === '' ? '' : `; files: ${files}`}${testCase.store === undefined ? '' : `; store copied to ${testCase.store}`}`;
}

/** The invariants of one finished case; `written` is how many keys of its prefix the server holds. */
export function checkCase(
  testCase: CliCase,
  result: CaseResult,
  changed: readonly string[],
  written: number,
): { invariant: string; detail: string }[] {
  const broken: { invariant: string; detail: string }[] = [];
  const output = `exit ${result.exitCode ?? result.signal}; stderr: ${JSON.stringify(result.stderr.slice(0, 1500))}`;
  if (result.ending === 'killed') broken.push({ invariant: 'hang', detail: `did not end in time; ${output}` });
  if (result.signal !== null && result.ending === 'exited')
    broken.push({ invariant: 'crash', detail: `died by ${result.signal}; ${output}` });
  // Ctrl-C before `watch` has set up its handler (a slow start) ends it the default way.
  const interruptedEarly = result.ending === 'stopped' && result.signal === 'SIGINT';
  if (result.ending !== 'killed' && !interruptedEarly && ![0, 1, 2].includes(result.exitCode ?? -1))
    broken.push({ invariant: 'exit-code', detail: output });
  if (result.ending === 'stopped' && !interruptedEarly && result.exitCode !== 0)
    broken.push({ invariant: 'stop', detail: `a stopped ${testCase.argv[0]} should exit 0; ${output}` });
  if (/^\s+at |Unhandled|node:internal|\(internal\)|FATAL|heap out of memory/m.test(result.stderr))
    broken.push({ invariant: 'stack-trace', detail: output });
  const failed = result.exitCode !== 0 && result.ending === 'exited';
  if (failed) {
    const lines = result.stderr.trimEnd().split('\n');
    const coded = lines.every((line) => /^kvs: \S/.test(line) || /^imported .* before the failure below/.test(line));
    const checkResult = testCase.argv[0] === 'check' && /^result: /m.test(result.stdout);
    if (!checkResult && (result.stderr === '' || lines.length > 3 || !coded))
      broken.push({ invariant: 'error-format', detail: output });
    if (changed.length > 0)
      broken.push({ invariant: 'wrote-on-failure', detail: `${changed.slice(0, 10).join('; ')}; ${output}` });
    if (written > 0 && !testCase.partialWritesAllowed)
      broken.push({ invariant: 'wrote-on-failure', detail: `${written} keys written on the server; ${output}` });
  }
  if (result.rssPeakBytes > RSS_LIMIT_BYTES)
    broken.push({ invariant: 'rss', detail: `RSS peak ${result.rssPeakBytes} bytes; ${output}` });
  return broken;
}

async function prepare(testCase: CliCase, cwd: string, target: CliFuzzTarget): Promise<void> {
  for (const dir of testCase.dirs) mkdirSync(join(cwd, dir), { recursive: true });
  for (const [name, bytes] of Object.entries(testCase.files)) {
    mkdirSync(join(cwd, name, '..'), { recursive: true });
    writeFileSync(join(cwd, name), bytes);
  }
  if (testCase.store !== undefined && target.storeTemplate !== undefined)
    cpSync(target.storeTemplate, join(cwd, testCase.store), { recursive: true });
}

export async function fuzzCli(target: CliFuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const random = new Random(options.seed);
  const specs = await commandSpecs();
  const client = new KvsClient({ url: target.url, token: target.token });
  const root = tempDir('kvs-cli-fuzz');
  const findings: FuzzFinding[] = [];
  const deadline = Date.now() + options.durationMs;
  let casesRun = 0;
  let rssPeak = 0;
  // Cases are drawn in order from the one PRNG before they run, so concurrency does not change them.
  const cases = function* () {
    for (let index = 0; index < options.cases; index++)
      yield { index, testCase: generateCase(random, target, index, specs) };
  };
  const queue = cases();
  const worker = async () => {
    for (;;) {
      if (Date.now() > deadline || findings.length >= MAX_FINDINGS) return;
      const next = queue.next();
      if (next.done) return;
      const { index, testCase } = next.value;
      const cwd = join(root, String(index));
      mkdirSync(cwd);
      try {
        await prepare(testCase, cwd, target);
        const before = snapshot(cwd);
        const result = await runCase(testCase, cwd);
        const changed = differences(before, snapshot(cwd));
        let written = 0;
        for await (const _ of client.listAll({ prefix: testCase.prefix })) written++;
        casesRun++;
        rssPeak = Math.max(rssPeak, result.rssPeakBytes);
        for (const { invariant, detail } of checkCase(testCase, result, changed, written))
          findings.push({ invariant, detail, input: `case ${index}: ${describeCase(testCase)}` });
      } finally {
        removeDir(cwd);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    removeDir(root);
  }
  log(`cli fuzz: ${casesRun} cases, seed ${options.seed}, ${findings.length} findings`);
  return { target: 'cli', seed: options.seed, casesRun, findings, rssPeakBytes: rssPeak };
}

/** A free port on 127.0.0.1 (one the OS just handed out and that was closed again). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
