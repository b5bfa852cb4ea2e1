// The table every HTTP suite prints: one row per system and operation.

import { errorSummary, formatMs, rateCell, type Table } from '../lib/report.js';
import { eachRoundCell, roundsMethod } from '../lib/rounds.js';
import type { HttpFigures } from '../lib/session.js';
import type { LoadResult } from '../lib/wrk.js';

function row(system: string, operation: string, result: LoadResult, rounds: readonly LoadResult[]): string[] {
  return [
    system,
    operation,
    rateCell(result),
    formatMs(result.latencyMs.p50),
    formatMs(result.latencyMs.p99),
    errorSummary(result),
    eachRoundCell(rounds),
  ];
}

/** One row per system and operation: the median round's figures, and every round's req/s. */
export function httpTable(figures: readonly (HttpFigures | { system: string; missing: string })[]): Table {
  const rows: string[][] = [];
  for (const entry of figures) {
    if ('missing' in entry) {
      rows.push(
        [entry.system, 'GET', entry.missing, '', '', '', ''],
        [entry.system, 'PUT', entry.missing, '', '', '', ''],
      );
      continue;
    }
    rows.push(
      row(entry.system, 'GET', entry.get, entry.getRounds),
      row(entry.system, 'PUT', entry.put, entry.putRounds),
    );
  }
  return {
    headers: ['system', 'operation', 'req/s (median round)', 'p50 ms', 'p99 ms', 'errors', 'req/s of each round'],
    rows,
  };
}

export function wrkMethod(
  durationSeconds: number,
  warmupSeconds: number,
  connections: number,
  keys: number,
  rounds: number,
): string {
  return (
    `Load: wrk -t1 -c${connections} --latency with a generated Lua script, 100-byte values, GET over ${keys.toLocaleString('en-US')} preloaded keys, ` +
    `PUT spread over the same keys; ${warmupSeconds} s warm-up, then ${durationSeconds} s per figure; ${roundsMethod(rounds)}; ` +
    'every answer outside 2xx and every socket error is counted, and a run with any is shown as ERRORS, not as throughput.'
  );
}

export const SHARED_CORES_NOTE =
  'the load generator (wrk, one thread) and the server under test share the same cores, so every figure includes that contention.';
