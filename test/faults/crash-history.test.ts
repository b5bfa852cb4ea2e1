// The crash checker must catch each kind of loss it claims to catch (so a green crash test means something).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkCrashHistory, type StoredEntry } from './crash-history.js';
import type { WriteRecord } from './write-load.js';

function record(id: number, status: WriteRecord['status'], pairs: [string, string][], revision?: number): WriteRecord {
  return {
    id,
    round: 1,
    client: 0,
    kind: pairs.length > 1 ? 'form' : 'put',
    pairs: pairs.map(([key, value]) => ({ key, value })),
    status,
    ...(revision === undefined ? {} : { revision }),
  };
}

const history: WriteRecord[] = [
  record(1, 'acked', [['a', 'va']], 1),
  record(
    2,
    'acked',
    [
      ['b1', 'vb1'],
      ['b2', 'vb2'],
    ],
    2,
  ),
  record(3, 'unknown', [
    ['c1', 'vc1'],
    ['c2', 'vc2'],
  ]),
  record(4, 'unknown', [['d', 'vd']]),
  record(5, 'rejected', [['e', 've']]),
];

function intact(): Map<string, StoredEntry> {
  return new Map([
    ['a', { value: 'va', modRevision: 1 }],
    ['b1', { value: 'vb1', modRevision: 2 }],
    ['b2', { value: 'vb2', modRevision: 2 }],
    ['c1', { value: 'vc1', modRevision: 3 }],
    ['c2', { value: 'vc2', modRevision: 3 }],
  ]);
}

function problemsWith(
  change: (stored: Map<string, StoredEntry>) => void,
  revision = 3,
  previousRevision = 0,
): string[] {
  const stored = intact();
  change(stored);
  return checkCrashHistory({ records: history, stored, revision, previousRevision }).problems;
}

describe('crash history checker', () => {
  it('accepts an intact store and counts outcomes', () => {
    const result = checkCrashHistory({ records: history, stored: intact(), revision: 3, previousRevision: 2 });
    assert.deepEqual(result.problems, []);
    assert.equal(result.acked, 2);
    assert.equal(result.ackedFound, 2);
    assert.equal(result.unknownPresent, 1);
    assert.equal(result.unknownAbsent, 1);
    assert.equal(result.rejected, 1);
  });

  it('catches a lost acknowledged write', () => {
    assert.match(problemsWith((stored) => stored.delete('a')).join('\n'), /write #1 .*absent after restart/u);
  });

  it('catches a wrong value', () => {
    assert.match(
      problemsWith((stored) => stored.set('a', { value: 'other', modRevision: 1 })).join('\n'),
      /wrong value for a/u,
    );
  });

  it('catches half of an acknowledged form and half of an unacknowledged one', () => {
    assert.match(problemsWith((stored) => stored.delete('b2')).join('\n'), /write #2 .*only 1 of 2 pairs/u);
    assert.match(problemsWith((stored) => stored.delete('c1')).join('\n'), /write #3 .*only 1 of 2 pairs/u);
  });

  it('catches a write stored at another revision than acknowledged', () => {
    assert.match(
      problemsWith((stored) => stored.set('a', { value: 'va', modRevision: 3 })).join('\n'),
      /write #1 .*reply said 1/u,
    );
  });

  it('catches a rejected write that was saved, and keys nobody wrote', () => {
    assert.match(
      problemsWith((stored) => stored.set('e', { value: 've', modRevision: 3 })).join('\n'),
      /write #5 .*rejected/u,
    );
    assert.match(
      problemsWith((stored) => stored.set('zz', { value: 'x', modRevision: 3 })).join('\n'),
      /zz .*no write asked for/u,
    );
  });

  it('catches a revision that went backwards', () => {
    assert.match(problemsWith(() => {}, 3, 7).join('\n'), /went backwards/u);
    assert.match(
      problemsWith((stored) => stored.delete('c1') && stored.delete('c2'), 1).join('\n'),
      /behind acknowledged revision 2/u,
    );
  });
});
