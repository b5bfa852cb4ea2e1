// Rounds: a suite that measures every system `--rounds` times, the systems taking turns within
// each round, reports one representative round per figure and shows every round next to it.
// Shared by the HTTP suites (wrk) and the resp suite (redis-benchmark).

import { formatRate } from './report.js';

/** What a round needs for these helpers: whether it ran clean, and its throughput. */
export interface RoundFigure {
  readonly ok: boolean;
  readonly rps: number;
}

/**
 * The round to report: one with errors if any (they must show), else the median by req/s (the
 * lower of the middle two for an even count, so the figure is one a round really measured).
 */
export function medianRound<T extends RoundFigure>(rounds: readonly T[]): T {
  const failed = rounds.find((result) => !result.ok);
  if (failed !== undefined) return failed;
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Every round's req/s, in order, for a table cell: `12,345 · 12,001 · ERRORS`. */
export function eachRoundCell(rounds: readonly RoundFigure[]): string {
  return rounds.map((round) => (round.ok ? formatRate(round.rps) : 'ERRORS')).join(' · ');
}

/** How the rounds were run, for a suite's method line. */
export function roundsMethod(rounds: number): string {
  return `${rounds} round(s), the systems taking turns within each round (each started fresh), and the median round reported`;
}
