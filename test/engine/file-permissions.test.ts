// Store files are private (src/storage/private-files.ts): with umask 000 the data directory kvs
// creates is still 0700 and kvs.mdb, kvs.mdb-lock, kvs.lock and kvs.store are 0600
// (the token file already was: src/core/tokens.ts); a kvs.mdb left world-readable by an older version is made 0600 at start.

import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeDir, startServer, tempDir } from '../helpers/server-process.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeDir(dir);
});

const UMASK_000 = ['sh', '-c', 'umask 000; exec "$0" "$@"'];
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('file permissions', () => {
  it('umask 000: the data directory is 0700 and every file kvs creates is 0600', async () => {
    const outer = tempDir('kvs-perms');
    dirs.push(outer);
    const dataDir = join(outer, 'created', 'data');
    // --data given again after startServer's own: the last one wins, so kvs creates this directory.
    const server = await startServer({ dataDir: outer, args: ['--data', dataDir], wrapper: UMASK_000 });
    try {
      const response = await fetch(`${server.url}/v1/kv/k`, {
        method: 'PUT',
        body: 'v',
        headers: { authorization: `Bearer ${server.token}` },
      });
      assert.equal(response.status, 201);
      assert.equal(mode(dataDir), '700');
      for (const name of ['kvs.mdb', 'kvs.mdb-lock', 'kvs.lock', 'kvs.store'])
        assert.equal(mode(join(dataDir, name)), '600', name);
    } finally {
      await server.stop();
    }
    chmodSync(join(dataDir, 'kvs.mdb'), 0o644);
    const again = await startServer({ dataDir: outer, args: ['--data', dataDir], wrapper: UMASK_000 });
    await again.stop();
    assert.equal(mode(join(dataDir, 'kvs.mdb')), '600', 'a world-readable kvs.mdb is made private at start');
  });
});
