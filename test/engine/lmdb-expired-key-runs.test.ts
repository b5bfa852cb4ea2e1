// Listings step over runs of expired keys an earlier listing found (src/storage/lmdb/
// expired-key-runs.ts, scan in lmdb-engine.ts): a prefix full of expired keys not yet swept costs
// the next listing one seek per run instead of up to 1,000 record reads. What must hold: a run
// found expired is not trusted at an earlier clock, a key of it written again is listed, and a
// write made while a listing reads (between its slices) is never hidden by a run that listing
// learned from its older snapshot.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/model/txn.js';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';

const T0 = 1_700_000_000_000;
const put = (key: string, expires: number | null = null): Operation => ({
  type: 'put',
  key,
  value: Buffer.from(`value of ${key}`),
  contentType: null,
  expires,
});
const GONE = Array.from({ length: 1500 }, (_, index) => `a/gone${String(index).padStart(4, '0')}`);
const LIVE = ['a/live0', 'a/live1', 'a/live2'];

async function filled(wal: boolean, turnClock?: () => number): Promise<{ engine: LmdbEngine; path: string }> {
  const path = mkdtempSync(join(tmpdir(), 'kvs-key-runs-'));
  const engine = await LmdbEngine.open({
    path,
    durability: 'relaxed',
    logLength: 100,
    logValueMax: 16,
    ...(turnClock === undefined ? {} : { turnClock }),
    ...(wal ? { walDirectory: join(path, 'wal') } : {}),
  });
  // More expired keys than one listing passes over (1,000), then live ones after them.
  for (let start = 0; start < GONE.length; start += 100)
    await engine.commit(
      { conditions: [], operations: GONE.slice(start, start + 100).map((key) => put(key, T0 + 10)) },
      T0,
    );
  await engine.commit({ conditions: [], operations: LIVE.map((key) => put(key)) }, T0);
  return { engine, path };
}

/** Every live key under a/, following resumeAfter from page to page. */
async function everyKey(engine: LmdbEngine, now: number): Promise<string[]> {
  const keys: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await engine.list({ prefix: 'a/', after, limit: 50 }, now);
    keys.push(...page.items.map((item) => item.key));
    if (page.resumeAfter === undefined) {
      if (page.items.length < 50) return keys;
      after = page.items[page.items.length - 1]!.key;
    } else {
      after = page.resumeAfter;
    }
  }
  throw new Error('the listing did not end');
}

for (const wal of [false, true]) {
  describe(`lmdb listings over runs of expired keys (${wal ? 'WAL' : 'no WAL'})`, () => {
    it('a run passed over once is stepped over next time, not at an earlier clock, and a key of it written again is listed', async () => {
      const { engine, path } = await filled(wal);
      try {
        const first = await engine.list({ prefix: 'a/', limit: 50 }, T0 + 20);
        assert.deepEqual(first.items, [], 'the first listing stops at its bound of expired keys');
        assert.equal(first.resumeAfter, 'a/gone0999');
        const second = await engine.list({ prefix: 'a/', limit: 50 }, T0 + 20);
        assert.deepEqual(
          second.items.map((item) => item.key),
          LIVE,
          'the next one steps over the run the first found and reaches the live keys',
        );
        assert.equal(second.resumeAfter, undefined);
        const before = await engine.list({ prefix: 'a/', limit: 50 }, T0);
        assert.deepEqual(
          before.items.map((item) => item.key),
          GONE.slice(0, 50),
          'at a clock before they expired, the keys are listed',
        );
        await engine.commit({ conditions: [], operations: [put('a/gone0700')] }, T0 + 20);
        assert.deepEqual(await everyKey(engine, T0 + 20), ['a/gone0700', ...LIVE]);
        assert.deepEqual(await everyKey(engine, T0 + 20), ['a/gone0700', ...LIVE], 'and again, from what was learned');
      } finally {
        await engine.close();
        rmSync(path, { recursive: true, force: true });
      }
    });

    it('a key written while a listing reads its range is listed afterwards', async () => {
      // Every look at the clock is a millisecond later: a slice ends every few entries, so the
      // listing reads its 1,000 expired keys over many turns and the write lands among them.
      let clock = 0;
      const { engine, path } = await filled(wal, () => ++clock);
      try {
        const written: string[] = [];
        for (const key of ['a/gone0500', 'a/gone0100', 'a/gone0900', 'a/gone0300']) {
          const listing = engine.list({ prefix: 'a/', limit: 50 }, T0 + 20);
          await engine.commit({ conditions: [], operations: [put(key)] }, T0 + 20);
          written.push(key);
          const page = await listing;
          assert.ok(
            page.items.every((item) => item.key !== key),
            'the listing reads its own snapshot, from before the write',
          );
          assert.deepEqual(
            await everyKey(engine, T0 + 20),
            [...[...written].sort(), ...LIVE],
            `${key}, written during a listing, is listed after it`,
          );
        }
      } finally {
        await engine.close();
        rmSync(path, { recursive: true, force: true });
      }
    });
  });
}
