// The exclusive lmdb mode's record cache: its byte bound, eviction order and invalidation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordCache } from '../../src/storage/lmdb/record-cache.js';
import type { StoredRecord } from '../../src/storage/txn-plan.js';

function record(value: string, modRevision = 1): StoredRecord {
  return {
    createRevision: 1,
    modRevision,
    version: 1,
    updated: 0,
    expires: null,
    contentType: null,
    value: Buffer.from(value),
  };
}

describe('RecordCache', () => {
  it('returns what was added and forgets what was invalidated', () => {
    const cache = new RecordCache(10_000);
    const stored = record('hello');
    cache.add('a', stored);
    assert.equal(cache.get('a'), stored);
    assert.equal(cache.get('b'), undefined);
    cache.invalidate('a');
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 0);
    assert.equal(cache.usedBytes, 0);
  });

  it('stays within its byte bound by evicting the oldest inserted entries first', () => {
    const cache = new RecordCache(1_000);
    for (let index = 0; index < 50; index++) cache.add(`key${index}`, record('x'.repeat(100), index));
    assert.ok(cache.usedBytes <= 1_000, `used ${cache.usedBytes} bytes of 1000`);
    assert.ok(cache.size >= 2, `only ${cache.size} entries kept`);
    assert.equal(cache.get('key0'), undefined);
    assert.equal(cache.get('key49')?.modRevision, 49);
  });

  it('replacing an entry does not count its bytes twice', () => {
    const cache = new RecordCache(100_000);
    cache.add('a', record('x'.repeat(500)));
    const once = cache.usedBytes;
    cache.add('a', record('y'.repeat(500), 2));
    assert.equal(cache.usedBytes, once);
    assert.equal(cache.get('a')?.value.toString()[0], 'y');
  });

  it('does not keep a record larger than the whole cache', () => {
    const cache = new RecordCache(300);
    cache.add('small', record('s'));
    cache.add('big', record('b'.repeat(1_000)));
    assert.equal(cache.get('big'), undefined);
    assert.notEqual(cache.get('small'), undefined);
  });

  it('clear() empties it', () => {
    const cache = new RecordCache(10_000);
    cache.add('a', record('1'));
    cache.add('b', record('2'));
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(cache.usedBytes, 0);
  });
});
