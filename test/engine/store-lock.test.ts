// One kvs server (or one --workers group) per lmdb data directory (src/storage/lmdb/store-lock.ts):
// the exclusive writer assigns revisions in memory, so a second server on the same directory
// must be refused; a lock left by a killed server is taken over; a clean stop releases it.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
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
  const response = await fetch(`${server.url}/v1/kv/${key}`, { method: 'PUT', body: value, headers: { authorization: `Bearer ${server.token}` } });
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
    assert.equal(existsSync(join(dataDir, 'kvs.lock')), false, 'a clean stop removes the lock');
    const third = await start(dataDir, ['--workers', '2']);
    assert.equal(await (await fetch(`${third.url}/v1/kv/k`)).text(), 'from-second');
    await assert.rejects(startServer({ dataDir }), /another kvs process \(pid \d+\) is using the data directory/);
  });
});
