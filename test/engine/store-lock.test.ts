// One kvs server (or one --workers group) per lmdb data directory (src/storage/lmdb/store-lock.ts):
// the exclusive writer assigns revisions in memory, so a second server on the same directory
// must be refused; the lock is an flock the kernel releases when its holder dies, so a killed
// server's lock is gone, a stale kvs.lock file naming a live unrelated process does not block,
// and servers in separate PID namespaces (both "pid 1") still exclude each other.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeDir, startServer, tempDir, type ServerProcess } from '../helpers/server-process.js';

const started: ServerProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const server of started) await server.stop();
  for (const dir of dirs) removeDir(dir);
});

async function start(dataDir: string, args: string[] = []): Promise<ServerProcess> {
  const server = await startServer({ dataDir, args });
  started.push(server);
  return server;
}

async function put(server: ServerProcess, key: string, value: string): Promise<number> {
  const response = await fetch(`${server.url}/v1/kv/${key}`, {
    method: 'PUT',
    body: value,
    headers: { authorization: `Bearer ${server.token}` },
  });
  return response.status;
}

describe('lmdb data directory lock', () => {
  it('refuses a second server on the same directory, takes over after kill -9, releases on stop', async () => {
    const dataDir = tempDir('kvs-lock');
    dirs.push(dataDir);
    const first = await start(dataDir);
    assert.equal(await put(first, 'k', 'from-first'), 201);
    assert.ok(existsSync(join(dataDir, 'kvs.lock')));

    const pattern = new RegExp(`another kvs process \\(pid ${first.pid}\\) is using the data directory`);
    await assert.rejects(startServer({ dataDir }), pattern);
    await assert.rejects(startServer({ dataDir, args: ['--workers', '2'] }), pattern);
    assert.equal(await put(first, 'k2', 'still-served'), 201, 'the first server is unharmed');

    await first.kill9();
    const second = await start(dataDir);
    assert.equal(await (await fetch(`${second.url}/v1/kv/k`)).text(), 'from-first');
    assert.equal(await put(second, 'k', 'from-second'), 200);

    await second.stop();
    // The file stays (store-lock.ts says why); the lock itself went with the process.
    const third = await start(dataDir, ['--workers', '2']);
    assert.equal(await (await fetch(`${third.url}/v1/kv/k`)).text(), 'from-second');
    await assert.rejects(startServer({ dataDir }), /another kvs process \(pid \d+\) is using the data directory/);
  });
});

describe('lmdb data directory lock: what a pid file got wrong', () => {
  it('a stale kvs.lock naming a live unrelated process does not block start-up', async () => {
    const dataDir = tempDir('kvs-lock-stale');
    dirs.push(dataDir);
    // pid 1 (init) and this test runner are alive and are not kvs servers on this directory.
    for (const pid of [1, process.pid]) {
      writeFileSync(join(dataDir, 'kvs.lock'), `${pid}\n`);
      const server = await start(dataDir);
      assert.equal(await put(server, `k${pid}`, 'v'), 201);
      await server.stop();
    }
  });

  it('a --workers group is refused while a server runs, and kill -9 of a --workers primary releases the lock', async () => {
    const dataDir = tempDir('kvs-lock-workers');
    dirs.push(dataDir);
    const group = await start(dataDir, ['--workers', '2']);
    await assert.rejects(startServer({ dataDir }), /another kvs process \(pid \d+\) is using the data directory/);
    await assert.rejects(startServer({ dataDir, args: ['--workers', '2'] }), /another kvs process/);
    await group.kill9();
    const next = await start(dataDir);
    assert.equal(await put(next, 'after', 'kill'), 201);
  });

  const unshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
  const canUnshare = unshare.status === 0;
  if (!canUnshare && process.env.CI === 'true')
    throw new Error(`unshare --pid needs root (${unshare.stderr?.toString().trim()}); CI=true does not allow skipping`);
  it(
    'servers in separate PID namespaces sharing the directory exclude each other',
    { skip: canUnshare ? false : 'unshare --pid needs root' },
    async () => {
      const dataDir = tempDir('kvs-lock-pidns');
      dirs.push(dataDir);
      const wrapper = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
      // unshare --fork ignores SIGTERM (it leaves signals to its child), so these servers are
      // stopped with SIGKILL: unshare dies and --kill-child takes the server with it.
      const first = await startServer({ dataDir, wrapper });
      let second: ServerProcess | undefined;
      try {
        assert.equal(await put(first, 'k', 'first'), 201);
        // Inside its namespace the first server is pid 1, and so would the second one be.
        await assert.rejects(
          startServer({ dataDir, wrapper }),
          /another kvs process \(pid 1\) is using the data directory/,
        );
        assert.equal(await put(first, 'k', 'still-first'), 200, 'the first server is unharmed');
        await first.kill9();
        second = await startServer({ dataDir, wrapper });
        assert.equal(await (await fetch(`${second.url}/v1/kv/k`)).text(), 'still-first');
      } finally {
        await first.kill9();
        await second?.kill9();
      }
    },
  );
});
