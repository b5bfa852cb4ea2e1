// Starts the real kvs server (bin/kvs.js serve) as a child process on free ports, for tests.
// Every started process is tracked and killed by PID when the test process exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const kvsBin = join(repoRoot, 'bin', 'kvs.js');

export interface StartOptions {
  /** Extra CLI flags after `serve` (e.g. ['--private'], ['--resp-port', '0']). */
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Reuse a data directory (restart tests); default: a fresh temp dir. */
  readonly dataDir?: string;
  /** Token file contents; default: one admin token (returned as `token`). */
  readonly tokenFileText?: string;
  /** Run the server under this wrapper command (e.g. ['strace', '-f', ...]). */
  readonly wrapper?: readonly string[];
  /** How long to wait for the ready line. */
  readonly readyTimeoutMs?: number;
}

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly respPort: number | undefined;
  readonly pid: number;
  readonly token: string;
  readonly dataDir: string;
  readonly tokenFile: string;
  readonly child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<void>;
  /** Resolves with the exit code/signal when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export function tempDir(label = 'kvs-test'): string {
  return mkdtempSync(join(tmpdir(), `${label}-`));
}

export function newToken(): string {
  return randomBytes(18).toString('base64url');
}

export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? tempDir();
  const token = newToken();
  const tokenFile = join(dataDir, 'test-tokens');
  writeFileSync(tokenFile, options.tokenFileText ?? `${token} admin\n`, { mode: 0o600 });
  const serveArgs = [
    kvsBin,
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data',
    dataDir,
    '--token-file',
    tokenFile,
    ...(options.args ?? []),
  ];
  const command = options.wrapper
    ? [...options.wrapper, process.execPath, ...serveArgs]
    : [process.execPath, ...serveArgs];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: repoRoot,
    // Strict: an unhandled rejection is an uncaught exception even if something listens for
    // it, and stop() fails the test when one happened (see crashEvidence).
    env: {
      ...process.env,
      ...options.env,
      NODE_OPTIONS:
        `${process.env.NODE_OPTIONS ?? ''} ${options.env?.NODE_OPTIONS ?? ''} --unhandled-rejections=strict`.trim(),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolveExit({ code, signal });
    });
  });
  const ready = new Promise<{ url: string; respPort: number | undefined }>((resolveReady, rejectReady) => {
    const timeout = setTimeout(
      () => rejectReady(new Error(`kvs did not become ready in time; output:\n${output}`)),
      options.readyTimeoutMs ?? 30_000,
    );
    const expectResp = (options.args ?? []).includes('--resp-port');
    let url: string | undefined;
    let respPort: number | undefined;
    const check = () => {
      url ??= /kvs ready: (\S+)/.exec(output)?.[1];
      const resp = /kvs resp ready: \S+:(\d+)/.exec(output)?.[1];
      if (resp !== undefined) respPort = Number(resp);
      if (url !== undefined && (!expectResp || respPort !== undefined)) {
        clearTimeout(timeout);
        resolveReady({ url, respPort });
      }
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      check();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timeout);
      rejectReady(new Error(`kvs exited (${signal ?? code}) before it was ready; output:\n${output}`));
    });
  });
  const { url, respPort } = await ready;
  const pid = child.pid!;
  /** The test stopped or killed it: a later exit is asked for. */
  let stopRequested = false;
  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    await exited;
  };
  return {
    url,
    port: Number(new URL(url).port),
    respPort,
    pid,
    token,
    dataDir,
    tokenFile,
    child,
    output: () => output,
    stop: async () => {
      const diedBefore = !stopRequested && (child.exitCode !== null || child.signalCode !== null);
      stopRequested = true;
      await signalAndWait('SIGTERM');
      const evidence = crashEvidence(output, diedBefore ? await exited : undefined);
      if (evidence !== undefined) throw new Error(`kvs (pid ${pid}) ${evidence}; output:\n${output}`);
    },
    kill9: () => {
      stopRequested = true;
      return signalAndWait('SIGKILL');
    },
    exited,
  };
}

/**
 * Why a server's run counts as a crash, or undefined: an uncaught exception or unhandled
 * rejection in its output (Node prints its version after one), or an exit the test did not ask for.
 */
export function crashEvidence(
  output: string,
  unaskedExit?: { code: number | null; signal: NodeJS.Signals | null },
): string | undefined {
  if (/UnhandledPromiseRejection|unhandled rejection|^Node\.js v\d+/imu.test(output))
    return 'printed an uncaught exception or unhandled rejection';
  if (unaskedExit !== undefined && (unaskedExit.code !== 0 || unaskedExit.signal !== null))
    return `exited by itself (${unaskedExit.signal ?? unaskedExit.code}) before the test stopped it`;
  return undefined;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** fetch with the token of `server` as a bearer. */
export function authed(server: { token: string }, init: RequestInit = {}): RequestInit {
  return {
    ...init,
    headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${server.token}` },
  };
}
