// Runs the real CLI (`node bin/kvs.js ...`) as a child process, for tests.

import { spawn } from 'node:child_process';
import { kvsBin, repoRoot } from '../helpers/server-process.js';

export interface KvsRun {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Bytes for stdin; stdin is closed empty when omitted. */
  readonly input?: Buffer | string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Run as this user and group (the test runs as root): spawn's own uid/gid. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

export function runKvs(args: readonly string[], options: RunOptions = {}): Promise<KvsRun> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, ...options.env };
    const child = spawn(process.execPath, [kvsBin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env,
      ...(options.user !== undefined && { uid: options.user.uid, gid: options.user.gid }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kvs ${args.join(' ')} did not finish in time; stderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
