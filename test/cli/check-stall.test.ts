// `kvs check` on a store that hangs LMDB (a damaged tree can corrupt the checker's heap, and the
// child then hangs instead of dying: seen in CI, where the check ran into a 60 s timeout). The
// checking child reports progress on a pipe; the parent kills it once none came for
// --stall-timeout seconds and exits 2 ("cannot open"). The hang is made here by stopping the
// child with SIGSTOP, which is what a hung child looks like to its parent.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { kvsBin, removeDir, startServer } from '../helpers/server-process.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeDir(dir);
});

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** Whether `pid` runs (a zombie, killed but not yet reaped by whoever inherited it, does not). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('kvs check --stall-timeout', () => {
  /** `kvs check --stall-timeout 2` on a healthy store, its checking child stopped with SIGSTOP. */
  async function stoppedCheck() {
    const server = await startServer({});
    dirs.push(server.dataDir);
    await server.stop();
    const check = spawn(process.execPath, [kvsBin, 'check', '--data', server.dataDir, '--stall-timeout', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    check.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    check.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      check.once('exit', (code, signal) => resolve([code, signal])),
    );
    // The child appears once the parent has booted; it is stopped long before it could finish,
    // but only once it runs the checker: stopped between fork and exec, it would block the
    // parent's spawn() itself (libuv waits for the exec), which no hung checker can do.
    let child: number | undefined;
    for (let attempt = 0; attempt < 2000 && child === undefined; attempt++) {
      const found = childrenOf(check.pid!)[0];
      if (found !== undefined && commandLine(found).includes('--in-process')) child = found;
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(child !== undefined, 'kvs check started its checking child');
    process.kill(child, 'SIGSTOP');
    const guard = setTimeout(() => check.kill('SIGKILL'), 30_000);
    const done = async () => {
      const result = await exited;
      clearTimeout(guard);
      return result;
    };
    return { check, child, done, output: () => output };
  }

  /** Whether `pid` is gone (its zombie reaped) within 5 s. */
  async function gone(pid: number): Promise<boolean> {
    for (let attempt = 0; attempt < 500 && alive(pid); attempt++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    return !alive(pid);
  }

  it('stops a checker that makes no progress: exit 2, the child killed', async () => {
    const { child, done, output } = await stoppedCheck();
    try {
      const [code] = await done();
      assert.equal(code, 2, output());
      assert.match(output(), /result: cannot open: reading the store made no progress for 2 s/);
      assert.ok(await gone(child), 'the stopped child was killed');
    } finally {
      if (alive(child)) process.kill(child, 'SIGKILL');
    }
  });

  it('a check stopped by SIGTERM takes its hung child along', async () => {
    const { check, child, done } = await stoppedCheck();
    try {
      check.kill('SIGTERM');
      const [, signal] = await done();
      assert.equal(signal, 'SIGTERM');
      assert.ok(
        await gone(child),
        `the child did not outlive the check: ${readFileSync(`/proc/${child}/status`, 'utf8').split('\n').slice(0, 3).join(' ')}`,
      );
    } finally {
      if (alive(child)) process.kill(child, 'SIGKILL');
    }
  });

  it('a healthy store checks clean with the default stall timeout', async () => {
    const server = await startServer({});
    dirs.push(server.dataDir);
    await server.stop();
    const check = spawn(process.execPath, [kvsBin, 'check', '--data', server.dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    check.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => check.once('exit', (exit) => resolve(exit)));
    assert.equal(code, 0, output);
    assert.match(output, /result: clean/);
  });
});
