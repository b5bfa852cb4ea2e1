// The memory of runs of expired recent-index entries (src/storage/lmdb/expired-spans.ts): which
// position a run covers, from which clock on, how overlapping runs join, and its bounds in count
// and in key bytes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EXPIRED_SPAN_MIN_ENTRIES,
  EXPIRED_SPANS_BYTES_MAX,
  EXPIRED_SPANS_MAX,
  ExpiredSpans,
} from '../../src/storage/lmdb/expired-spans.js';

type Position = [number, string];
const compare = (a: Position, b: Position) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
const spans = () => new ExpiredSpans<Position>(compare, (position) => Buffer.byteLength(position[1]));
const MIN = EXPIRED_SPAN_MIN_ENTRIES;

describe('expired spans', () => {
  it('a run covers its bounds and what lies between, from the clock it was seen at on', () => {
    const memory = spans();
    memory.remember([10, 'a'], [20, 'z'], MIN, 1000);
    assert.deepEqual(memory.containing([10, 'a'], 1000)?.high, [20, 'z']);
    assert.deepEqual(memory.containing([15, 'm'], 5000)?.low, [10, 'a']);
    assert.ok(memory.containing([20, 'z'], 1000));
    assert.equal(memory.containing([9, 'z'], 1000), undefined);
    assert.equal(memory.containing([20, 'zz'], 1000), undefined);
    assert.equal(memory.containing([15, 'm'], 999), undefined, 'not trusted at an earlier clock');
  });

  it('a short run is not remembered', () => {
    const memory = spans();
    memory.remember([1, 'a'], [2, 'a'], MIN - 1, 0);
    assert.equal(memory.size, 0);
  });

  it('overlapping runs join into one, trusted from the later clock', () => {
    const memory = spans();
    memory.remember([10, 'a'], [20, 'a'], MIN, 100);
    memory.remember([30, 'a'], [40, 'a'], MIN, 200);
    assert.equal(memory.size, 2);
    memory.remember([15, 'a'], [35, 'a'], 3 * MIN, 300);
    assert.equal(memory.size, 1);
    const joined = memory.containing([12, 'a'], 300)!;
    assert.deepEqual([joined.low, joined.high, joined.seenAt], [[10, 'a'], [40, 'a'], 300]);
    assert.equal(memory.containing([12, 'a'], 299), undefined);
    assert.equal(memory.bytes, 2);
  });

  it(`keeps at most ${EXPIRED_SPANS_MAX} runs, forgetting the ones of fewest entries`, () => {
    const memory = spans();
    for (let index = 0; index < EXPIRED_SPANS_MAX + 10; index++)
      memory.remember([index * 10, 'a'], [index * 10 + 5, 'a'], MIN + (index % (EXPIRED_SPANS_MAX + 10)), 0);
    assert.equal(memory.size, EXPIRED_SPANS_MAX);
    for (let index = 0; index < 10; index++) assert.equal(memory.containing([index * 10, 'a'], 0), undefined);
    assert.ok(memory.containing([10 * 10, 'a'], 0));
  });

  it(`holds at most ${EXPIRED_SPANS_BYTES_MAX} bytes of keys in its runs' bounds`, () => {
    const memory = spans();
    const long = 'k'.repeat(1000);
    for (let index = 0; index < EXPIRED_SPANS_MAX; index++)
      memory.remember([index * 10, long], [index * 10 + 5, long], MIN + index, 0);
    assert.ok(memory.bytes <= EXPIRED_SPANS_BYTES_MAX, `${memory.bytes} bytes`);
    assert.equal(memory.size, Math.floor(EXPIRED_SPANS_BYTES_MAX / 2000));
    assert.ok(memory.containing([(EXPIRED_SPANS_MAX - 1) * 10, long], 0), 'the largest run is kept');
  });
});
