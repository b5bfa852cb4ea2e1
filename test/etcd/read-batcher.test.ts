// The read batcher of the etcd engine (src/storage/etcd/read-batcher.ts) on its own, over a fake
// etcd: which reads share a call, and which must not. test/etcd/read-batching.test.ts runs it
// against a real etcd cluster.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IKeyValue } from 'etcd3';
import { BATCH_BYTES_PER_KEY, ReadBatcher } from '../../src/storage/etcd/read-batcher.js';

/** A fake etcd: records every call; each answers when the test releases it. */
class FakeEtcd {
  readonly calls: { keys: string[]; answer: () => void; fail: (error: Error) => void }[] = [];

  readonly readKeys = (keys: readonly Buffer[]) =>
    new Promise<(IKeyValue | undefined)[]>((resolve, reject) => {
      const names = keys.map((key) => key.toString());
      this.calls.push({
        keys: names,
        answer: () => resolve(names.map((name) => (name.startsWith('absent') ? undefined : kv(name)))),
        fail: reject,
      });
    });
}

function kv(name: string): IKeyValue {
  return {
    key: Buffer.from(name),
    value: Buffer.from(`value of ${name}`),
    create_revision: '1',
    mod_revision: '1',
    version: '1',
    lease: '0',
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const textOf = (found: IKeyValue | undefined) => found?.value.toString();

describe('etcd read batcher', () => {
  it('reads asked for in one event-loop turn share one call, each answered with its own key', async () => {
    const etcd = new FakeEtcd();
    const batcher = new ReadBatcher(etcd.readKeys, 128, 1 << 20);
    const reads = ['a', 'b', 'absent', 'a'].map((name) => batcher.read(Buffer.from(name)));
    await turn();
    assert.deepEqual(
      etcd.calls.map((call) => call.keys),
      [['a', 'b', 'absent']],
      'one call, a key asked twice sent once',
    );
    etcd.calls[0]!.answer();
    assert.deepEqual((await Promise.all(reads)).map(textOf), ['value of a', 'value of b', undefined, 'value of a']);
  });

  it('a read asked for after its batch was sent goes in the next call, never joins the one on its way', async () => {
    const etcd = new FakeEtcd();
    const batcher = new ReadBatcher(etcd.readKeys, 128, 1 << 20);
    const first = batcher.read(Buffer.from('k'));
    await turn();
    const second = batcher.read(Buffer.from('k'));
    await turn();
    assert.deepEqual(
      etcd.calls.map((call) => call.keys),
      [['k'], ['k']],
    );
    for (const call of etcd.calls) call.answer();
    assert.deepEqual([textOf(await first), textOf(await second)], ['value of k', 'value of k']);
  });

  it('a batch holds at most maxKeys keys and maxBytes of keys; a key longer than that goes alone', async () => {
    const etcd = new FakeEtcd();
    const batcher = new ReadBatcher(etcd.readKeys, 3, 3 * (2 + BATCH_BYTES_PER_KEY));
    const names = ['k1', 'k2', 'k3', 'k4', 'k5', 'long'.repeat(40), 'k6'];
    const reads = names.map((name) => batcher.read(Buffer.from(name)));
    await turn();
    assert.deepEqual(
      etcd.calls.map((call) => call.keys),
      [['k1', 'k2', 'k3'], ['k4', 'k5'], ['long'.repeat(40)], ['k6']],
    );
    for (const call of etcd.calls) call.answer();
    assert.deepEqual(
      (await Promise.all(reads)).map(textOf),
      names.map((name) => `value of ${name}`),
    );
  });

  it('a failed call fails every read of its batch, and only those', async () => {
    const etcd = new FakeEtcd();
    const batcher = new ReadBatcher(etcd.readKeys, 2, 1 << 20);
    const failing = [batcher.read(Buffer.from('a')), batcher.read(Buffer.from('b'))];
    const other = batcher.read(Buffer.from('c'));
    await turn();
    assert.equal(etcd.calls.length, 2);
    etcd.calls[0]!.fail(new Error('etcd is down'));
    etcd.calls[1]!.answer();
    for (const read of failing) await assert.rejects(read, /etcd is down/);
    assert.equal(textOf(await other), 'value of c');
  });
});
