// The disk refusing a write while a store is opened (docs/durability.md, "Damaged or missing
// store"): strace makes every pwrite64 of the server fail with ENOSPC from its start, and the
// server must refuse with one coded line and exit code 2 (store_unwritable), never die by a
// signal or print "a bug in kvs":
// - a new store: lmdb-js dies with SIGSEGV when the new file's meta pages cannot be written, so
//   kvs probes the disk first (src/storage/lmdb/new-store-probe.ts);
// - a store whose write-ahead log must be replayed before the workers of `--workers 2` share lmdb
//   (the primary applies it into lmdb at open): the failed lmdb commit is classified
//   (lmdbOpenProblem); once the disk has room the same directory starts and serves every
//   acknowledged write.
// A single process replays the log into its overlay and lmdb applies it in the background
// (docs/durability.md, "The write path", step 6): there the start succeeds and every
// acknowledged write is served, new writes are refused with 507 insufficient_storage, until
// lmdb's apply fails on its meta page and kvs stops coded on LMDB's fatal state, as it does while
// running; nothing is lost.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  authed,
  crashEvidence,
  removeDir,
  type ServerProcess,
  startServer,
  tempDir,
} from '../helpers/server-process.js';

const haveStrace = spawnSync('strace', ['-V']).status === 0;
if (!haveStrace && process.env.CI === 'true')
  throw new Error('strace is required for test/faults/open-refusals.test.ts; CI=true does not allow skipping');

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeDir(dir);
});

const diskFull = ['strace', '-f', '-qq', '-o', '/dev/null', '--inject=pwrite64:error=ENOSPC'];

/** Every process under `pid`, children before their own children. */
function descendants(pid: number): number[] {
  const found: number[] = [];
  if (!existsSync(`/proc/${pid}/task`)) return found;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    for (const child of children === '' ? [] : children.split(/\s+/u).map(Number))
      found.push(child, ...descendants(child));
  }
  return found;
}

/** Waits (at most 10 s) until process `pid` has exited. */
async function gone(pid: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
  throw new Error(`process ${pid} did not exit`);
}

async function refusal(dataDir: string, args: readonly string[] = []): Promise<string> {
  const error = await startServer({ dataDir, args, wrapper: diskFull, readyTimeoutMs: 30_000 }).then(
    async (server) => {
      await server.stop();
      return undefined;
    },
    (caught: unknown) => caught as Error,
  );
  assert.ok(error !== undefined, 'the server must not start while every write fails');
  return error.message;
}

describe('the disk refusing writes while the store opens', { skip: !haveStrace && 'strace is not installed' }, () => {
  it('a new store: store_unwritable, exit 2, no empty store file left behind', async () => {
    const dataDir = tempDir('kvs-open-refusal');
    dirs.push(dataDir);
    const message = await refusal(dataDir);
    assert.match(message, /kvs exited \(2\) before it was ready/, message);
    assert.match(message, /kvs: store_unwritable: .+ENOSPC/, message);
    assert.doesNotMatch(message, /a bug in kvs/);
    assert.ok(!existsSync(join(dataDir, 'kvs.mdb')), 'no empty kvs.mdb that a later start would refuse');
  });

  /** A data directory whose lmdb lacks three acknowledged writes that its WAL holds (as after kill -9). */
  async function walToReplay(): Promise<string> {
    const server = await startServer({});
    dirs.push(server.dataDir);
    const before = join(tempDir('kvs-open-refusal-copy'), 'kvs.mdb');
    dirs.push(join(before, '..'));
    // lmdb as it was before the writes; the WAL keeps them after kill -9 (no checkpoint released it).
    copyFileSync(join(server.dataDir, 'kvs.mdb'), before);
    for (const key of ['a', 'b', 'c']) {
      const response = await fetch(
        `${server.url}/v1/kv/${key}`,
        authed(server, { method: 'PUT', body: `value-${key}` }),
      );
      assert.equal(response.status, 201);
    }
    await server.kill9();
    assert.ok(readdirSync(join(server.dataDir, 'wal')).length > 0, 'the WAL holds the writes');
    copyFileSync(before, join(server.dataDir, 'kvs.mdb'));
    return server.dataDir;
  }

  async function servesEveryWrite(dataDir: string): Promise<void> {
    const restarted = await startServer({ dataDir });
    try {
      for (const key of ['a', 'b', 'c'])
        assert.equal(await (await fetch(`${restarted.url}/v1/kv/${key}`)).text(), `value-${key}`);
    } finally {
      await restarted.stop();
    }
  }

  it('a write-ahead log to replay before --workers share lmdb: store_unwritable, exit 2; later the same directory serves every write', async () => {
    const dataDir = await walToReplay();
    const message = await refusal(dataDir, ['--workers', '2']);
    assert.match(message, /kvs exited \(2\) before it was ready/, message);
    assert.match(message, /kvs: store_unwritable: .+No space left on device/, message);
    assert.doesNotMatch(message, /a bug in kvs/);
    await servesEveryWrite(dataDir);
  });

  /**
   * What a server that started on the full disk answers: every replayed write (from the overlay)
   * and 507 for a new one; or, once lmdb's background apply has tried to write and its meta page
   * write failed, its coded stop on LMDB's fatal state (store-panic.ts), as while running. Which
   * one a request meets depends on when lmdb tries: both are designed outcomes, a crash is not.
   */
  async function answersWhileFull(server: ServerProcess): Promise<'served' | 'panic stop'> {
    try {
      for (const key of ['a', 'b', 'c'])
        assert.equal(await (await fetch(`${server.url}/v1/kv/${key}`)).text(), `value-${key}`, 'read from the overlay');
      const response = await fetch(`${server.url}/v1/kv/d`, authed(server, { method: 'PUT', body: 'value-d' }));
      const body = await response.text();
      assert.equal(response.status, 507, body);
      assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'insufficient_storage');
      return 'served';
    } catch (error) {
      await Promise.race([server.exited, sleep(10_000)]);
      const output = server.output();
      if (/kvs: store_panic: /u.test(output) && crashEvidence(output) === undefined) return 'panic stop';
      throw new Error(`${(error as Error).message}; server output:\n${output}`, { cause: error });
    }
  }

  it("a write-ahead log to replay in one process: it starts, then serves the replayed writes and refuses new ones (507) or stops coded on LMDB's fatal state; later every write is there", async () => {
    const dataDir = await walToReplay();
    const server = await startServer({ dataDir, wrapper: diskFull, readyTimeoutMs: 30_000 });
    let outcome: 'served' | 'panic stop';
    try {
      outcome = await answersWhileFull(server);
    } finally {
      // SIGKILL to strace would leave kvs running untraced: kvs (and its lock helper) go first.
      const processes = descendants(server.pid);
      for (const pid of processes) process.kill(pid, 'SIGKILL');
      await server.kill9();
      for (const pid of processes) await gone(pid);
    }
    assert.ok(outcome === 'served' || outcome === 'panic stop');
    await servesEveryWrite(dataDir);
  });
});
