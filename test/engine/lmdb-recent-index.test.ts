// The lmdb engine's recent index ([modRevision, key]), which lets the index page list the most
// recently updated keys without scanning the store: it follows puts, deletes and expiry in both
// writer modes, and a store written before the index existed gets it once at open.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open } from 'lmdb';
import type { Operation } from '../../src/model/txn.js';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';

const T0 = 1_700_000_000_000;
const put = (key: string, expires: number | null = null): Operation => ({
  type: 'put',
  key,
  value: Buffer.from('v'),
  contentType: null,
  expires,
});

for (const exclusive of [true, false]) {
  describe(`lmdb recent index (${exclusive ? 'exclusive' : 'shared'} writer)`, () => {
    it('a hot key that fills the change log does not hide the others, and deletes and expiry leave the index', async () => {
      const path = mkdtempSync(join(tmpdir(), 'kvs-recent-'));
      const options = { path, durability: 'relaxed' as const, logLength: 5, logValueMax: 16, exclusive };
      let engine = new LmdbEngine(options);
      try {
        for (let index = 0; index < 50; index++)
          await engine.commit({ conditions: [], operations: [put(`k${index}`)] }, T0);
        for (let round = 0; round < 20; round++) await engine.commit({ conditions: [], operations: [put('hot')] }, T0);
        await engine.commit(
          { conditions: [], operations: [{ type: 'delete', key: 'k49' }, put('short', T0 + 10)] },
          T0,
        );
        const keys = async (limit: number, now = T0) =>
          (await engine.recentlyModified(limit, now)).map((info) => info.key);
        assert.deepEqual(await keys(4), ['short', 'hot', 'k48', 'k47']);
        assert.deepEqual(await keys(3, T0 + 10), ['hot', 'k48', 'k47'], 'an expired key is passed over');
        await engine.close();
        engine = new LmdbEngine(options);
        assert.deepEqual(await keys(3, T0 + 10), ['hot', 'k48', 'k47'], 'the index survives a reopen');
        assert.equal((await engine.recentlyModified(100, T0)).length, 51);
      } finally {
        await engine.close();
        rmSync(path, { recursive: true, force: true });
      }
    });
  });
}

describe('lmdb recent index on a store made before it', () => {
  it('is built once at open, covering every key', async () => {
    const path = mkdtempSync(join(tmpdir(), 'kvs-recent-old-'));
    const options = { path, durability: 'relaxed' as const, logLength: 3, logValueMax: 16 };
    try {
      const first = new LmdbEngine(options);
      for (let index = 0; index < 30; index++)
        await first.commit({ conditions: [], operations: [put(`k${index}`)] }, T0);
      await first.close();
      // Remove the index and its flag, as a store written by an older kvs has neither.
      const raw = open({ path, maxDbs: 8 });
      const recent = raw.openDB({ name: 'recent', encoding: 'msgpack' });
      const meta = raw.openDB({ name: 'meta', encoding: 'msgpack' });
      await recent.clearAsync();
      await meta.remove('recentIndexed');
      await raw.close();
      const reopened = new LmdbEngine(options);
      try {
        const keys = (await reopened.recentlyModified(100, T0)).map((info) => info.key);
        assert.equal(keys.length, 30);
        assert.deepEqual(keys.slice(0, 3), ['k29', 'k28', 'k27']);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
});
