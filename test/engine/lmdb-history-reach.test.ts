// The lmdb engine's point-in-time reach across opens (docs/history.md, "How far back: the
// reach"): a new store's history starts at 0; an open with --history-versions 0 is a gap, and the
// next open with history starts again at the store's revision, not using older entries; a key
// that held a value but has no entry since then moves the reach to the commit that writes it.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Operation } from '../../src/model/txn.js';
import { DEFAULT_HISTORY_RETENTION } from '../../src/storage/key-history.js';
import { LmdbEngine, type LmdbEngineOptions } from '../../src/storage/lmdb/lmdb-engine.js';

const T0 = 1_700_000_000_000;
const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function put(key: string, value: string): Operation {
  return { type: 'put', key, value: Buffer.from(value), contentType: null, expires: null };
}

async function commit(engine: LmdbEngine, operations: Operation[]): Promise<number> {
  const result = await engine.commit({ conditions: [], operations }, T0);
  assert.equal(result.ok, true);
  return (result as { revision: number }).revision;
}

describe('lmdb: the point-in-time reach across opens', () => {
  for (const wal of [true, false]) {
    it(`a gap without history starts the reach again after it (${wal ? 'WAL' : 'no WAL'})`, async () => {
      const directory = mkdtempSync(join(tmpdir(), 'kvs-lmdb-history-reach-'));
      directories.push(directory);
      const options = (versions: number): LmdbEngineOptions => ({
        path: join(directory, 'kvs.mdb'),
        durability: 'strict',
        logLength: 100,
        logValueMax: 1024,
        historyRetention: { ...DEFAULT_HISTORY_RETENTION, versions },
        ...(wal && { walDirectory: join(directory, 'wal') }),
      });
      let engine = await LmdbEngine.open(options(100));
      const r1 = await commit(engine, [put('k', 'one'), put('j', 'jay')]);
      assert.deepEqual(await engine.historyReach(), { startedAt: 0, reachable: 0 });
      await engine.close();

      engine = await LmdbEngine.open(options(0));
      assert.equal(await engine.historyReach(), undefined, 'no reach without history');
      const r2 = await commit(engine, [put('k', 'two')]);
      await engine.close();

      engine = await LmdbEngine.open(options(100));
      assert.deepEqual(await engine.historyReach(), { startedAt: r2, reachable: 0 });
      // k's entry from before the gap is not used: k changed during it.
      assert.equal(await engine.keyEntryAt('k', r2), undefined);
      // k held a value with no entry since the gap: its past is unknown, the reach moves here.
      const r3 = await commit(engine, [put('k', 'three')]);
      // A new key has no past to lose.
      await commit(engine, [put('fresh', 'new')]);
      await engine.close();
      engine = await LmdbEngine.open(options(100));
      assert.deepEqual(await engine.historyReach(), { startedAt: r2, reachable: r3 });
      assert.equal((await engine.keyEntryAt('k', r3))?.value?.toString(), 'three');
      assert.ok(r1 < r2);
      await engine.close();
    });
  }
});
