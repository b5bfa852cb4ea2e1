// What the figures were measured on: recorded in every report section.

import { execFileSync } from 'node:child_process';
import { availableParallelism, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memory: string;
  readonly node: string;
  readonly kernel: string;
}

function tryRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function tryExec(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return '';
  }
}

export function machineInfo(): MachineInfo {
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(tryRead('/proc/cpuinfo'))?.[1]?.trim() ?? 'unknown';
  const nproc = Number.parseInt(tryExec('nproc', []), 10);
  return {
    cpus: Number.isFinite(nproc) ? nproc : availableParallelism(),
    cpuModel,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    kernel: tryExec('uname', ['-sr']) || 'unknown',
  };
}

/** The 1-minute load average: shows whether something else was using the cores. */
export function loadAverage(): string {
  return tryRead('/proc/loadavg').split(' ').slice(0, 3).join(' ') || 'unknown';
}

/** Installed version of a Debian package, or 'not installed'. */
export function packageVersion(pkg: string): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Version} is dpkg-query's own format syntax
  return tryExec('dpkg-query', ['-W', '-f=${Version}', pkg]) || 'not installed';
}
