// ClientMemoryBudget (maxRespClientsBytes): past the bound, the holders holding the most are
// evicted, largest first, until the total is back under it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientMemoryBudget, type MemoryHolder } from '../../src/resp/client-memory.js';

function holder(name: string, evicted: string[]): MemoryHolder {
  return {
    heldBytes: 0,
    evict: () => {
      evicted.push(name);
    },
  };
}

describe('ClientMemoryBudget', () => {
  it('keeps every holder while the total is within the limit', () => {
    const evicted: string[] = [];
    const budget = new ClientMemoryBudget(100);
    const [a, b] = [holder('a', evicted), holder('b', evicted)];
    budget.add(a);
    budget.add(b);
    budget.update(a, 60);
    budget.update(b, 40);
    assert.equal(budget.total, 100);
    budget.update(a, 10);
    assert.equal(budget.total, 50);
    assert.deepEqual(evicted, []);
  });

  it('evicts the largest holders until the total is under the limit, even when a small one grows', () => {
    const evicted: string[] = [];
    const budget = new ClientMemoryBudget(100);
    const holders = ['a', 'b', 'c'].map((name) => holder(name, evicted));
    for (const one of holders) budget.add(one);
    budget.update(holders[0]!, 70);
    budget.update(holders[1]!, 20);
    budget.update(holders[2]!, 15);
    assert.deepEqual(evicted, ['a']);
    assert.equal(budget.total, 35);
    assert.equal(holders[0]!.heldBytes, 0);
    budget.update(holders[0]!, 500); // an evicted holder is no longer counted
    assert.equal(budget.total, 35);
  });

  it('forgets a removed holder', () => {
    const budget = new ClientMemoryBudget(100);
    const one = holder('a', []);
    budget.add(one);
    budget.update(one, 80);
    budget.remove(one);
    assert.equal(budget.total, 0);
  });
});
