// The lmdb engine's per-key history through the write-ahead log (docs/history.md): the start-up
// replay coalesces each key's records to its final one, but writes every replayed commit's
// history entries, the same as lmdb would have applied them one by one. And retention removes
// the entries it drops from the store (readers only ever see the kept window: key-history.ts).

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Operation } from '../../src/model/txn.js';
import { open } from 'lmdb';
import { DEFAULT_HISTORY_RETENTION } from '../../src/storage/key-history.js';
import { LmdbEngine, type LmdbEngineOptions } from '../../src/storage/lmdb/lmdb-engine.js';

const T0 = 1_700_000_000_000;
const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'kvs-lmdb-history-wal-'));
  directories.push(directory);
  return directory;
}

function optionsFor(directory: string): LmdbEngineOptions {
  return {
    path: join(directory, 'kvs.mdb'),
    durability: 'strict',
    logLength: 5,
    logValueMax: 1024,
    walDirectory: join(directory, 'wal'),
  };
}

function put(key: string, value: string, expires: number | null = null): Operation {
  return { type: 'put', key, value: Buffer.from(value), contentType: null, expires };
}

describe('lmdb per-key history through the write-ahead log', () => {
  it('the replay writes every replayed commit its entries, though it coalesces the records', async () => {
    const source = freshDirectory();
    const engine = await LmdbEngine.open(optionsFor(source));
    const early = readFileSync(join(source, 'kvs.mdb'));
    // One key written 30 times, a delete, a put that expires and the sweeper's expire: the replay
    // writes one final record per key, and every entry.
    const commits: Operation[][] = [];
    for (let index = 0; index < 30; index++) commits.push([put('same', `v${index}`), put(`other${index % 3}`, 'x')]);
    commits.push([{ type: 'delete', key: 'same' }]);
    commits.push([put('same', 'short-lived', T0 + 100)]);
    commits.push([{ type: 'expire', key: 'same' }]);
    for (const [index, operations] of commits.entries()) {
      const result = await engine.commit({ conditions: [], operations }, T0 + (index < 32 ? index : 200));
      assert.ok(result.ok);
    }
    const live = await engine.keyHistory!('same', { limit: 100, values: true });
    const liveOther = await engine.keyHistory!('other1', { limit: 100, values: true });
    assert.equal(live.versions.length, 33);
    assert.deepEqual(
      live.versions.slice(0, 3).map((version) => version.type),
      ['expire', 'put', 'delete'],
    );
    const crashed = freshDirectory();
    cpSync(join(source, 'wal'), join(crashed, 'wal'), { recursive: true });
    writeFileSync(join(crashed, 'kvs.mdb'), early);
    await engine.close();

    const reopened = await LmdbEngine.open(optionsFor(crashed));
    try {
      assert.equal(await reopened.revision(), commits.length);
      assert.deepEqual(await reopened.keyHistory!('same', { limit: 100, values: true }), live);
      assert.deepEqual(await reopened.keyHistory!('other1', { limit: 100, values: true }), liveOther);
      // The store's history goes on from the replayed entries.
      const next = await reopened.commit({ conditions: [], operations: [put('same', 'after')] }, T0 + 300);
      assert.ok(next.ok);
      const after = await reopened.keyHistory!('same', { limit: 100, values: false });
      assert.equal(after.versions.length, 34);
      assert.equal(after.versions[0]!.revision, next.revision);
    } finally {
      await reopened.close();
    }
  });
});

/** What the store holds of the history: entries, order-index entries, and the key extents. */
function storedHistory(path: string): { entries: number; order: number; extents: Record<string, unknown> } {
  const root = open({ path, maxDbs: 24, readOnly: true });
  try {
    const entries = [...root.openDB({ name: 'history', encoding: 'binary' }).getKeys()].length;
    const order = [...root.openDB({ name: 'historyOrder', encoding: 'msgpack' }).getKeys()].length;
    const extents: Record<string, unknown> = {};
    for (const { key, value } of root.openDB({ name: 'historyKeys', encoding: 'msgpack' }).getRange())
      extents[String(key)] = value;
    return { entries, order, extents };
  } finally {
    root.close();
  }
}

describe('lmdb per-key history retention', () => {
  for (const wal of [true, false]) {
    it(`removes the entries past the per-key bound from the store (${wal ? 'WAL' : '--wal off'})`, async () => {
      const directory = freshDirectory();
      const { walDirectory, ...withoutWal } = optionsFor(directory);
      const options: LmdbEngineOptions = {
        ...withoutWal,
        ...(wal && { walDirectory }),
        historyRetention: { ...DEFAULT_HISTORY_RETENTION, versions: 3 },
      };
      const engine = await LmdbEngine.open(options);
      try {
        for (let index = 0; index < 10; index++) {
          const result = await engine.commit({ conditions: [], operations: [put('k', `v${index}`)] }, T0 + index);
          assert.ok(result.ok);
          // The WAL path drops only what lmdb holds: let each commit be applied before the next.
          for (let round = 0; round < 1000; round++) {
            const stats = engine.writeStats();
            if (stats === undefined || stats.appliedCommits >= stats.walRecords) break;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }
      } finally {
        await engine.close();
      }
      const stored = storedHistory(join(directory, 'kvs.mdb'));
      assert.equal(stored.entries, 3);
      assert.equal(stored.order, 3);
      assert.deepEqual(Object.keys(stored.extents), ['k']);
      const [count, , from, newest, type] = stored.extents.k as [number, number, number, number, string];
      assert.deepEqual([count, from, newest, type], [3, 8, 10, 'put']);
    });
  }
});
