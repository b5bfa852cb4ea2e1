// The listings' memory of runs of expired keys (src/storage/lmdb/expired-key-runs.ts): a write
// drops the run it lands in, a listing learns nothing over a range a write touched since its
// snapshot (in flight or made visible), and a run is not used by a listing of an older snapshot.
// Plus the span memory's own forget and the snapshot bound (expired-spans.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ExpiredKeyRuns,
  RECENT_WRITES_BYTES_MAX,
  RECENT_WRITES_KEPT,
} from '../../src/storage/lmdb/expired-key-runs.js';
import { EXPIRED_SPAN_MIN_ENTRIES } from '../../src/storage/lmdb/expired-spans.js';

const MIN = EXPIRED_SPAN_MIN_ENTRIES;
const NOW = 1000;

describe('expired key runs', () => {
  it('a run learned with no write since its snapshot covers its range', () => {
    const runs = new ExpiredKeyRuns();
    const snapshot = runs.snapshot();
    runs.remember('a/0100', 'a/0900', MIN, NOW, snapshot);
    assert.equal(runs.containing('a/0500', NOW, snapshot)?.high, 'a/0900');
    assert.equal(runs.containing('a/0950', NOW, snapshot), undefined);
  });

  it('a write into a run drops it, at its start and once visible; a write outside keeps it', () => {
    const runs = new ExpiredKeyRuns();
    runs.remember('a/0100', 'a/0900', MIN, NOW, runs.snapshot());
    runs.writing(['b/1']);
    runs.written(['b/1']);
    assert.ok(runs.containing('a/0500', NOW, runs.snapshot()));
    runs.writing(['a/0500']);
    assert.equal(runs.size, 0, 'dropped when the write starts');
    runs.written(['a/0500']);
    // Learned again by a listing that saw the write, then a second write of the key.
    runs.remember('a/0100', 'a/0900', MIN, NOW, runs.snapshot());
    runs.writing(['x']);
    runs.written(['a/0600']);
    assert.equal(runs.size, 0, 'dropped when the write is visible');
  });

  it('nothing is learned over a key whose write is in flight', () => {
    const runs = new ExpiredKeyRuns();
    runs.writing(['a/0500']);
    runs.remember('a/0100', 'a/0900', MIN, NOW, runs.snapshot());
    assert.equal(runs.size, 0);
    runs.remember('a/0600', 'a/0900', MIN, NOW, runs.snapshot());
    assert.equal(runs.size, 1, 'a range without the key is learned');
  });

  it('nothing is learned over a key written (and visible) after the listing took its snapshot', () => {
    const runs = new ExpiredKeyRuns();
    const snapshot = runs.snapshot();
    runs.writing(['a/0500']);
    runs.written(['a/0500']);
    runs.remember('a/0100', 'a/0900', MIN, NOW, snapshot);
    assert.equal(runs.size, 0);
    runs.remember('a/0100', 'a/0900', MIN, NOW, runs.snapshot());
    assert.equal(runs.size, 1, 'a listing that saw the write learns the run');
  });

  it('past RECENT_WRITES_KEPT writes since its snapshot, a listing learns nothing', () => {
    const runs = new ExpiredKeyRuns();
    const snapshot = runs.snapshot();
    // RECENT_WRITES_KEPT writes elsewhere are all kept, and checked: the run is learned.
    for (let index = 0; index < RECENT_WRITES_KEPT; index++) {
      runs.writing(['z']);
      runs.written(['z']);
    }
    runs.remember('a/0100', 'a/0900', MIN, NOW, snapshot);
    assert.equal(runs.size, 1);
    runs.clear();
    // One more, and the oldest write since the snapshot is no longer known.
    runs.writing(['z']);
    runs.written(['z']);
    runs.remember('a/0100', 'a/0900', MIN, NOW, snapshot);
    assert.equal(runs.size, 0);
  });

  it('past RECENT_WRITES_BYTES_MAX of kept key ranges, a listing of an older snapshot learns nothing', () => {
    const runs = new ExpiredKeyRuns();
    const snapshot = runs.snapshot();
    // Writes far from the run, with long keys: what is kept of them passes the byte bound first.
    const long = 'z'.repeat(1000);
    const writes = Math.ceil(RECENT_WRITES_BYTES_MAX / 2000) + 1;
    assert.ok(writes < RECENT_WRITES_KEPT);
    for (let index = 0; index < writes; index++) {
      runs.writing([long]);
      runs.written([long]);
    }
    runs.remember('a/0100', 'a/0900', MIN, NOW, snapshot);
    assert.equal(runs.size, 0);
    runs.remember('a/0100', 'a/0900', MIN, NOW, runs.snapshot());
    assert.equal(runs.size, 1);
  });

  it('a write of several keys blocks learning anywhere between its lowest and highest key', () => {
    const runs = new ExpiredKeyRuns();
    const snapshot = runs.snapshot();
    runs.writing(['a/0000', 'a/9999']);
    runs.written(['a/0000', 'a/9999']);
    runs.remember('a/0100', 'a/0900', MIN, NOW, snapshot);
    assert.equal(runs.size, 0, 'conservative: the range between the keys counts as written');
    runs.remember('b/0100', 'b/0900', MIN, NOW, snapshot);
    assert.equal(runs.size, 1, 'outside it, learned');
  });

  it('a run found in a newer snapshot is not used by a listing of an older one', () => {
    const runs = new ExpiredKeyRuns();
    const older = runs.snapshot();
    runs.writing(['a/0500']); // say, deletes a key the older snapshot still holds
    runs.written(['a/0500']);
    const newer = runs.snapshot();
    runs.remember('a/0100', 'a/0900', MIN, NOW, newer);
    assert.ok(runs.containing('a/0500', NOW, newer));
    assert.equal(runs.containing('a/0500', NOW, older), undefined);
  });

  it('clear forgets every run', () => {
    const runs = new ExpiredKeyRuns();
    runs.remember('a/0100', 'a/0900', MIN, NOW, runs.snapshot());
    runs.clear();
    assert.equal(runs.size, 0);
  });
});
