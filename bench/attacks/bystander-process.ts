// The well-behaved clients measured during an attack, in their own process so the attacker's
// work in the harness process cannot delay them: N closed-loop HTTP connections doing plain GETs
// of one 100-byte key, and one RESP connection sending PING every 20 ms (its slowest answer shows
// how long the server's event loop stalled). Prints `BYSTANDER-BASELINE {json}` after the
// baseline, then measures until SIGUSR2 (or --max-seconds) and prints `BYSTANDER-RESULT {json}`.
//
//   node dist/bench/attacks/bystander-process.js --http-port P --resp-port R --path /v1/kv/KEY
//        [--connections 20] [--timeout-ms 2000] [--baseline-ms 3000] [--max-seconds 600]

import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { latencyStats, type LatencyStats } from './latency-stats.js';
import { RespConnection } from './resp-wire.js';

export interface PhaseFigures {
  readonly seconds: number;
  readonly gets: LatencyStats;
  /** GETs answered with something other than 200. */
  readonly non200: number;
  readonly timeouts: number;
  readonly socketErrors: number;
  /** GETs still unanswered when the phase ended, and the oldest one's age. */
  readonly pendingAtEnd: number;
  readonly oldestPendingMs: number;
  readonly pings: LatencyStats;
  readonly pingTimeouts: number;
  readonly pingErrors: number;
  /** Age of a PING still unanswered when the phase ended (0 if none). */
  readonly pingPendingMs: number;
}

const { values } = parseArgs({
  options: {
    'http-port': { type: 'string' },
    'resp-port': { type: 'string' },
    path: { type: 'string' },
    connections: { type: 'string', default: '20' },
    'timeout-ms': { type: 'string', default: '2000' },
    'baseline-ms': { type: 'string', default: '3000' },
    'max-seconds': { type: 'string', default: '600' },
  },
});
const httpPort = Number(values['http-port']);
const respPort = Number(values['resp-port']);
const path = values.path ?? '/';
const connections = Number(values.connections);
const timeoutMs = Number(values['timeout-ms']);
const baselineMs = Number(values['baseline-ms']);
const PING_TIMEOUT_MS = 5000;
const PING_INTERVAL_MS = 20;
const WARMUP_MS = 1000;

class Phase {
  readonly started = performance.now();
  readonly gets: number[] = [];
  readonly pings: number[] = [];
  non200 = 0;
  timeouts = 0;
  socketErrors = 0;
  pingTimeouts = 0;
  pingErrors = 0;
}

let phase = new Phase();
let running = true;
const inFlight = new Set<number>();
let pingStartedAt: number | undefined;

const agent = new Agent({ keepAlive: true, maxSockets: connections });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function getOnce(): Promise<void> {
  const started = performance.now();
  inFlight.add(started);
  const counted = phase;
  return new Promise((resolve) => {
    let done = false;
    const finish = (record: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      inFlight.delete(started);
      // A request counts in the phase it started in.
      if (counted === phase) record();
      resolve();
    };
    const req = request({ host: '127.0.0.1', port: httpPort, path, agent }, (response) => {
      response.resume();
      response.on('end', () =>
        finish(() => {
          counted.gets.push(performance.now() - started);
          if (response.statusCode !== 200) counted.non200++;
        }),
      );
      response.on('error', () => finish(() => counted.socketErrors++));
    });
    const timer = setTimeout(() => {
      // A timed-out GET enters the percentiles at the timeout (a lower bound), so a server that
      // answers nobody shows as slow, not as an empty sample.
      finish(() => {
        counted.timeouts++;
        counted.gets.push(timeoutMs);
      });
      req.destroy();
    }, timeoutMs);
    req.on('error', () => finish(() => counted.socketErrors++));
    req.end();
  });
}

async function getLoop(): Promise<void> {
  while (running) {
    const before = phase.socketErrors + phase.timeouts;
    await getOnce();
    // A refused connection answers at once: do not spin.
    if (phase.socketErrors + phase.timeouts > before) await sleep(50);
  }
}

async function pingLoop(): Promise<void> {
  let connection: RespConnection | undefined;
  while (running) {
    const counted = phase;
    try {
      connection ??= await RespConnection.open(respPort, PING_TIMEOUT_MS);
      const started = performance.now();
      pingStartedAt = started;
      const reply = await connection.call(['PING'], PING_TIMEOUT_MS);
      pingStartedAt = undefined;
      if (counted === phase) {
        if (reply.kind === 'error') counted.pingErrors++;
        else counted.pings.push(performance.now() - started);
      }
    } catch (error) {
      pingStartedAt = undefined;
      if (counted === phase) {
        if (error instanceof Error && error.message.startsWith('no reply within')) counted.pingTimeouts++;
        else counted.pingErrors++;
      }
      connection?.close();
      connection = undefined;
      await sleep(50);
    }
    await sleep(PING_INTERVAL_MS);
  }
  connection?.close();
}

function figures(current: Phase): PhaseFigures {
  const now = performance.now();
  let oldest = 0;
  for (const started of inFlight) oldest = Math.max(oldest, now - started);
  return {
    seconds: (now - current.started) / 1000,
    gets: latencyStats(current.gets),
    non200: current.non200,
    timeouts: current.timeouts,
    socketErrors: current.socketErrors,
    pendingAtEnd: inFlight.size,
    oldestPendingMs: oldest,
    pings: latencyStats(current.pings),
    pingTimeouts: current.pingTimeouts,
    pingErrors: current.pingErrors,
    pingPendingMs: pingStartedAt === undefined ? 0 : now - pingStartedAt,
  };
}

function finish(): void {
  if (!running) return;
  running = false;
  process.stdout.write(`BYSTANDER-RESULT ${JSON.stringify(figures(phase))}\n`, () => process.exit(0));
}

process.on('SIGUSR2', finish);
setTimeout(finish, Number(values['max-seconds']) * 1000).unref();
// The first second warms this process up (JIT, connections) and is not counted.
setTimeout(() => {
  phase = new Phase();
  setTimeout(() => {
    const baseline = figures(phase);
    phase = new Phase();
    process.stdout.write(`BYSTANDER-BASELINE ${JSON.stringify(baseline)}\n`);
  }, baselineMs);
}, WARMUP_MS);
const loops = [
  ...Array.from({ length: connections }, getLoop),
  ...(Number.isInteger(respPort) && respPort > 0 ? [pingLoop()] : []),
];
void Promise.all(loops);
