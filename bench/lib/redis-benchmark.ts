// RESP load with redis-benchmark (one process, 50 clients, 100-byte values). It counts requests,
// not seconds, so each figure is sized from a short probe to last about the asked duration.
// redis-benchmark 7 exits non-zero at the first error reply; such a run is reported as errors.

import { runToCompletion } from './children.js';
import { processCpuMs } from './process-cpu.js';

export type RespTest = 'get' | 'set';

export interface RespTarget {
  readonly port: number;
  /** Sent as AUTH by every client (kvs needs a token for writes). */
  readonly password?: string;
  /** The server's process, whose CPU time the measured run is charged (all its threads). */
  readonly pid?: number;
}

export interface RespResult {
  readonly test: RespTest;
  readonly pipeline: number;
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ok: boolean;
  /** The server's CPU time (user + system, all threads) per request answered, us; NaN when unknown. */
  readonly cpuMicrosPerRequest: number;
  /** Why the run is not ok (empty when ok). */
  readonly problem: string;
  readonly command: string;
}

export const RESP_CLIENTS = 50;
export const RESP_KEYSPACE = 10_000;

export async function runRedisBenchmark(
  target: RespTarget,
  test: RespTest,
  pipeline: number,
  requests: number,
): Promise<RespResult> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(target.port),
    '-c',
    String(RESP_CLIENTS),
    '-d',
    '100',
    '-r',
    String(RESP_KEYSPACE),
    '-P',
    String(pipeline),
    '-t',
    test,
    '-n',
    String(requests),
    '--csv',
  ];
  const shown = `redis-benchmark ${args.join(' ')}${target.password === undefined ? '' : ' -a TOKEN'}`;
  if (target.password !== undefined) args.push('-a', target.password);
  const cpuBefore = target.pid === undefined ? Number.NaN : processCpuMs(target.pid);
  const run = await runToCompletion(`redis-benchmark ${test} -P ${pipeline}`, 'redis-benchmark', args, 10 * 60_000);
  const cpuAfter = target.pid === undefined ? Number.NaN : processCpuMs(target.pid);
  const lines = run.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('"'));
  const header = lines[0]?.split(',').map((cell) => cell.replace(/"/g, '')) ?? [];
  const data = lines
    .find((line) => line.toUpperCase().startsWith(`"${test.toUpperCase()}"`))
    ?.split(',')
    .map((cell) => cell.replace(/"/g, ''));
  const column = (name: string) => {
    const index = header.indexOf(name);
    return index < 0 || data === undefined ? Number.NaN : Number(data[index]);
  };
  // The lines redis-benchmark prints for error replies ("WARNING: Could not fetch server CONFIG"
  // for servers without CONFIG is not one of them).
  const errorText = `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter(
      (line, index, all) =>
        /Error from server|replied with error/i.test(line) || /replied with error/i.test(all[index - 1] ?? ''),
    )
    .join(' ')
    .trim();
  let problem = '';
  if (run.code !== 0) problem = `exit ${run.code}: ${errorText || run.stderr.trim() || run.stdout.trim()}`;
  else if (errorText !== '') problem = errorText;
  else if (data === undefined) problem = `no result row in output: ${run.stdout.trim().slice(0, 300)}`;
  const rps = column('rps');
  return {
    test,
    pipeline,
    requests,
    rps,
    p50Ms: column('p50_latency_ms'),
    p99Ms: column('p99_latency_ms'),
    ok: problem === '' && Number.isFinite(rps) && rps > 0,
    cpuMicrosPerRequest: ((cpuAfter - cpuBefore) * 1000) / requests,
    problem: problem.slice(0, 500),
    command: shown,
  };
}

/**
 * Probe, warm up and measure one test at one pipeline depth: the probe sizes the warm-up and the
 * measured run so that each lasts about the asked number of seconds.
 */
export async function measureResp(
  target: RespTarget,
  test: RespTest,
  pipeline: number,
  warmupSeconds: number,
  durationSeconds: number,
): Promise<RespResult> {
  const probe = await runRedisBenchmark(target, test, pipeline, 10_000 * Math.min(pipeline, 8));
  if (!probe.ok) return probe;
  const sized = (rps: number, seconds: number) => Math.max(10_000, Math.round((rps * seconds) / 1000) * 1000);
  // The warm-up, longer than the probe, gives the steadier rate that sizes the measured run.
  let rate = probe.rps;
  if (warmupSeconds > 0) {
    const warm = await runRedisBenchmark(target, test, pipeline, sized(rate, warmupSeconds));
    if (!warm.ok) return warm;
    rate = warm.rps;
  }
  return runRedisBenchmark(target, test, pipeline, sized(rate, durationSeconds));
}

/** SET then GET one key with redis-cli: proves the server speaks RESP and keeps the value. */
export async function checkRespRoundTrip(target: RespTarget, key: string, value: string): Promise<void> {
  const base = ['-h', '127.0.0.1', '-p', String(target.port)];
  if (target.password !== undefined) base.push('-a', target.password, '--no-auth-warning');
  const set = await runToCompletion('redis-cli SET', 'redis-cli', [...base, 'SET', key, value], 15_000);
  if (set.code !== 0 || set.stdout.trim() !== 'OK')
    throw new Error(`redis-cli SET on port ${target.port}: ${set.stdout}${set.stderr}`);
  const get = await runToCompletion('redis-cli GET', 'redis-cli', [...base, 'GET', key], 15_000);
  if (get.code !== 0 || get.stdout.trim() !== value)
    throw new Error(`redis-cli GET on port ${target.port}: ${get.stdout}${get.stderr}`);
}
