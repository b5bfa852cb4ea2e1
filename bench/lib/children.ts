// Child processes of the benchmark: every server and load generator is started here, tracked,
// and stopped by its process-group id — on success, on error, on SIGINT/SIGTERM and at exit —
// so an interrupted run never leaves a server holding a port or a store.

import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  readonly exited: Promise<ChildExit>;
  /** Resolves with the first stdout line matching `pattern`; rejects if the child exits first or on timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** The last few kilobytes of stdout and stderr, for error messages. */
  outputTail(): string;
  hasExited(): boolean;
}

export interface StartOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const TAIL_BYTES = 8192;
const live = new Set<Child>();

export class ChildStartError extends Error {}

export function startChild(name: string, command: string, args: readonly string[], options: StartOptions = {}): Child {
  // detached: the child leads its own process group, so stopping it also stops anything it
  // spawned (kvs --workers, etcd's helpers) and a Ctrl-C in the terminal reaches only us.
  const proc = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let tail = '';
  let exitInfo: ChildExit | undefined;
  const lineListeners = new Set<(line: string) => void>();
  const exitListeners = new Set<(exit: ChildExit) => void>();
  let partial = '';
  const remember = (text: string) => {
    tail = (tail + text).slice(-TAIL_BYTES);
  };
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (text: string) => {
    remember(text);
    partial += text;
    let newline = partial.indexOf('\n');
    while (newline >= 0) {
      const line = partial.slice(0, newline).replace(/\r$/, '');
      partial = partial.slice(newline + 1);
      for (const listener of lineListeners) listener(line);
      newline = partial.indexOf('\n');
    }
  });
  proc.stderr!.on('data', remember);

  const exited = new Promise<ChildExit>((resolve) => {
    const finish = (exit: ChildExit) => {
      if (exitInfo !== undefined) return;
      exitInfo = exit;
      live.delete(child);
      for (const listener of exitListeners) listener(exit);
      resolve(exit);
    };
    proc.on('exit', (code, signal) => finish({ code, signal }));
    proc.on('error', (error: NodeJS.ErrnoException) => {
      remember(`\n[spawn error] ${error.message}\n`);
      finish({ code: error.code === 'ENOENT' ? 127 : 1, signal: null });
    });
  });

  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    process: proc,
    exited,
    hasExited: () => exitInfo !== undefined,
    outputTail: () => tail,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const cleanup = () => {
          clearTimeout(timer);
          lineListeners.delete(onLine);
          exitListeners.delete(onExit);
        };
        const onLine = (line: string) => {
          const match = line.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const onExit = (exit: ChildExit) => {
          cleanup();
          reject(
            new ChildStartError(
              `${name} exited (code ${exit.code}, signal ${exit.signal}) before printing ${pattern}.\n--- output of ${name} ---\n${tail}`,
            ),
          );
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new ChildStartError(
              `${name} did not print ${pattern} within ${timeoutMs} ms.\n--- output of ${name} ---\n${tail}`,
            ),
          );
        }, timeoutMs);
        if (exitInfo !== undefined) return onExit(exitInfo);
        lineListeners.add(onLine);
        exitListeners.add(onExit);
      });
    },
  };
  if (proc.pid !== undefined) live.add(child);
  return child;
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  if (child.pid <= 0 || child.hasExited()) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the child has exited. */
export async function stopChild(child: Child, graceMs = 5000): Promise<ChildExit> {
  if (child.hasExited()) return child.exited;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  const exit = await child.exited;
  clearTimeout(timer);
  // The leader may exit before the rest of its group (workers); make sure none linger.
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // group already empty
  }
  return exit;
}

export function liveChildren(): readonly Child[] {
  return [...live];
}

const exitCleanups: (() => void)[] = [];

/** Synchronous work to do after the children are killed when the run ends abnormally (temp files). */
export function onAbnormalExit(cleanup: () => void): void {
  exitCleanups.push(cleanup);
}

function killAllNow(): void {
  for (const child of live) signalGroup(child, 'SIGKILL');
}

function abnormalExit(code: number): never {
  killAllNow();
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // best effort while exiting
    }
  }
  process.exit(code);
}

let installed = false;

/** Kills every tracked child when this process exits for any reason. */
export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal} received, stopping ${live.size} child process(es)\n`);
      abnormalExit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: uncaught exception: ${error.stack ?? error}\n`);
    abnormalExit(1);
  });
  process.on('unhandledRejection', (error) => {
    process.stderr.write(`bench: unhandled rejection: ${error instanceof Error ? error.stack : String(error)}\n`);
    abnormalExit(1);
  });
}

/** Runs a command to completion, collecting its output (for short tools: wrk, redis-benchmark, redis-cli). */
export async function runToCompletion(
  name: string,
  command: string,
  args: readonly string[],
  timeoutMs: number,
  options: StartOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const tracked: Child = {
    name,
    pid: proc.pid ?? -1,
    process: proc,
    exited: Promise.resolve({ code: null, signal: null }),
    waitForLine: () => Promise.reject(new Error('not supported')),
    outputTail: () => '',
    hasExited: () => proc.exitCode !== null || proc.signalCode !== null,
  };
  if (proc.pid !== undefined) live.add(tracked);
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  proc.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        signalGroup(tracked, 'SIGKILL');
        reject(new Error(`${name} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
      }, timeoutMs);
      proc.on('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`${name}: cannot run ${command}: ${error.message}`));
      });
      proc.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    live.delete(tracked);
  }
}
