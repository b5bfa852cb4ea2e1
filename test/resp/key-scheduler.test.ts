import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyScheduler } from '../../src/resp/key-scheduler.js';

interface Job {
  readonly keys: string[];
  readonly combinable: boolean;
  readonly name: string;
}

/** A scheduler whose batches finish when the test says so. */
function harness() {
  const started: string[][] = [];
  const finishers: (() => void)[] = [];
  const scheduler = new KeyScheduler<Job>((batch) => {
    started.push(batch.map((job) => job.name));
    return new Promise<void>((resolve) => finishers.push(resolve));
  });
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const finish = async (index: number) => {
    finishers[index]!();
    await turn();
  };
  return { scheduler, started, finish, turn };
}

describe('KeyScheduler', () => {
  it('combines the single-key jobs submitted in one turn into one batch, in order', async () => {
    const { scheduler, started, turn } = harness();
    for (const name of ['a1', 'a2', 'a3']) scheduler.submit({ keys: ['a'], combinable: true, name });
    scheduler.submit({ keys: ['b'], combinable: true, name: 'b1' });
    await turn();
    assert.deepEqual(started, [['a1', 'a2', 'a3'], ['b1']]);
  });

  it('holds a key while its batch runs, then runs everything that queued meanwhile as the next batch', async () => {
    const { scheduler, started, finish, turn } = harness();
    scheduler.submit({ keys: ['a'], combinable: true, name: 'first' });
    await turn();
    scheduler.submit({ keys: ['a'], combinable: true, name: 'second' });
    scheduler.submit({ keys: ['a'], combinable: true, name: 'third' });
    await turn();
    assert.deepEqual(started, [['first']]);
    assert.equal(scheduler.isBusy('a'), true);
    await finish(0);
    assert.deepEqual(started, [['first'], ['second', 'third']]);
    await finish(1);
    assert.equal(scheduler.isBusy('a'), false);
  });

  it('runs a multi-key job alone, after the jobs before it on each of its keys, and before later ones', async () => {
    const { scheduler, started, finish, turn } = harness();
    scheduler.submit({ keys: ['a'], combinable: true, name: 'a-before' });
    scheduler.submit({ keys: ['a', 'b'], combinable: false, name: 'a+b' });
    scheduler.submit({ keys: ['b'], combinable: true, name: 'b-after' });
    scheduler.submit({ keys: ['a'], combinable: true, name: 'a-after' });
    await turn();
    assert.deepEqual(started, [['a-before']]);
    await finish(0);
    assert.deepEqual(started, [['a-before'], ['a+b']]);
    await finish(1);
    assert.deepEqual(started.slice(2).sort(), [['a-after'], ['b-after']]);
  });

  it('does not deadlock on overlapping multi-key jobs', async () => {
    const { scheduler, started, finish, turn } = harness();
    scheduler.submit({ keys: ['a', 'b'], combinable: false, name: 'ab' });
    scheduler.submit({ keys: ['b', 'a'], combinable: false, name: 'ba' });
    scheduler.submit({ keys: ['b', 'c'], combinable: false, name: 'bc' });
    await turn();
    assert.deepEqual(started, [['ab']]);
    await finish(0);
    assert.deepEqual(started, [['ab'], ['ba']]);
    await finish(1);
    assert.deepEqual(started, [['ab'], ['ba'], ['bc']]);
  });
});
