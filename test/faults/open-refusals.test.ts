// The disk refusing a write while a store is opened (docs/durability.md, "Damaged or missing
// store"): strace makes every pwrite64 of the server fail with ENOSPC from its start, and the
// server must refuse with one coded line and exit code 2 (store_unwritable), never die by a
// signal or print "a bug in kvs":
// - a new store: lmdb-js dies with SIGSEGV when the new file's meta pages cannot be written, so
//   kvs probes the disk first (src/storage/lmdb/new-store-probe.ts);
// - a store whose write-ahead log must be replayed into lmdb at open: the failed lmdb commit is
//   classified (lmdbOpenProblem); once the disk has room the same directory starts and serves
//   every acknowledged write.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { authed, removeDir, startServer, tempDir } from '../helpers/server-process.js';

const haveStrace = spawnSync('strace', ['-V']).status === 0;
if (!haveStrace && process.env.CI === 'true')
  throw new Error('strace is required for test/faults/open-refusals.test.ts; CI=true does not allow skipping');

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeDir(dir);
});

const diskFull = ['strace', '-f', '-qq', '-o', '/dev/null', '--inject=pwrite64:error=ENOSPC'];

async function refusal(dataDir: string): Promise<string> {
  const error = await startServer({ dataDir, wrapper: diskFull, readyTimeoutMs: 30_000 }).then(
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

  it('a write-ahead log to replay: store_unwritable, exit 2; later the same directory serves every write', async () => {
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
    const message = await refusal(server.dataDir);
    assert.match(message, /kvs exited \(2\) before it was ready/, message);
    assert.match(message, /kvs: store_unwritable: .+No space left on device/, message);
    assert.doesNotMatch(message, /a bug in kvs/);
    const restarted = await startServer({ dataDir: server.dataDir });
    try {
      for (const key of ['a', 'b', 'c'])
        assert.equal(await (await fetch(`${restarted.url}/v1/kv/${key}`)).text(), `value-${key}`);
    } finally {
      await restarted.stop();
    }
  });
});
