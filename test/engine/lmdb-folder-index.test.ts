// The lmdb engine's folder-count index (src/storage/folder-index.ts): a store written before the
// index existed gets it once at open, and the write-ahead log's coalesced replay moves the
// counts exactly as the live engine did.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { open } from 'lmdb';
import type { Operation } from '../../src/model/txn.js';
import { LmdbEngine, type LmdbEngineOptions } from '../../src/storage/lmdb/lmdb-engine.js';
import { checkStore } from '../../src/storage/lmdb/store-check.js';

const T0 = 1_700_000_000_000;
const FOLDERS = ['a/', 'a/b/', 'c/', 'c/d/e/'];
const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'kvs-folder-index-'));
  directories.push(directory);
  return directory;
}

const put = (key: string): Operation => ({
  type: 'put',
  key,
  value: Buffer.from('v'),
  contentType: null,
  expires: null,
});
const del = (key: string): Operation => ({ type: 'delete', key });

async function commit(engine: LmdbEngine, operations: Operation[]): Promise<void> {
  assert.ok((await engine.commit({ conditions: [], operations }, T0)).ok);
}

/** What the folder counts must be: the stored keys, counted by listing them. */
async function countedByListing(engine: LmdbEngine): Promise<number[]> {
  const keys = (await engine.list({ prefix: '', limit: 10_000 }, 0)).items.map((item) => item.key);
  return FOLDERS.map((folder) => keys.filter((key) => key.startsWith(folder)).length);
}

describe('lmdb folder index', () => {
  it('is built once at open on a store made before it', async () => {
    const path = freshDirectory();
    const options: LmdbEngineOptions = { path, durability: 'relaxed', logLength: 100, logValueMax: 16 };
    const first = await LmdbEngine.open(options);
    for (let index = 0; index < 40; index++) await commit(first, [put(`a/${index}`), put(`a/b/${index % 7}`)]);
    await commit(first, [put('c/d/e/f'), put('c/x'), del('a/3')]);
    const live = await first.folderCounts(FOLDERS);
    await first.close();
    // Remove the index and its flag, as a store written by an older kvs has neither.
    const raw = open({ path, maxDbs: 16 });
    const folders = raw.openDB({ name: 'folders', encoding: 'msgpack' });
    const meta = raw.openDB({ name: 'meta', encoding: 'msgpack' });
    await folders.clearAsync();
    await meta.remove('foldersIndexed');
    await raw.close();
    const reopened = await LmdbEngine.open(options);
    try {
      assert.deepEqual(live, [46, 7, 2, 1]);
      assert.deepEqual(await reopened.folderCounts(FOLDERS), live);
      assert.deepEqual(await reopened.folderCounts(FOLDERS), await countedByListing(reopened));
    } finally {
      await reopened.close();
    }
  });

  it('a WAL replay moves the counts as the live engine did, and again after the same crash', async () => {
    const source = freshDirectory();
    const options = (directory: string): LmdbEngineOptions => ({
      path: join(directory, 'kvs.mdb'),
      durability: 'strict',
      logLength: 10_000,
      logValueMax: 64,
      walDirectory: join(directory, 'wal'),
    });
    const engine = await LmdbEngine.open(options(source));
    for (let index = 0; index < 10; index++) await commit(engine, [put(`a/${index}`), put(`c/d/e/${index}`)]);
    const early = readFileSync(join(source, 'kvs.mdb'));
    // After the copy: keys created, rewritten many times, deleted, created and deleted again.
    for (let index = 0; index < 30; index++) await commit(engine, [put(`a/b/${index % 4}`), put(`a/${index % 13}`)]);
    await commit(engine, [del('a/1'), del('c/d/e/2'), put('c/y')]);
    await commit(engine, [put('c/gone')]);
    await commit(engine, [del('c/gone')]);
    const live = await engine.folderCounts(FOLDERS);
    await engine.close();
    const crashed = freshDirectory();
    cpSync(join(source, 'wal'), join(crashed, 'wal'), { recursive: true });
    for (let attempt = 1; attempt <= 2; attempt++) {
      writeFileSync(join(crashed, 'kvs.mdb'), early);
      const reopened = await LmdbEngine.open(options(crashed));
      try {
        assert.deepEqual(live, [16, 4, 10, 9]);
        assert.deepEqual(await reopened.folderCounts(FOLDERS), live, `attempt ${attempt}`);
        assert.deepEqual(await reopened.folderCounts(FOLDERS), await countedByListing(reopened));
      } finally {
        await reopened.close();
      }
    }
  });

  it('kvs check reports a count that does not match the keys, and a folder with no count', async () => {
    const directory = freshDirectory();
    const options: LmdbEngineOptions = {
      path: join(directory, 'kvs.mdb'),
      durability: 'relaxed',
      logLength: 100,
      logValueMax: 16,
    };
    const engine = await LmdbEngine.open(options);
    await commit(engine, [put('a/1'), put('a/2'), put('a/b/1'), put('c/1')]);
    await engine.close();
    assert.deepEqual((await checkStore(directory)).problems, [], 'an intact index');
    const raw = open({ path: options.path, maxDbs: 16 });
    const folders = raw.openDB({ name: 'folders', encoding: 'msgpack' });
    await folders.put('a/', 7);
    await folders.remove('c/');
    await raw.close();
    assert.deepEqual((await checkStore(directory)).problems, [
      'folder index: "a/" counts 7 keys, the store holds 3',
      'folder index: "c/" has no count (the store holds 1 under it)',
    ]);
  });

  it('kvs check counts damaged records in their folders too, however many it lists', async () => {
    const directory = freshDirectory();
    const path = join(directory, 'kvs.mdb');
    const engine = await LmdbEngine.open({ path, durability: 'relaxed', logLength: 100, logValueMax: 16 });
    await commit(engine, [put('d/1'), put('d/2'), put('d/3')]);
    await engine.close();
    const raw = open({ path, maxDbs: 16 });
    const kv = raw.openDB<Buffer, string>({ name: 'kv', encoding: 'binary' });
    for (const key of ['d/1', 'd/2']) {
      const damaged = Buffer.from(kv.getBinary(key)!);
      damaged[damaged.length - 1]! ^= 0x01;
      await kv.put(key, damaged);
    }
    await raw.close();
    const report = await checkStore(directory, { listLimit: 1 });
    assert.equal(report.damaged, 2);
    assert.deepEqual(report.damagedKeys, ['d/1'], 'one damaged key listed');
    assert.deepEqual(
      report.problems.filter((problem) => problem.startsWith('folder index')),
      [],
      'both damaged records still count in d/',
    );
  });
});
