// The memory engine's reads cost what they return, not what the store holds: the expiry sweep's
// expired() and a watch's history() page are checked by counting the records and change-log
// entries they touch (through wrappers around the engine's own collections), never by timing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Operation } from '../../src/model/txn.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';

const T0 = 1_700_000_000_000;

function put(key: string, expires: number | null = null): Operation {
  return { type: 'put', key, value: Buffer.from('v'), contentType: null, expires };
}

/** Counts every record the engine reads from its key map (lookups and iteration). */
function countRecordReads(engine: MemoryEngine): { readonly reads: number } {
  const records = (engine as unknown as { records: Map<string, unknown> }).records;
  const counter = { reads: 0 };
  const counted = <T>(iterator: IterableIterator<T>): IterableIterator<T> => ({
    next() {
      const step = iterator.next();
      if (!step.done) counter.reads++;
      return step;
    },
    [Symbol.iterator]() {
      return this;
    },
  });
  records.get = (key: string) => {
    counter.reads++;
    return Map.prototype.get.call(records, key);
  };
  records[Symbol.iterator] = () => counted(Map.prototype.entries.call(records));
  records.entries = () => counted(Map.prototype.entries.call(records));
  records.values = () => counted(Map.prototype.values.call(records));
  records.forEach = () => assert.fail('forEach over every record');
  return counter;
}

describe('memory engine read bounds', () => {
  it('expired() reads the keys it returns, not every key of the store', async () => {
    const engine = new MemoryEngine({ logLength: 100, logValueMax: 64 });
    for (let start = 0; start < 20_000; start += 1000) {
      const operations = Array.from({ length: 1000 }, (_, index) => put(`k${start + index}`));
      assert.ok((await engine.commit({ conditions: [], operations }, T0)).ok);
    }
    const expiring = ['e3', 'e1', 'e2', 'e5', 'e4'];
    await engine.commit({ conditions: [], operations: expiring.map((key, index) => put(key, T0 + 10 + index)) }, T0);
    const counter = countRecordReads(engine);
    const found = await engine.expired(T0 + 100, 3);
    assert.deepEqual(
      found.map((item) => item.key),
      ['e3', 'e1', 'e2'],
    );
    assert.ok(counter.reads <= 10, `${counter.reads} records read for 3 expired keys`);
    // Read again (the sweeper may not have removed them): the same answer.
    assert.deepEqual(
      (await engine.expired(T0 + 100, 10)).map((item) => item.key),
      ['e3', 'e1', 'e2', 'e5', 'e4'],
    );
    await engine.close();
  });

  it('history() reads the page it returns, not the change log before it', async () => {
    const engine = new MemoryEngine({ logLength: 10_000, logValueMax: 64 });
    for (let revision = 1; revision <= 5000; revision++)
      assert.ok((await engine.commit({ conditions: [], operations: [put(`h${revision % 7}`)] }, T0)).ok);
    const internals = engine as unknown as { log: { revision: number }[] };
    let reads = 0;
    internals.log = new Proxy(internals.log, {
      get(target, property, receiver) {
        if (typeof property === 'string' && /^\d+$/.test(property)) reads++;
        return Reflect.get(target, property, receiver);
      },
    });
    const page = await engine.history(4990, 5);
    assert.deepEqual(
      page.events.map((event) => event.revision),
      [4991, 4992, 4993, 4994, 4995],
    );
    assert.ok(reads <= 40, `${reads} change-log entries read for a page of 5`);
    await engine.close();
  });
});
