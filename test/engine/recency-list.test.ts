// The recency list behind the WAL overlay's newest-first walk (src/storage/lmdb/recency-list.ts):
// random appends, moves to the newest end and removals, compared with an array model.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RecencyList, type RecencyNode } from '../../src/storage/lmdb/recency-list.js';
import { fuzzSeed } from '../fuzz/fuzz-options.js';

interface Node extends RecencyNode {
  readonly key: number;
}

describe('recency list', () => {
  it('walks newest first and oldest first as an array model does, through appends, moves and removals', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { maxLength: 200 }), (steps) => {
        const list = new RecencyList<Node>();
        const nodes = new Map<number, Node>();
        const model: number[] = [];
        for (const [write, key] of steps) {
          const held = nodes.get(key);
          if (held !== undefined) {
            list.remove(held);
            nodes.delete(key);
            model.splice(model.indexOf(key), 1);
          }
          if (write) {
            // A write makes the key the newest; a removal (false) leaves it out.
            const node: Node = { key, older: undefined, newer: undefined };
            list.append(node);
            nodes.set(key, node);
            model.push(key);
          }
          assert.deepEqual(
            [...list.oldestFirst()].map((node) => node.key),
            model,
          );
          assert.deepEqual(
            [...list.newestFirst()].map((node) => node.key),
            [...model].reverse(),
          );
        }
      }),
      { seed: fuzzSeed(20261130), numRuns: 300 },
    );
  });
});
