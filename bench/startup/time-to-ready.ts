// Times one `kvs serve` start-up on a copy of a data directory (the start-up changes the
// directory: it replays the WAL), from spawn to the ready line, and the CPU time the process
// used by then (all its threads, from /proc on Linux). Used with full-wal-store.ts:
//   node dist/bench/startup/time-to-ready.js --repo DIR --data TEMPLATE [--node-arg --cpu-prof ...]
// --repo is the checkout whose bin/kvs.js runs, so two builds can take turns on the same data.

import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { processCpuMs } from '../lib/process-cpu.js';

const { values } = parseArgs({
  options: {
    repo: { type: 'string' },
    data: { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
if (values.repo === undefined || values.data === undefined) throw new Error('--repo and --data are required');
const dir = mkdtempSync(join(tmpdir(), 'kvs-startup-'));
cpSync(values.data, dir, { recursive: true });
rmSync(join(dir, 'kvs.mdb.before-wal'), { force: true });
const tokens = join(dir, 'bench-tokens');
writeFileSync(tokens, 'bench-token admin\n', { mode: 0o600 });
const start = process.hrtime.bigint();
const child = spawn(
  process.execPath,
  [
    ...values['node-arg'],
    join(values.repo, 'bin', 'kvs.js'),
    'serve',
    '--data',
    dir,
    '--port',
    '0',
    '--token-file',
    tokens,
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let output = '';
const timeout = setTimeout(() => child.kill('SIGKILL'), 120_000);
child.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString();
  if (!output.includes('kvs ready')) return;
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const cpuMs = processCpuMs(child.pid!);
  process.stdout.write(
    `${JSON.stringify({ repo: values.repo, data: values.data, wallMs: Math.round(wallMs), cpuMs })}\n`,
  );
  clearTimeout(timeout);
  child.kill('SIGTERM');
  output = '';
});
child.stderr.on('data', (chunk: Buffer) => {
  output += chunk.toString();
});
child.on('exit', () => {
  clearTimeout(timeout);
  rmSync(dir, { recursive: true, force: true });
});
