// Per-key history on etcd with two engines on one namespace, as two kvs servers sharing one etcd
// (docs/history.md, "Several servers on one etcd"): commits from both race on one key and on
// keys of their own while the bounds drop entries on both sides, and afterwards every key's
// history is exactly its newest commits, and the store's byte counters add up to exactly the
// bytes the history keys hold (no drop counted twice, no update lost). The change feed receives
// none of the history keys.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { Etcd3, type IEvent, type IWatchResponse, type WatchClient } from 'etcd3';
import type { ChangeEvent } from '../../src/model/events.js';
import type { Operation } from '../../src/model/txn.js';
import type { Engine } from '../../src/storage/engine.js';
import { openEtcdEngine } from '../../src/storage/etcd/etcd-engine.js';
import { KeySpace, rangeEndOfPrefix } from '../../src/storage/etcd/key-space.js';
import { ChangeFeed } from '../../src/storage/etcd/watch-streams.js';
import { DEFAULT_HISTORY_RETENTION, HISTORY_BYTES_MIN } from '../../src/storage/key-history.js';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';

const put = (key: string, value: string): Operation => ({
  type: 'put',
  key,
  value: Buffer.from(value),
  contentType: null,
  expires: null,
});

const RETENTION = { ...DEFAULT_HISTORY_RETENTION, versions: 5, storeBytes: HISTORY_BYTES_MIN };
const ROUNDS = 40;

/** Every etcd key under `start` (a prefix), with its value. */
async function rangeOf(client: Etcd3, start: Buffer): Promise<{ key: Buffer; value: Buffer }[]> {
  const response = await client.kv.range({ key: start, range_end: rangeEndOfPrefix(start) });
  return response.kvs.map((kv) => ({ key: kv.key, value: kv.value }));
}

/** The store's history bytes as its counters say, and as its entry and order keys hold them. */
async function historyBytes(client: Etcd3, prefix: string): Promise<{ counted: number; held: number }> {
  const space = new KeySpace(prefix);
  const bookkeeping = (name: string) => Buffer.concat([Buffer.from(prefix), Buffer.from([0xff]), Buffer.from(name)]);
  const counters = await rangeOf(client, space.historyBytesRange().start);
  const orders = await rangeOf(client, space.historyOrderRange().start);
  const entries = await rangeOf(client, bookkeeping('history/'));
  return {
    // A counter's value is its bytes, then (when set) a space and the reach it records.
    counted: counters.reduce((sum, kv) => sum + Number(kv.value.toString().split(' ')[0]), 0),
    held: orders.reduce((sum, kv) => sum + kv.value.length, 0) + entries.reduce((sum, kv) => sum + kv.value.length, 0),
  };
}

if (etcdInstalled()) {
  describe('etcd per-key history with two servers on one etcd', () => {
    let cluster: EtcdCluster;
    let client: Etcd3;
    const engines: Engine[] = [];
    const prefix = `history-${randomBytes(4).toString('hex')}/`;

    const open = async () => {
      const engine = await openEtcdEngine(
        { kind: 'etcd', endpoints: [...cluster.endpoints], prefix },
        { logValueMax: 1024, historyRetention: RETENTION, log: () => undefined },
      );
      engines.push(engine);
      return engine;
    };

    before(async () => {
      cluster = await startEtcdCluster({ size: 1 });
      client = new Etcd3({ hosts: [...cluster.endpoints] });
    });

    after(async () => {
      for (const engine of engines) await engine.close();
      client?.close();
      await cluster?.stop();
    });

    it('racing commits leave each key its newest entries in revision order, and the byte count exact', async () => {
      const [a, b] = [await open(), await open()];
      const hot: { revision: number; value: string }[] = [];
      const value = (who: string, round: number) => `${who}${round}:${'x'.repeat(1000)}`;
      for (let round = 0; round < ROUNDS; round++) {
        const results = await Promise.all(
          (
            [
              [a, 'a'],
              [b, 'b'],
            ] as const
          ).map(async ([engine, who]) => {
            const result = await engine.commit(
              {
                conditions: [],
                operations: [put('hot', value(who, round)), put(`${who}/${round}`, value(who, round))],
              },
              Date.now(),
            );
            assert.equal(result.ok, true);
            return { revision: (result as { revision: number }).revision, value: value(who, round) };
          }),
        );
        hot.push(...results);
      }
      hot.sort((x, y) => y.revision - x.revision);
      // Commits on keys of their own: nothing but the history's byte counters can make them race.
      for (let round = 0; round < ROUNDS; round++)
        await Promise.all(
          [a, b].map((engine, index) =>
            engine.commit({ conditions: [], operations: [put(`own/${index}/${round}`, 'x'.repeat(100))] }, Date.now()),
          ),
        );

      // Both servers read the same history of the hot key: its 5 newest commits, newest first.
      for (const engine of [a, b]) {
        const page = await engine.keyHistory!('hot', { limit: 100, values: true });
        assert.deepEqual(
          page.versions.map((version) => [version.revision, version.value?.toString()]),
          hot.slice(0, RETENTION.versions).map((commit) => [commit.revision, commit.value]),
        );
        // Versions count every put of the key, from both servers.
        assert.deepEqual(
          page.versions.map((version) => version.version),
          [0, 1, 2, 3, 4].map((back) => 2 * ROUNDS - back),
        );
      }

      const raced = await historyBytes(client, prefix);
      assert.equal(raced.counted, raced.held, 'the byte counters add up to what the history keys hold');
      // 80 keys of their own with 1 KB entries are past 64 KiB: the oldest go. Each server learns
      // of the other's bytes when it next reads every counter (at most once a second), so the
      // bound may lag while they race; a few more commits of each bring it back.
      let { counted, held } = raced;
      for (let round = 0; round < 50 && held > RETENTION.storeBytes; round++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        for (const engine of [a, b]) await engine.commit({ conditions: [], operations: [put('tick', '')] }, Date.now());
        ({ counted, held } = await historyBytes(client, prefix));
      }
      assert.equal(counted, held, 'the byte counters add up to what the history keys hold');
      assert.ok(held <= RETENTION.storeBytes, `history holds ${held} bytes`);
      assert.deepEqual((await a.keyHistory!('a/0', { limit: 10, values: false })).versions, []);
      assert.equal((await a.keyHistory!(`b/${ROUNDS - 1}`, { limit: 10, values: false })).versions.length, 1);

      // A restarted server reads the same history from etcd.
      const live = await a.keyHistory!('hot', { limit: 100, values: true });
      await a.close();
      await b.close();
      const reopened = await open();
      assert.deepEqual(await reopened.keyHistory!('hot', { limit: 100, values: true }), live);
    });

    it('deleted keys come in key order, keys holding U+0000 and keys that start others included', async () => {
      const engine = await open();
      // In byte order: 'p/a' < 'p/a\0' < 'p/a\0b' < 'p/a/b' < 'p/ab'.
      const keys = ['p/ab', 'p/a/b', 'p/a\u0000b', 'p/a\u0000', 'p/a'];
      for (const key of keys) await engine.commit({ conditions: [], operations: [put(key, key)] }, Date.now());
      for (const key of keys)
        await engine.commit({ conditions: [], operations: [{ type: 'delete', key }] }, Date.now());
      await engine.commit({ conditions: [], operations: [put('p/a', 'again')] }, Date.now());
      const deleted = ['p/a\u0000', 'p/a\u0000b', 'p/a/b', 'p/ab'];
      assert.deepEqual(
        (await engine.deletedKeys!({ prefix: 'p/', limit: 100 })).keys.map((entry) => entry.key),
        deleted,
      );
      const paged: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const answer = await engine.deletedKeys!({ prefix: 'p/a', after, limit: 1 });
        paged.push(...answer.keys.map((entry) => entry.key));
        if (answer.next === undefined) break;
        after = answer.next;
      }
      assert.deepEqual(paged, deleted);
      // Each key's history is its own, however its name starts another's.
      for (const key of keys) {
        const versions = (await engine.keyHistory!(key, { limit: 10, values: true })).versions;
        const puts = versions.filter((version) => version.type === 'put').map((version) => version.value?.toString());
        assert.deepEqual(puts, key === 'p/a' ? ['again', key] : [key]);
      }
      const [last] = (await engine.deletedKeys!({ prefix: 'p/ab', limit: 1 })).keys;
      assert.equal(last?.type, 'delete');
      assert.equal(last?.lastPut?.size, Buffer.byteLength('p/ab'));
      assert.equal(last?.lastPut?.version, 1);
    });

    it('the change feed receives the kvs keys and commit records, never the history keys', async () => {
      const feedPrefix = `feed-${randomBytes(4).toString('hex')}/`;
      const space = new KeySpace(feedPrefix);
      const engine = await openEtcdEngine(
        { kind: 'etcd', endpoints: [...cluster.endpoints], prefix: feedPrefix },
        { logValueMax: 1024, historyRetention: RETENTION, log: () => undefined },
      );
      engines.push(engine);
      // The feed as the engine runs it, on a watch client that also keeps every raw etcd event.
      const raw: IEvent[] = [];
      const watch = {
        watch: async () => {
          const stream = await client.watchClient.watch();
          stream.on('data', (response: IWatchResponse) => raw.push(...response.events));
          return stream;
        },
      } as unknown as WatchClient;
      const from = Number((await client.kv.range({ key: space.commitKey })).header.revision);
      const feed = new ChangeFeed({ watch, space, logValueMax: 1024, knownRevision: () => from, log: () => undefined });
      const changes: ChangeEvent[] = [];
      const unsubscribe = feed.subscribe((events) => changes.push(...events));
      const commits = 20;
      try {
        for (let index = 0; index < commits; index++)
          await engine.commit({ conditions: [], operations: [put(`k${index % 4}`, 'v'.repeat(2000))] }, Date.now());
        const deadline = Date.now() + 30_000;
        while (changes.length < commits && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(changes.length, commits);
      } finally {
        unsubscribe();
        feed.close();
      }
      const history = Buffer.concat([Buffer.from(feedPrefix), Buffer.from([0xff]), Buffer.from('history')]);
      // The commits wrote history keys (with copies of the values)...
      assert.ok((await rangeOf(client, history)).length > 0);
      // ...and the feed received each commit's key, commit record and audit entry, nothing else.
      const audit = Buffer.concat([Buffer.from(feedPrefix), Buffer.from([0xff]), Buffer.from('audit/')]);
      const kinds = raw.map((event) =>
        space.keyOf(event.kv.key) !== undefined
          ? 'key'
          : space.isCommitKey(event.kv.key)
            ? 'commit'
            : event.kv.key.subarray(0, audit.length).equals(audit)
              ? 'audit'
              : event.kv.key.toString('latin1'),
      );
      assert.deepEqual(
        kinds.filter((kind) => !['key', 'commit', 'audit'].includes(kind)),
        [],
      );
      assert.equal(kinds.length, 3 * commits);
    });
  });
} else {
  describe('etcd per-key history with two servers on one etcd', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
