// A/B of kvs builds on etcd, with what each request costs: one single-member etcd, one kvs per
// build on it (`--store etcd://`, each its own prefix), and optionally etcd's JSON gateway; the
// systems take turns within each round. Besides req/s it reports, per request, the CPU time of
// the kvs process and of etcd (from /proc/PID/stat, so a shared and noisy machine distorts it
// far less than throughput) and the etcd KV and Lease calls (etcd's grpc_server_handled_total).
//
//   npx tsc -p tsconfig.json
//   node dist/bench/etcd-ab.js [--rounds 3] [--duration 5] [--gateway] [--serve-args LABEL=ARGS] LABEL=CHECKOUT ...
//
// --serve-args gives one system's `kvs serve` extra arguments (split on spaces), so one build can
// run twice with different settings, e.g. per-key history on and off:
//   node dist/bench/etcd-ab.js --serve-args "off=--history-versions 0" on=. off=.
//
// Each CHECKOUT is a built kvs (bin/kvs.js and dist/). wrk -t1 -c50, 100-byte values, GET and PUT
// over 10,000 keys preloaded through each system. Every child is stopped by its process group.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCleanupHandlers, runToCompletion, startChild, stopChild, type Child } from './lib/children.js';
import { loadAverage } from './lib/machine.js';
import { processCpuMs } from './lib/process-cpu.js';
import { freePort } from './lib/ports.js';

interface Load {
  readonly system: string;
  readonly kind: 'get' | 'put';
  readonly pid: number;
  readonly baseUrl: string;
  readonly script: string;
}

interface Figure {
  readonly rps: number;
  readonly kvsCpuUs: number;
  readonly etcdCpuUs: number;
  readonly etcdCalls: number;
}

const KEYS = 10_000;
const CONNECTIONS = 50;
const TOKEN = 'bench-token-0123456789abcdef';
const VALUE = 'v'.repeat(100);
const HEARTBEAT_MS = 200;

function parseArgs(argv: readonly string[]) {
  let rounds = 3;
  let duration = 5;
  let gateway = false;
  const builds: { label: string; checkout: string }[] = [];
  const serveArgs = new Map<string, string[]>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--serve-args') {
      const spec = argv[++index] ?? '';
      const at = spec.indexOf('=');
      if (at < 1) throw new Error(`etcd-ab: --serve-args takes LABEL=ARGS, not ${spec}`);
      serveArgs.set(
        spec.slice(0, at),
        spec
          .slice(at + 1)
          .split(' ')
          .filter(Boolean),
      );
    } else if (arg === '--rounds') rounds = Number(argv[++index]);
    else if (arg === '--duration') duration = Number(argv[++index]);
    else if (arg === '--gateway') gateway = true;
    else if (/^[\w-]+=/.test(arg)) {
      const at = arg.indexOf('=');
      builds.push({ label: arg.slice(0, at), checkout: arg.slice(at + 1) });
    } else throw new Error(`etcd-ab: unknown argument ${arg}`);
  }
  if (builds.length === 0 || !(rounds >= 1) || !(duration >= 1))
    throw new Error(
      'usage: node dist/bench/etcd-ab.js [--rounds N] [--duration S] [--gateway] [--serve-args LABEL=ARGS] LABEL=CHECKOUT ...',
    );
  return { rounds, duration, gateway, builds, serveArgs };
}

async function etcdCalls(etcdUrl: string): Promise<number> {
  const text = await (await fetch(`${etcdUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^grpc_server_handled_total\{([^}]*)\} (\S+)$/gm)) {
    if (/grpc_service="etcdserverpb\.(KV|Lease)"/.test(match[1]!)) total += Number(match[2]);
  }
  return total;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS));
  }
  throw new Error(`etcd-ab: ${what} did not come up within ${timeoutMs} ms`);
}

/** A wrk script cycling through request lines, printing requests, seconds and non-2xx answers. */
function wrkScript(
  dir: string,
  name: string,
  method: string,
  headers: Record<string, string>,
  lines: [string, string][],
): string {
  const linesFile = join(dir, `${name}.lines`);
  writeFileSync(linesFile, `${lines.map(([path, body]) => `${path}\t${body}`).join('\n')}\n`);
  const headerTable = Object.entries(headers)
    .map(([header, value]) => `["${header}"] = "${value}"`)
    .join(', ');
  const script = join(dir, `${name}.lua`);
  writeFileSync(
    script,
    `local threads = {}
function setup(thread) table.insert(threads, thread) end
local requests = {}
local count = 0
local position = 0
non2xx = 0
function init(args)
  for line in io.lines("${linesFile}") do
    local tab = line:find("\\t", 1, true)
    local body = line:sub(tab + 1)
    if body == "" then body = nil end
    count = count + 1
    requests[count] = wrk.format("${method}", line:sub(1, tab - 1), { ${headerTable} }, body)
  end
end
function request()
  position = position + 1
  if position > count then position = 1 end
  return requests[position]
end
function response(status, headers, body) if status < 200 or status > 299 then non2xx = non2xx + 1 end end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non2xx") end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %f %d\\n", summary.requests, summary.duration / 1e6, bad + errors))
end
`,
  );
  return script;
}

async function wrk(load: Load, seconds: number): Promise<{ requests: number; seconds: number }> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}`, '-s', load.script, load.baseUrl];
  const run = await runToCompletion('wrk', 'wrk', args, (seconds + 30) * 1000);
  const match = /RESULT (\d+) (\S+) (\d+)/.exec(run.stdout);
  if (run.code !== 0 || match === null) throw new Error(`etcd-ab: wrk failed: ${run.stderr || run.stdout}`);
  if (Number(match[3]) > 0) throw new Error(`etcd-ab: ${load.system} ${load.kind}: ${match[3]} errors`);
  return { requests: Number(match[1]), seconds: Number(match[2]) };
}

/** Writes every key once through `send`, 50 at a time. */
async function preload(send: (index: number) => Promise<Response>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < KEYS) {
        const answer = await send(next++);
        await answer.arrayBuffer();
        if (!answer.ok) throw new Error(`etcd-ab: preload answered ${answer.status}`);
      }
    }),
  );
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

async function main(): Promise<void> {
  const { rounds, duration, gateway, builds, serveArgs } = parseArgs(process.argv.slice(2));
  installCleanupHandlers();
  const dir = mkdtempSync(join(tmpdir(), 'kvs-etcd-ab-'));
  const children: Child[] = [];
  try {
    const clientPort = await freePort();
    let peerPort = await freePort();
    while (peerPort === clientPort) peerPort = await freePort();
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = startChild('etcd', 'etcd', [
      ...['--name', 'n1', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', etcdUrl],
      ...['--advertise-client-urls', etcdUrl, '--listen-peer-urls', peerUrl],
      ...['--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `n1=${peerUrl}`],
    ]);
    children.push(etcd);
    await waitFor('etcd', async () => (await fetch(`${etcdUrl}/health`)).ok, 30_000);
    writeFileSync(join(dir, 'tokens.txt'), `${TOKEN} admin\n`, { mode: 0o600 });

    const keys = Array.from({ length: KEYS }, (_, index) => `bench-key-${index}`);
    const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/octet-stream' };
    const loads: Load[] = [];
    for (const { label, checkout } of builds) {
      const kvs = startChild(
        label,
        process.execPath,
        [
          ...[join(checkout, 'bin', 'kvs.js'), 'serve', '--host', '127.0.0.1', '--port', '0'],
          ...['--data', join(dir, label), '--token-file', join(dir, 'tokens.txt')],
          ...['--store', `etcd://127.0.0.1:${clientPort}`, '--etcd-prefix', `${label}/`],
          ...(serveArgs.get(label) ?? []),
        ],
        { cwd: checkout },
      );
      children.push(kvs);
      const baseUrl = (await kvs.waitForLine(/kvs ready: (http:\/\/\S+)/, 60_000))[1]!;
      await preload((index) => fetch(`${baseUrl}/v1/kv/${keys[index]}`, { method: 'PUT', headers: auth, body: VALUE }));
      const get = keys.map((key): [string, string] => [`/v1/kv/${key}`, '']);
      const put = keys.map((key): [string, string] => [`/v1/kv/${key}`, VALUE]);
      loads.push({
        system: label,
        kind: 'get',
        pid: kvs.pid,
        baseUrl,
        script: wrkScript(dir, `${label}-get`, 'GET', {}, get),
      });
      loads.push({
        system: label,
        kind: 'put',
        pid: kvs.pid,
        baseUrl,
        script: wrkScript(dir, `${label}-put`, 'PUT', auth, put),
      });
    }
    if (gateway) {
      const json = { 'Content-Type': 'application/json' };
      const b64 = (text: string) => Buffer.from(text).toString('base64');
      const range = keys.map((key): [string, string] => ['/v3/kv/range', JSON.stringify({ key: b64(`gw/${key}`) })]);
      const put = keys.map((key): [string, string] => [
        '/v3/kv/put',
        JSON.stringify({ key: b64(`gw/${key}`), value: b64(VALUE) }),
      ]);
      await preload((index) => fetch(`${etcdUrl}/v3/kv/put`, { method: 'POST', body: put[index]![1] }));
      loads.push({
        system: 'gateway',
        kind: 'get',
        pid: etcd.pid,
        baseUrl: etcdUrl,
        script: wrkScript(dir, 'gw-get', 'POST', json, range),
      });
      loads.push({
        system: 'gateway',
        kind: 'put',
        pid: etcd.pid,
        baseUrl: etcdUrl,
        script: wrkScript(dir, 'gw-put', 'POST', json, put),
      });
    }

    console.log(`load average at start: ${loadAverage()}`);
    const figures = new Map<string, Figure[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const kind of ['get', 'put'] as const) {
        for (const load of loads.filter((candidate) => candidate.kind === kind)) {
          await wrk(load, 2); // warm-up
          const calls = await etcdCalls(etcdUrl);
          const kvsCpuMs = processCpuMs(load.pid);
          const etcdCpuMs = processCpuMs(etcd.pid);
          const run = await wrk(load, duration);
          const figure: Figure = {
            rps: run.requests / run.seconds,
            kvsCpuUs: load.system === 'gateway' ? 0 : ((processCpuMs(load.pid) - kvsCpuMs) * 1000) / run.requests,
            etcdCpuUs: ((processCpuMs(etcd.pid) - etcdCpuMs) * 1000) / run.requests,
            // The warm-up's last requests may still reach etcd in this window: about 50 calls.
            etcdCalls: ((await etcdCalls(etcdUrl)) - calls) / run.requests,
          };
          const key = `${load.system} ${kind}`;
          figures.set(key, [...(figures.get(key) ?? []), figure]);
          console.log(
            `round ${round} ${key.padEnd(14)} ${figure.rps.toFixed(0).padStart(6)} req/s  CPU per request: kvs ${figure.kvsCpuUs.toFixed(0)} µs, etcd ${figure.etcdCpuUs.toFixed(0)} µs  etcd calls per request ${figure.etcdCalls.toFixed(3)}  load ${loadAverage()}`,
          );
        }
      }
    }
    console.log('medians:');
    for (const [key, list] of figures) {
      const of = (pick: (figure: Figure) => number) => median(list.map(pick));
      console.log(
        `${key.padEnd(14)} ${of((f) => f.rps)
          .toFixed(0)
          .padStart(
            6,
          )} req/s  kvs ${of((f) => f.kvsCpuUs).toFixed(0)} µs  etcd ${of((f) => f.etcdCpuUs).toFixed(0)} µs  etcd calls ${of((f) => f.etcdCalls).toFixed(3)}`,
      );
    }
    if (gateway) {
      for (const { label } of builds) {
        for (const kind of ['get', 'put']) {
          const ratios = figures
            .get(`${label} ${kind}`)!
            .map((f, i) => f.rps / figures.get(`gateway ${kind}`)![i]!.rps);
          console.log(
            `${label} ${kind} / gateway, per round: ${ratios.map((r) => r.toFixed(2)).join(' ')}  median ${median(ratios).toFixed(2)}`,
          );
        }
      }
    }
  } finally {
    for (const child of children.reverse()) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
