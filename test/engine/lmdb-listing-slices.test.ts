// The lmdb engine reads a listing page in slices with turns for other clients between them
// (scan in src/storage/lmdb/lmdb-engine.ts): the page must still be one snapshot, as if read at
// once. A transaction that changes the first and the last key of a long page while the page is
// being read shows in neither of them: the page started first. With the WAL the change is seen
// through the overlay of writes lmdb has not applied, which the page also takes as it was.
// A slice also ends by time (src/model/turn-budget.ts): with a clock that says every look is a
// millisecond later, a page shorter than one slice of entries is still read over many turns, and
// answers the same.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/model/txn.js';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';

const T0 = 1_700_000_000_000;
const KEYS = 20_000;
const put = (key: string, value: string): Operation => ({
  type: 'put',
  key,
  value: Buffer.from(value),
  contentType: null,
  expires: null,
});

for (const wal of [false, true]) {
  describe(`lmdb listing slices (${wal ? 'WAL' : 'no WAL'})`, () => {
    it('a slice ends once it has used its time, and the page is the same', async () => {
      const path = mkdtempSync(join(tmpdir(), 'kvs-slices-'));
      let clockReads = 0;
      let timed = false;
      // Each look at the clock is 1 ms after the previous one: every look ends the slice.
      const turnClock = () => (timed ? ++clockReads : 0);
      const engine = await LmdbEngine.open({
        path,
        durability: 'relaxed',
        logLength: 100,
        logValueMax: 16,
        turnClock,
        ...(wal ? { walDirectory: join(path, 'wal') } : {}),
      });
      try {
        // 200 keys, fewer than one slice's count; every third one expired.
        const keys = Array.from({ length: 200 }, (_, index) => `t/${String(index).padStart(3, '0')}`);
        await engine.commit(
          {
            conditions: [],
            operations: keys.map((key, index) => ({
              ...put(key, `value-${index}`),
              expires: index % 3 === 0 ? T0 : null,
            })),
          },
          T0 - 1000,
        );
        const untimed = await engine.listEntries({ prefix: 't/', limit: 1000 }, T0);
        assert.equal(clockReads, 0);
        timed = true;
        let turns = 0;
        let counting = true;
        const count = () => {
          turns++;
          if (counting) setImmediate(count);
        };
        setImmediate(count);
        const timedPage = await engine.listEntries({ prefix: 't/', limit: 1000 }, T0);
        counting = false;
        // 200 entries, a look at the clock every few: many slices, other turns between them.
        assert.ok(clockReads >= 10, `the clock was read ${clockReads} times`);
        assert.ok(turns >= 10, `only ${turns} turns passed while the page was read`);
        assert.deepEqual(timedPage, untimed);
        assert.deepEqual(
          untimed.items.map((item) => item.key),
          keys.filter((_, index) => index % 3 !== 0),
        );
        // A short page by time answers the same as by count, its end (resumeAfter) included.
        const short = await engine.listEntries({ prefix: 't/', after: 't/050', limit: 7 }, T0);
        const skipping = await engine.list({ prefix: 't/', limit: 1000, skipMax: 20 }, T0);
        timed = false;
        assert.deepEqual(short, await engine.listEntries({ prefix: 't/', after: 't/050', limit: 7 }, T0));
        assert.deepEqual(skipping, await engine.list({ prefix: 't/', limit: 1000, skipMax: 20 }, T0));
        assert.equal(skipping.resumeAfter, 't/057');
      } finally {
        await engine.close();
        rmSync(path, { recursive: true, force: true });
      }
    });

    it('a page read while a transaction changes its first and last keys is the store before it', async () => {
      const path = mkdtempSync(join(tmpdir(), 'kvs-slices-'));
      const engine = await LmdbEngine.open({
        path,
        durability: 'relaxed',
        logLength: 100,
        logValueMax: 16,
        ...(wal ? { walDirectory: join(path, 'wal') } : {}),
      });
      try {
        const keys = Array.from({ length: KEYS }, (_, index) => `s/${String(index).padStart(5, '0')}`);
        for (let start = 0; start < KEYS; start += 1000)
          await engine.commit(
            { conditions: [], operations: keys.slice(start, start + 1000).map((key) => put(key, 'old')) },
            T0,
          );
        // The page is read over many turns (a slice each); the commit lands while it is.
        const page = engine.listEntries({ prefix: 's/', limit: KEYS }, T0);
        const change = await engine.commit(
          {
            conditions: [],
            operations: [put(keys[0]!, 'new'), { type: 'delete', key: keys.at(-1)! }, put('s/~added', 'new')],
          },
          T0,
        );
        assert.ok(change.ok);
        const { items } = await page;
        assert.equal(items.length, KEYS);
        assert.deepEqual(
          [items[0]!.value.toString(), items.at(-1)!.key, items.at(-1)!.value.toString()],
          ['old', keys.at(-1), 'old'],
        );
        // And a page started after the change sees all of it.
        const after = await engine.listEntries({ prefix: 's/', limit: KEYS }, T0);
        assert.deepEqual(
          [after.items[0]!.value.toString(), after.items.at(-2)!.key, after.items.at(-1)!.key],
          ['new', keys.at(-2), 's/~added'],
        );
      } finally {
        await engine.close();
        rmSync(path, { recursive: true, force: true });
      }
    });
  });
}
