// Per-key history's part of the engine conformance suite (docs/history.md): every engine writes
// one entry per key per commit that changed it, in the same transaction, newest first in pages,
// and drops the oldest past its bounds. Called by runEngineConformance.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyVersion } from '../../src/model/history.js';
import type { Operation, Txn } from '../../src/model/txn.js';
import type { Engine } from '../../src/storage/engine.js';
import { DEFAULT_HISTORY_RETENTION, type HistoryRetention } from '../../src/storage/key-history.js';
import type { EngineTestOptions, OpenedEngine, OpenEngine } from './conformance.js';

const T0 = 1_700_000_000_000;
const OPTIONS: EngineTestOptions = { logLength: 10_000, logValueMax: 64 };

function put(key: string, value = 'v', expires: number | null = null, contentType: string | null = null): Operation {
  return { type: 'put', key, value: Buffer.from(value), contentType, expires };
}

function txn(operations: Operation[], conditions: Txn['conditions'] = []): Txn {
  return { conditions, operations };
}

async function commit(engine: Engine, transaction: Txn, now = T0): Promise<number> {
  const result = await engine.commit(transaction, now);
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { revision: number }).revision;
}

/** Every entry of `key`, newest first, through pages of `limit`. */
async function allVersions(engine: Engine, key: string, limit = 1000, values = false): Promise<KeyVersion[]> {
  const versions: KeyVersion[] = [];
  let before: number | undefined;
  for (let page = 0; page < 1000; page++) {
    const answer = await engine.keyHistory!(key, { before, limit, values });
    versions.push(...answer.versions);
    if (answer.next === undefined) return versions;
    before = answer.next;
  }
  throw new Error('the history did not end within 1000 pages');
}

/**
 * Waits until lmdb has applied every acknowledged commit (its write-ahead log path applies them in
 * the background, and a commit drops only entries lmdb holds); at once on other engines and paths.
 */
async function applied(engine: Engine): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    const stats = engine.writeStats?.();
    if (stats === undefined || stats.appliedCommits >= stats.walRecords) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('lmdb did not apply the acknowledged commits within 10 s');
}

function shape(version: KeyVersion) {
  return [version.revision, version.type, version.version, version.size];
}

function retention(overrides: Partial<HistoryRetention>): HistoryRetention {
  return { ...DEFAULT_HISTORY_RETENTION, ...overrides };
}

export function describeHistoryConformance(
  open: OpenEngine,
  traits: { readonly durable: boolean; readonly pointInTime: boolean },
): void {
  async function withEngine(options: EngineTestOptions, body: (opened: OpenedEngine) => Promise<void>): Promise<void> {
    const opened = await open(options);
    try {
      await body(opened);
    } finally {
      await opened.cleanup();
    }
  }

  describe('per-key history', () => {
    it('puts, deletes and expiries are entries, newest first, with their values when asked', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const r1 = await commit(engine, txn([put('k', 'one', null, 'text/plain')]), T0);
        const r2 = await commit(engine, txn([put('k', 'two!', T0 + 1000), put('other')]), T0 + 1);
        const r3 = await commit(engine, txn([{ type: 'delete', key: 'k' }]), T0 + 2);
        const r4 = await commit(engine, txn([put('k', 'again', T0 + 10)]), T0 + 3);
        // The sweeper's expire, once the key has expired.
        const r5 = await commit(engine, txn([{ type: 'expire', key: 'k' }]), T0 + 20);
        const versions = await allVersions(engine, 'k', 1000, true);
        assert.deepEqual(versions.map(shape), [
          [r5, 'expire', 0, 0],
          [r4, 'put', 1, 5],
          [r3, 'delete', 0, 0],
          [r2, 'put', 2, 4],
          [r1, 'put', 1, 3],
        ]);
        assert.deepEqual(
          versions.map((version) => [version.time, version.contentType, version.expires, version.value?.toString()]),
          [
            [T0 + 20, null, null, undefined],
            [T0 + 3, null, T0 + 10, 'again'],
            [T0 + 2, null, null, undefined],
            [T0 + 1, null, T0 + 1000, 'two!'],
            [T0, 'text/plain', null, 'one'],
          ],
        );
        // Without values, the same entries without them.
        const bare = await allVersions(engine, 'k');
        assert.deepEqual(bare.map(shape), versions.map(shape));
        assert.ok(bare.every((version) => version.value === undefined));
        const exact = await engine.keyVersion!('k', r2);
        assert.equal(exact?.value?.toString(), 'two!');
        assert.equal(exact?.version, 2);
        assert.equal(await engine.keyVersion!('k', r2 + 100), undefined);
        assert.equal(await engine.keyVersion!('other', r1), undefined);
        assert.deepEqual((await allVersions(engine, 'other')).map(shape), [[r2, 'put', 1, 1]]);
        assert.deepEqual(await allVersions(engine, 'never'), []);
      }));

    it('one entry per key per commit (its final state); a refused commit or one that changes nothing leaves none', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const r1 = await commit(engine, txn([put('k', 'a'), put('k', 'bb'), put('j', 'x')]));
        const refused = await engine.commit(txn([put('k', 'x')], [{ key: 'k', kind: 'version', version: 7 }]), T0);
        assert.equal(refused.ok, false);
        await commit(engine, txn([{ type: 'delete', key: 'absent' }]));
        const r2 = await commit(engine, txn([put('j', 'y'), { type: 'delete', key: 'j' }]));
        assert.deepEqual((await allVersions(engine, 'k')).map(shape), [[r1, 'put', 2, 2]]);
        assert.deepEqual((await allVersions(engine, 'j')).map(shape), [
          [r2, 'delete', 0, 0],
          [r1, 'put', 1, 1],
        ]);
        assert.deepEqual(await allVersions(engine, 'absent'), []);
      }));

    it('pages newest first with a cursor', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const revisions: number[] = [];
        for (let index = 0; index < 25; index++) revisions.push(await commit(engine, txn([put('k', `v${index}`)])));
        const first = await engine.keyHistory!('k', { limit: 10, values: false });
        assert.deepEqual(
          first.versions.map((version) => version.revision),
          revisions.slice(-10).reverse(),
        );
        assert.equal(first.next, revisions[15]);
        const paged = await allVersions(engine, 'k', 7);
        assert.deepEqual(
          paged.map((version) => version.revision),
          [...revisions].reverse(),
        );
      }));

    it('keeps the last N versions per key, oldest dropped first', () =>
      withEngine({ ...OPTIONS, historyRetention: retention({ versions: 3 }) }, async ({ engine }) => {
        const revisions: number[] = [];
        for (let index = 0; index < 10; index++)
          revisions.push(await commit(engine, txn([put('k', `v${index}`), put(`other${index}`)])));
        assert.deepEqual(
          (await allVersions(engine, 'k')).map((version) => version.revision),
          revisions.slice(-3).reverse(),
        );
        assert.equal(await engine.keyVersion!('k', revisions[0]!), undefined);
        assert.equal((await allVersions(engine, 'other0')).length, 1);
      }));

    it('keeps a byte budget per key, and always the newest entry', () =>
      withEngine({ ...OPTIONS, historyRetention: retention({ keyBytes: 1000 }) }, async ({ engine }) => {
        for (let index = 0; index < 20; index++) await commit(engine, txn([put('k', 'x'.repeat(100))]));
        const kept = await allVersions(engine, 'k');
        assert.ok(kept.length >= 5 && kept.length < 10, `${kept.length} entries of 100 bytes in 1000`);
        const last = await commit(engine, txn([put('k', 'y'.repeat(5000))]));
        // Larger than the budget: the older ones go over the next commits, the newest stays.
        await commit(engine, txn([put('unrelated')]));
        const after = await allVersions(engine, 'k');
        assert.deepEqual(
          after.map((version) => version.revision),
          [last],
        );
      }));

    it('keeps a byte budget for the whole store, oldest dropped first', () =>
      withEngine({ ...OPTIONS, historyRetention: retention({ storeBytes: 2000 }) }, async ({ engine }) => {
        const keys = Array.from({ length: 40 }, (_, index) => `key${index}`);
        for (const key of keys) await commit(engine, txn([put(key, 'x'.repeat(100))]));
        const heldNow = () => Promise.all(keys.map(async (key) => (await allVersions(engine, key)).length));
        let held = await heldNow();
        // Each commit drops at most 16 entries, and only those lmdb holds: a few more commits
        // (to one key of its own) let the drops catch up.
        for (let round = 0; round < 50 && held.filter((count) => count === 1).length > 20; round++) {
          await applied(engine);
          await commit(engine, txn([put('tick', '')]));
          held = await heldNow();
        }
        const firstKept = held.indexOf(1);
        assert.ok(firstKept > 0, 'the oldest keys lost their history');
        assert.ok(
          held.slice(firstKept).every((count) => count === 1),
          `oldest first: ${held.join(',')}`,
        );
        assert.ok(held.filter((count) => count === 1).length <= 20, `at most 2000 bytes kept: ${held.join(',')}`);
      }));

    it('drops at most 16 entries per commit', () =>
      withEngine({ ...OPTIONS, historyRetention: retention({ storeBytes: 20_000 }) }, async ({ engine }) => {
        for (let index = 0; index < 100; index++) await commit(engine, txn([put(`key${index}`, 'x'.repeat(100))]));
        await applied(engine);
        // One large value puts the store far past its budget: one commit drops at most 16 entries.
        const before = await Promise.all(
          Array.from({ length: 100 }, async (_, index) => (await allVersions(engine, `key${index}`)).length),
        );
        await commit(engine, txn([put('big', 'x'.repeat(20_000))]));
        await applied(engine);
        const after = await Promise.all(
          Array.from({ length: 100 }, async (_, index) => (await allVersions(engine, `key${index}`)).length),
        );
        const dropped = before.reduce((sum, count) => sum + count, 0) - after.reduce((sum, count) => sum + count, 0);
        assert.equal(dropped, 16);
      }));

    it('lists deleted keys in key order with their last put, paged and within a prefix', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const a1 = await commit(engine, txn([put('a/1', 'one'), put('a/2', 'two!', T0 + 5), put('b', 'b'), put('c')]));
        const gone1 = await commit(engine, txn([{ type: 'delete', key: 'a/1' }]), T0 + 1);
        const gone2 = await commit(engine, txn([{ type: 'expire', key: 'a/2' }]), T0 + 10);
        const goneB = await commit(engine, txn([{ type: 'delete', key: 'b' }]), T0 + 11);
        // Deleted, then written again: not deleted any more.
        await commit(engine, txn([{ type: 'delete', key: 'c' }]), T0 + 12);
        await commit(engine, txn([put('c', 'back')]), T0 + 13);
        const all = await engine.deletedKeys!({ prefix: '', limit: 100 });
        assert.deepEqual(all, {
          keys: [
            {
              key: 'a/1',
              revision: gone1,
              time: T0 + 1,
              type: 'delete',
              lastPut: { revision: a1, version: 1, size: 3 },
            },
            {
              key: 'a/2',
              revision: gone2,
              time: T0 + 10,
              type: 'expire',
              lastPut: { revision: a1, version: 1, size: 4 },
            },
            {
              key: 'b',
              revision: goneB,
              time: T0 + 11,
              type: 'delete',
              lastPut: { revision: a1, version: 1, size: 1 },
            },
          ],
          next: undefined,
        });
        const first = await engine.deletedKeys!({ prefix: 'a/', limit: 1 });
        assert.deepEqual(
          first.keys.map((deleted) => deleted.key),
          ['a/1'],
        );
        assert.equal(first.next, 'a/1');
        const second = await engine.deletedKeys!({ prefix: 'a/', after: first.next, limit: 1 });
        assert.deepEqual(
          second.keys.map((deleted) => deleted.key),
          ['a/2'],
        );
        assert.equal(second.next, undefined);
      }));

    it('--history-versions 0 keeps no history', () =>
      withEngine({ ...OPTIONS, historyRetention: retention({ versions: 0 }) }, async ({ engine }) => {
        await commit(engine, txn([put('k', 'a')]));
        await commit(engine, txn([{ type: 'delete', key: 'k' }]));
        assert.deepEqual(await allVersions(engine, 'k'), []);
      }));

    it('outlives compaction of the change log', () =>
      withEngine({ logLength: 5, logValueMax: 64 }, async ({ engine }) => {
        const revisions: number[] = [];
        for (let index = 0; index < 30; index++) revisions.push(await commit(engine, txn([put('k', `v${index}`)])));
        assert.ok((await engine.oldestRevision()) > revisions[0]!, 'the change log was compacted');
        const versions = await allVersions(engine, 'k', 1000, true);
        assert.equal(versions.length, 30);
        assert.equal(versions.at(-1)!.value!.toString(), 'v0');
      }));

    if (!traits.pointInTime)
      it('point in time: not offered (the core answers history_unavailable)', () =>
        withEngine(OPTIONS, async ({ engine }) => {
          assert.equal(engine.historyReach, undefined);
          assert.equal(engine.keyEntryAt, undefined);
        }));
    else describePointInTime();
  });

  function describePointInTime(): void {
    it('point in time: the entry of a key at each revision, and a reach from the start', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const r1 = await commit(engine, txn([put('a', 'one')]));
        const r2 = await commit(engine, txn([put('a', 'two'), put('b', 'bee')]));
        const r3 = await commit(engine, txn([{ type: 'delete', key: 'a' }]));
        const r4 = await commit(engine, txn([put('a', 'three')]));
        const at = async (key: string, revision: number) => {
          const entry = await engine.keyEntryAt!(key, revision);
          return entry === undefined ? undefined : [entry.revision, entry.type, entry.value?.toString() ?? ''];
        };
        assert.deepEqual(await at('a', r1), [r1, 'put', 'one']);
        assert.deepEqual(await at('a', r2), [r2, 'put', 'two']);
        assert.deepEqual(await at('a', r3), [r3, 'delete', '']);
        assert.deepEqual(await at('a', r4 + 10), [r4, 'put', 'three']);
        assert.equal(await at('b', r1), undefined);
        assert.deepEqual(await at('b', r4), [r2, 'put', 'bee']);
        assert.equal(await at('never', r4), undefined);
        await applied(engine);
        assert.deepEqual(await engine.historyReach!(), { startedAt: 0, reachable: 0 });
      }));

    it('point in time: dropping entries moves the reach to the oldest entry left, and no further than the newest', () =>
      withEngine({ ...OPTIONS, historyRetention: retention({ versions: 2 }) }, async ({ engine }) => {
        const revisions: number[] = [];
        for (let index = 0; index < 4; index++) {
          revisions.push(await commit(engine, txn([put('k', `v${index}`)])));
          // One commit at a time reaches lmdb: the drops then see what they leave.
          await applied(engine);
        }
        // A commit drops only entries lmdb holds: one more commit drops what the last one left over.
        await commit(engine, txn([put('other')]));
        await applied(engine);
        const reach = await engine.historyReach!();
        assert.ok(reach !== undefined);
        assert.equal(reach.startedAt, 0);
        assert.ok(
          reach.reachable >= revisions[2]! && reach.reachable <= revisions[3]!,
          `reach ${reach.reachable} within ${revisions[2]}-${revisions[3]}`,
        );
        // From the reach on, the state of k is still known.
        assert.equal((await engine.keyEntryAt!('k', revisions[3]!))?.value?.toString(), 'v3');
      }));

    it('point in time: a transaction that creates a key, then deletes it or writes it again, leaves the reach', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const r1 = await commit(engine, txn([put('a', 'one')]));
        // The key's first entry is a delete, or a put of version 2, yet it held no value before.
        await commit(engine, txn([put('n'), { type: 'delete', key: 'n' }]));
        await commit(engine, txn([put('m', 'x'), put('m', 'y')]));
        await applied(engine);
        assert.deepEqual(await engine.historyReach!(), { startedAt: 0, reachable: 0 });
        assert.equal((await engine.keyEntryAt!('a', r1))?.value?.toString(), 'one');
      }));

    it('point in time: no reach when history is off', () =>
      withEngine({ ...OPTIONS, historyRetention: retention({ versions: 0 }) }, async ({ engine }) => {
        await commit(engine, txn([put('k')]));
        assert.equal(await engine.historyReach!(), undefined);
      }));
  }

  describe('per-key history (continued)', () => {
    if (traits.durable) {
      it('survives reopening the store', () =>
        withEngine(OPTIONS, async (opened) => {
          const r1 = await commit(opened.engine, txn([put('k', 'a')]));
          const r2 = await commit(opened.engine, txn([{ type: 'delete', key: 'k' }]));
          const live = await allVersions(opened.engine, 'k', 1000, true);
          await opened.engine.close();
          const reopened = await opened.reopen!();
          assert.deepEqual(await allVersions(reopened, 'k', 1000, true), live);
          assert.deepEqual(
            live.map((version) => version.revision),
            [r2, r1],
          );
          await reopened.close();
        }));
    }
  });
}
