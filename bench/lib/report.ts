// Markdown for one suite, and writing it into BENCHMARKS.md: each suite owns a marked section,
// so running one suite replaces its own section and leaves the others as they were.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { LoadResult } from './wrk.js';

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** undefined: could not be judged (a figure is missing or its run had errors). */
  readonly pass: boolean | undefined;
}

export interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface SuiteReport {
  readonly suite: string;
  readonly title: string;
  /** Lines describing how the figures were made (load, sizes, warm-up). */
  readonly method: readonly string[];
  readonly tables: readonly Table[];
  readonly targets: readonly TargetCheck[];
  readonly notes: readonly string[];
}

export interface RunHeader {
  readonly command: string;
  readonly date: string;
  readonly machine: string;
  readonly software: string;
  readonly loadAverage: string;
}

export function formatRate(rps: number): string {
  return Math.round(rps).toLocaleString('en-US');
}

export function formatMs(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? 'n/a' : `${ratio.toFixed(2)}×`;
}

/** A run with errors has no throughput: its cell says so instead. */
export function rateCell(result: LoadResult | undefined): string {
  if (result === undefined) return 'not run';
  if (!result.ok) return `ERRORS (${errorSummary(result)})`;
  return formatRate(result.rps);
}

export function errorSummary(result: LoadResult): string {
  if (result.ok) return '0';
  const parts: string[] = [];
  if (result.non2xx > 0) parts.push(`${result.non2xx} non-2xx`);
  if (result.socketErrors > 0) parts.push(`${result.socketErrors} socket errors`);
  if (result.requests === 0) parts.push('no requests completed');
  return `${parts.join(', ')} of ${result.requests}`;
}

/** Ratio of two throughputs, undefined unless both runs were clean. */
export function rateRatio(numerator: LoadResult | undefined, denominator: LoadResult | undefined): number | undefined {
  if (numerator === undefined || denominator === undefined || !numerator.ok || !denominator.ok) return undefined;
  return numerator.rps / denominator.rps;
}

export function atLeast(target: string, ratio: number | undefined, minimum: number): TargetCheck {
  return { target, measured: formatRatio(ratio), pass: ratio === undefined ? undefined : ratio >= minimum };
}

/** A p99 latency target, judged only on a clean run. */
export function latencyAtMost(target: string, result: LoadResult, maximumMs: number): TargetCheck {
  return {
    target,
    measured: result.ok ? `${formatMs(result.latencyMs.p99)} ms` : 'n/a (errors)',
    pass: result.ok ? result.latencyMs.p99 <= maximumMs : undefined,
  };
}

function verdict(pass: boolean | undefined): string {
  return pass === undefined ? 'n/a' : pass ? 'pass' : 'MISS';
}

function renderTable(table: Table): string[] {
  const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${table.headers.map(escapeCell).join(' | ')} |`,
    `| ${table.headers.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
}

export function renderSuite(report: SuiteReport, header: RunHeader): string {
  const lines = [
    `## ${report.title}`,
    '',
    `- Command: \`${header.command}\``,
    `- Date: ${header.date}`,
    `- Machine: ${header.machine}`,
    `- Software: ${header.software}`,
    `- Load average when the suite started: ${header.loadAverage}`,
    ...report.method.map((line) => `- ${line}`),
    '',
  ];
  for (const table of report.tables) lines.push(...renderTable(table), '');
  if (report.targets.length > 0) {
    lines.push(
      ...renderTable({
        headers: ['target', 'measured', 'result'],
        rows: report.targets.map((t) => [t.target, t.measured, verdict(t.pass)]),
      }),
      '',
    );
  }
  for (const note of report.notes) lines.push(`Note: ${note}`, '');
  return lines.join('\n');
}

const beginMarker = (suite: string) => `<!-- bench:${suite}:begin -->`;
const endMarker = (suite: string) => `<!-- bench:${suite}:end -->`;

const FILE_HEADER = `# kvs benchmarks

Produced by \`npm run bench\` (bench/run.ts). Every figure below was measured by that script in the
run its section names, with kvs and its peers started by the same script on the same machine.
Figures that miss their target are shown as measured.
`;

/** Replaces the suite's section in `file` (or appends it), creating the file if needed. */
export function writeSuiteSection(file: string, suite: string, markdown: string): void {
  const section = `${beginMarker(suite)}\n${markdown.trimEnd()}\n${endMarker(suite)}\n`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : FILE_HEADER;
  const begin = text.indexOf(beginMarker(suite));
  const end = text.indexOf(endMarker(suite));
  if (begin >= 0 && end > begin) {
    text = text.slice(0, begin) + section + text.slice(end + endMarker(suite).length).replace(/^\n/, '');
  } else {
    text = `${text.trimEnd()}\n\n${section}`;
  }
  writeFileSync(file, text);
}
