// CPU per event-loop turn of kvs's RESP listener (or, with --http, its HTTP listener) while one
// client sends one command (or GET of one path) over and over: what the stall suite's event-loop delay measures, without the machine's other load in it
// (on a shared machine a turn of 1 ms of CPU can last 100 ms of wall time). The listener runs in
// this process over an existing lmdb store (bench/startup/load-lmdb-store.ts makes one); the
// client is a child process, so its reply parsing is not counted. A setImmediate ticker reads
// the main thread's CPU time (/proc/thread-self/schedstat, nanoseconds, advanced by the kernel
// at scheduler ticks: each figure is good to a few ms) once per turn.
//   node dist/bench/stall/turn-cpu.js --build DIR --store PATH --times N -- KEYS '*7'
//   node dist/bench/stall/turn-cpu.js --build DIR --store PATH --times N --http -- '/v1/kv?values=1&limit=1000'
// With --http a path's listing is followed page after page (its `next` as `after=`, round and
// round), as `kvs export` does.
// --build: the checkout whose dist/ to measure (default: this one), so that two builds can be
// compared on the same store.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';

const TOKEN = 'turn-cpu-token-0123456789abcdef';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    build: { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..') },
    store: { type: 'string' },
    times: { type: 'string', default: '100' },
    'client-port': { type: 'string' },
    http: { type: 'boolean', default: false },
  },
});

/** The client side: sends the command `times` times, each after the previous answer (SCAN follows its cursor). */
async function runClient(port: number, command: string[], times: number): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
  await redis.call('AUTH', TOKEN);
  let cursor = '0';
  for (let index = 0; index < times; index++) {
    const args = command.map((arg) => (arg === 'CURSOR' ? cursor : arg));
    const reply = await redis.call(args[0]!, ...args.slice(1));
    if (args[0]!.toUpperCase() === 'SCAN') cursor = (reply as [string])[0];
  }
  redis.disconnect();
}

/** The HTTP client side: GETs `path` `times` times, each after the previous answer, following a listing's `next`. */
async function runHttpClient(port: number, path: string, times: number): Promise<void> {
  let next: string | null = null;
  for (let index = 0; index < times; index++) {
    const after = next === null ? '' : `&after=${encodeURIComponent(next)}`;
    const answer = await fetch(`http://127.0.0.1:${port}${path}${after}`);
    const body = await answer.text();
    if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${body.slice(0, 200)}`);
    if (path.startsWith('/v1/kv?')) next = (JSON.parse(body) as { next: string | null }).next;
  }
}

const threadCpuMs = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;

async function measure(build: string, store: string, command: string[], times: number, http: boolean): Promise<void> {
  const dist = join(build, 'dist', 'src');
  const { LmdbEngine } = await import(join(dist, 'storage', 'lmdb', 'lmdb-engine.js'));
  const { KvService } = await import(join(dist, 'core', 'service.js'));
  const { TokenStore } = await import(join(dist, 'core', 'tokens.js'));
  const { AuthFailureLimiter } = await import(join(dist, 'core', 'auth-limiter.js'));
  const { defaultLimits: limits } = await import(join(dist, 'core', 'limits.js'));
  const { startRespServer } = await import(join(dist, 'resp', 'resp-server.js'));
  const engine = new LmdbEngine({ path: store, durability: 'relaxed', logLength: 1000, logValueMax: 0 });
  const service = new KvService(engine, {
    limits,
    privateReads: false,
    tokens: new TokenStore([{ token: TOKEN, grant: { scope: 'admin', prefixes: [], label: 'admin' } }]),
    authLimiter: new AuthFailureLimiter(limits.authFailures, limits.authFailureWindowMs),
  });
  const server = http
    ? await startHttp(dist, service, limits)
    : await startRespServer({ service, host: '127.0.0.1', port: 0, limits, log: () => {} });
  const turns: number[] = [];
  let last = threadCpuMs();
  let ticking = true;
  const tick = () => {
    const now = threadCpuMs();
    turns.push(now - last);
    last = now;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const started = performance.now();
  const client = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      '--client-port',
      String(server.port),
      '--times',
      String(times),
      ...(http ? ['--http'] : []),
      '--',
      ...command,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const code = await new Promise<number | null>((done) => client.on('exit', done));
  const seconds = (performance.now() - started) / 1000;
  ticking = false;
  await server.close();
  await engine.close();
  if (code !== 0) throw new Error(`client exited with ${code}`);
  const sorted = [...turns].sort((a, b) => b - a);
  const over = (ms: number) => turns.filter((cpu) => cpu > ms).length;
  process.stdout.write(
    `${command.join(' ')} x${times} in ${seconds.toFixed(1)} s: ${turns.length} turns, ` +
      `${(turns.reduce((sum, cpu) => sum + cpu, 0) / times).toFixed(2)} ms CPU per request; ` +
      `longest turns ${sorted
        .slice(0, 5)
        .map((cpu) => cpu.toFixed(1))
        .join(', ')} ms CPU; turns over 5 ms ${over(5)}, over 10 ms ${over(10)}\n`,
  );
}

/** kvs's HTTP app over `service` (the one main.ts starts), on a free port. */
async function startHttp(
  dist: string,
  service: unknown,
  limits: unknown,
): Promise<{ port: number; close(): Promise<void> }> {
  const { startHttpServer } = await import(join(dist, 'http', 'server.js'));
  const { WatchHub } = await import(join(dist, 'core', 'watch-hub.js'));
  const { defaultConfig } = await import(join(dist, 'core', 'config.js'));
  const config = { ...defaultConfig, limits, host: '127.0.0.1', port: 0 };
  const { url, close } = await startHttpServer({ service, hub: new WatchHub(service), config });
  return { port: Number(new URL(url).port), close };
}

const times = Number(values.times);
if (values['client-port'] !== undefined) {
  const port = Number(values['client-port']);
  if (values.http) await runHttpClient(port, positionals[0]!, times);
  else await runClient(port, positionals, times);
} else {
  if (values.store === undefined || positionals.length === 0)
    throw new Error('usage: --store PATH [--build DIR] [--times N] -- COMMAND ARGS...');
  await measure(values.build, values.store, positionals, times, values.http);
}
