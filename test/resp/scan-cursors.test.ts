// The SCAN cursor table is bounded in entries and in bytes: long keys cannot make 100,000 cursors
// hold 100 MB.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScanCursors } from '../../src/resp/scan-cursors.js';

describe('SCAN cursor table', () => {
  it('forgets the oldest cursors past its entry capacity', () => {
    const cursors = new ScanCursors(3);
    const ids = ['a', 'b', 'c', 'd'].map((key) => cursors.create(key));
    assert.equal(cursors.size, 3);
    assert.equal(cursors.resolve(ids[0]!), undefined);
    assert.equal(cursors.resolve(ids[3]!), 'd');
  });

  it('holds at most 16 MiB of keys by default, whatever their length', () => {
    const cursors = new ScanCursors();
    const key = 'k'.repeat(1024);
    let first = 0;
    for (let index = 0; index < 100_000; index++) {
      const id = cursors.create(`${key}${index}`);
      if (index === 0) first = id;
    }
    assert.ok(cursors.heldBytes <= 16 * 1024 * 1024, `${cursors.heldBytes} bytes`);
    assert.ok(cursors.size < 10_000, `${cursors.size} cursors`);
    assert.equal(cursors.resolve(first), undefined);
    assert.equal(cursors.resolve(first + 99_999), `${key}99999`);
  });
});
