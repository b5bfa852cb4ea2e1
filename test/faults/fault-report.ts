// Keeps the evidence of a failing fault-test run (docs/architecture.md, "Tests"): a directory
// under test-reports/ (gitignored) with a summary and the recorded history, whose path is
// printed and returned so the assertion message can name it.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/server-process.js';

export interface ReportFile {
  readonly name: string;
  /** Text to write, or `{ copyFrom }` to copy a file (e.g. a strace log) into the report. */
  readonly content: string | { readonly copyFrom: string };
}

export function writeFaultReport(test: string, files: readonly ReportFile[]): string {
  const stamp = new Date().toISOString().replace(/[:.]/gu, '-');
  const dir = join(repoRoot, 'test-reports', `${test}-${stamp}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  for (const file of files) {
    const target = join(dir, file.name);
    if (typeof file.content === 'string') writeFileSync(target, file.content);
    else copyFileSync(file.content.copyFrom, target);
  }
  console.log(`${test}: failing run recorded in ${dir}`);
  return dir;
}

/** One JSON document per line. */
export function ndjson(items: readonly unknown[]): string {
  return `${items.map((item) => JSON.stringify(item)).join('\n')}\n`;
}
