// A store's one-time builds at open (the recent and folder indexes, the change log's checksum
// mark) write into the store when their flag is missing from its meta database. A store created
// with them (its kvs.store marker says "indexes: since creation") that lacks one has a damaged
// meta database: the server refuses it with store_damaged and exit code 2 and writes nothing
// (before: it built the index into the damaged pages, and LMDB could abort the process with its
// assertion mp_upper >= mp_lower), and `kvs check` reports the missing flag. A store from before
// the marker's line is built as before and gets the line. See docs/durability.md.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { open } from 'lmdb';
import { kvsBin, removeDir, startServer } from '../helpers/server-process.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeDir(dir);
});

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A stopped server's store holding three keys. */
async function filledStore(): Promise<string> {
  const server = await startServer({});
  dirs.push(server.dataDir);
  for (const key of ['a/1', 'a/2', 'b']) {
    const response = await fetch(`${server.url}/v1/kv/${key}`, {
      method: 'PUT',
      body: key,
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(response.status, 201);
  }
  await server.stop();
  return server.dataDir;
}

function removeMetaFlag(dataDir: string, flag: string): void {
  const root = open({ path: join(dataDir, 'kvs.mdb'), maxDbs: 24, compression: false });
  try {
    const meta = root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' });
    assert.notEqual(meta.get(flag), undefined, `${flag} is set in a store kvs created`);
    meta.removeSync(flag);
  } finally {
    void root.close();
  }
}

describe('the flags of the one-time builds at open', () => {
  before(async () => {
    const dataDir = await filledStore();
    assert.match(readFileSync(join(dataDir, 'kvs.store'), 'utf8'), /^indexes: since creation$/m);
  });

  for (const flag of ['foldersIndexed', 'recentIndexed', 'logChecksummedFrom']) {
    it(`a store created with them that lacks ${flag}: store_damaged, exit 2, nothing written; kvs check names it`, async () => {
      const dataDir = await filledStore();
      removeMetaFlag(dataDir, flag);
      const store = join(dataDir, 'kvs.mdb');
      const bytes = digest(store);
      const error = await startServer({ dataDir, readyTimeoutMs: 20_000 }).then(
        async (server) => {
          await server.stop();
          return undefined;
        },
        (caught: unknown) => caught as Error,
      );
      assert.ok(error !== undefined, 'the server refuses the store');
      assert.match(error.message, /kvs exited \(2\) before it was ready/, error.message);
      assert.match(error.message, new RegExp(`kvs: store_damaged: .+lacks ${flag}`), error.message);
      assert.equal(digest(store), bytes, 'the refused store is not written');
      const check = spawnSync(process.execPath, [kvsBin, 'check', '--data', dataDir], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(check.status, 1, check.stdout + check.stderr);
      assert.match(check.stdout, new RegExp(`problem: meta: ${flag} is missing`));
    });
  }

  it('a store from before the marker line: the index is built at open, and the marker gets the line', async () => {
    const dataDir = await filledStore();
    removeMetaFlag(dataDir, 'foldersIndexed');
    const marker = join(dataDir, 'kvs.store');
    writeFileSync(marker, readFileSync(marker, 'utf8').replace(/^indexes: since creation\n/m, ''));
    const tokenFileText = readFileSync(join(dataDir, 'test-tokens'), 'utf8');
    const server = await startServer({ dataDir, tokenFileText });
    try {
      const response = await fetch(`${server.url}/v1/folders?prefix=a/`, {
        headers: { authorization: `Bearer ${tokenFileText.split(' ')[0]}` },
      });
      const body = (await response.json()) as { prefixKeys?: number | string };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.prefixKeys, 2);
    } finally {
      await server.stop();
    }
    assert.match(readFileSync(marker, 'utf8'), /^indexes: since creation$/m);
    const check = spawnSync(process.execPath, [kvsBin, 'check', '--data', dataDir], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });
});
