// The lmdb engine's recent index ([modRevision, key]), which lets the index page list the most
// recently updated keys without scanning the store: it follows puts, deletes and expiry in both
// writer modes, and a store written before the index existed gets it once at open. Its entries
// carry each key's expiry, so expired keys are passed over without reading their records.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open } from 'lmdb';
import type { Operation } from '../../src/model/txn.js';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';
import { utf8KeyEncoder } from '../../src/storage/lmdb/utf8-key-encoder.js';

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

describe('lmdb recent index entries carry the expiry', () => {
  it('passes over expired keys without reading their records; entries holding the key alone are still read', async () => {
    const path = mkdtempSync(join(tmpdir(), 'kvs-recent-expiry-'));
    const options = { path, durability: 'relaxed' as const, logLength: 100, logValueMax: 16 };
    try {
      const first = new LmdbEngine(options);
      for (let index = 0; index < 5; index++)
        await first.commit({ conditions: [], operations: [put(`live${index}`)] }, T0);
      for (let index = 0; index < 20; index++)
        await first.commit({ conditions: [], operations: [put(`gone${index}`, T0 + 10)] }, T0);
      await first.close();
      // The expired keys' records are made unreadable: reading one answers record_damaged, so
      // the listing below passes only if it never reads them. live0's entry goes back to the older
      // form (the key alone), which must still be listed through its record.
      const raw = open({ path, maxDbs: 24 });
      const kv = raw.openDB({ name: 'kv', encoding: 'binary', keyEncoder: utf8KeyEncoder } as never);
      for (let index = 0; index < 20; index++) await kv.put(`gone${index}`, Buffer.from('not a record'));
      const recent = raw.openDB<unknown, [number, string]>({ name: 'recent', encoding: 'msgpack' });
      const liveEntries = [...recent.getRange({})].filter(({ key }) => key[1] === 'live0');
      assert.equal(liveEntries.length, 1);
      assert.deepEqual(liveEntries[0]!.value, ['live0', null], 'a new entry holds the key and its expiry');
      await recent.put(liveEntries[0]!.key, 'live0');
      await raw.close();
      const reopened = new LmdbEngine(options);
      try {
        const keys = (await reopened.recentlyModified(10, T0 + 10)).map((info) => info.key);
        assert.deepEqual(keys, ['live4', 'live3', 'live2', 'live1', 'live0']);
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
});

for (const exclusive of [true, false]) {
  describe(`lmdb recent index: runs of expired entries (${exclusive ? 'exclusive' : 'shared'} writer)`, () => {
    it('a run passed over once is stepped over next time, not at an earlier clock, and a key of it written again is listed', async () => {
      const path = mkdtempSync(join(tmpdir(), 'kvs-recent-runs-'));
      const options = { path, durability: 'relaxed' as const, logLength: 100, logValueMax: 16, exclusive };
      const engine = new LmdbEngine(options);
      try {
        for (let index = 0; index < 3; index++)
          await engine.commit({ conditions: [], operations: [put(`old${index}`)] }, T0);
        // More expired keys than one call passes over (1,000 beyond the page), newer than old*;
        // every other one expires earlier, the newest among them.
        const expiring = Array.from({ length: 1500 }, (_, index) => `gone${String(index).padStart(4, '0')}`);
        const expiresOf = (index: number) => (index % 2 === 1 ? T0 + 5 : T0 + 10);
        for (let start = 0; start < expiring.length; start += 100)
          await engine.commit(
            {
              conditions: [],
              operations: expiring.slice(start, start + 100).map((key, index) => put(key, expiresOf(start + index))),
            },
            T0,
          );
        await engine.commit({ conditions: [], operations: [put('hot')] }, T0);
        const keys = async (now: number) => (await engine.recentlyModified(20, now)).map((info) => info.key);
        assert.deepEqual(await keys(T0 + 10), ['hot'], 'the first call stops at its bound');
        assert.deepEqual(await keys(T0 + 10), ['hot', 'old2', 'old1', 'old0'], 'the next steps over what it saw');
        assert.deepEqual(await keys(T0 + 20), ['hot', 'old2', 'old1', 'old0']);
        assert.equal((await keys(T0)).length, 20, 'before they expired, they are listed');
        assert.deepEqual(
          await keys(T0 + 7),
          [
            'hot',
            ...expiring
              .filter((_, index) => expiresOf(index) === T0 + 10)
              .reverse()
              .slice(0, 19),
          ],
          'at an earlier clock than the run was seen at, its entries are read again',
        );
        await engine.commit({ conditions: [], operations: [put('gone0700')] }, T0 + 20);
        assert.deepEqual(await keys(T0 + 20), ['gone0700', 'hot', 'old2', 'old1', 'old0']);
      } finally {
        await engine.close();
        rmSync(path, { recursive: true, force: true });
      }
    });
  });
}
