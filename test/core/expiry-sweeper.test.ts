// ExpirySweeper over the in-memory engine: expired keys become real removals with `expire`
// change events, in bounded batches, oldest expiry first. Time comes from an injected clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpirySweeper } from '../../src/core/expiry-sweeper.js';
import type { ChangeEvent } from '../../src/model/events.js';
import type { Operation } from '../../src/model/txn.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';

const T0 = 1_700_000_000_000;

function put(key: string, expires: number | null): Operation {
  return { type: 'put', key, value: Buffer.from(key), contentType: null, expires };
}

function newEngine(): MemoryEngine {
  return new MemoryEngine({ logLength: 10_000, logValueMax: 1024 });
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('ExpirySweeper', () => {
  it('sweepOnce removes the expired keys and records an expire event for each', async () => {
    const engine = newEngine();
    await engine.commit(
      { conditions: [], operations: [put('k100', T0 + 100), put('k200', T0 + 200), put('never', null)] },
      T0,
    );
    let now = T0 + 150;
    const sweeper = new ExpirySweeper(engine, { intervalMs: 60_000, batch: 100, clock: () => now });
    const published: ChangeEvent[] = [];
    const unsubscribe = engine.subscribe((events) => published.push(...events));
    try {
      assert.equal(await engine.count(), 3, 'expired keys count until swept');
      assert.equal(await sweeper.sweepOnce(), 1);
      assert.equal(await engine.count(), 2);
      assert.equal(await engine.revision(), 2);
      const events = (await engine.history(1, 10)).events.map((event) => [event.type, event.key, event.revision]);
      assert.deepEqual(events, [['expire', 'k100', 2]]);
      assert.deepEqual(
        published.map((event) => [event.type, event.key]),
        [['expire', 'k100']],
      );

      assert.equal(await sweeper.sweepOnce(), 0, 'nothing more has expired');
      assert.equal(await engine.revision(), 2, 'an idle sweep commits nothing');

      now = T0 + 200;
      assert.equal(await sweeper.sweepOnce(), 1);
      assert.deepEqual(
        (await engine.list({ prefix: '', limit: 10 }, T0)).items.map((item) => item.key),
        ['never'],
        'swept keys are gone even for readers with an earlier clock',
      );
      assert.deepEqual(await engine.expired(T0 + 1_000_000, 10), []);
    } finally {
      unsubscribe();
    }
  });

  it('works in batches of at most `batch` keys, oldest expiry first', async () => {
    const engine = newEngine();
    const expiries = [500, 100, 400, 200, 300];
    await engine.commit({ conditions: [], operations: expiries.map((offset) => put(`k${offset}`, T0 + offset)) }, T0);
    const sweeper = new ExpirySweeper(engine, { intervalMs: 60_000, batch: 2, clock: () => T0 + 1000 });
    assert.deepEqual(
      [await sweeper.sweepOnce(), await sweeper.sweepOnce(), await sweeper.sweepOnce(), await sweeper.sweepOnce()],
      [2, 2, 1, 0],
    );
    const history = (await engine.history(1, 10)).events;
    assert.deepEqual(
      history.map((event) => [event.revision, event.key]),
      [
        [2, 'k100'],
        [2, 'k200'],
        [3, 'k300'],
        [3, 'k400'],
        [4, 'k500'],
      ],
    );
    assert.ok(history.every((event) => event.type === 'expire' && event.version === 0));
    assert.equal(await engine.count(), 0);
  });

  it('does not remove a key that was rewritten after it was found expired', async () => {
    // An engine that lets a client renew the key between the sweeper's read and its commit.
    class RenewingEngine extends MemoryEngine {
      override async expired(now: number, limit: number) {
        const found = await super.expired(now, limit);
        await this.commit({ conditions: [], operations: [put('renewed', now + 10_000)] }, now);
        return found;
      }
    }
    const engine = new RenewingEngine({ logLength: 100, logValueMax: 1024 });
    await engine.commit({ conditions: [], operations: [put('renewed', T0 + 100), put('stale', T0 + 100)] }, T0);
    const sweeper = new ExpirySweeper(engine, { intervalMs: 60_000, batch: 10, clock: () => T0 + 500 });
    await sweeper.sweepOnce();
    const renewed = await engine.get('renewed', T0 + 500);
    assert.equal(renewed?.version, 1, 'the renewal is a new incarnation');
    assert.equal(renewed?.expires, T0 + 10_500);
    assert.equal(await engine.get('stale', T0), undefined);
    assert.deepEqual(
      (await engine.history(1, 10)).events.map((event) => [event.type, event.key]),
      [
        ['put', 'renewed'],
        ['expire', 'stale'],
      ],
    );
  });

  it('start sweeps on its interval and stop ends it; errors go to onError', async () => {
    const engine = newEngine();
    await engine.commit({ conditions: [], operations: [put('short', T0 + 1), put('long', null)] }, T0);
    const sweeper = new ExpirySweeper(engine, { intervalMs: 5, batch: 10, clock: () => T0 + 10 });
    sweeper.start();
    try {
      await waitFor(async () => (await engine.count()) === 1, 'the background sweep');
    } finally {
      await sweeper.stop();
    }
    assert.equal((await engine.get('long', T0 + 10))?.key, 'long');

    class BrokenEngine extends MemoryEngine {
      override async expired(): Promise<{ key: string; modRevision: number }[]> {
        throw new Error('disk on fire');
      }
    }
    const errors: unknown[] = [];
    const broken = new ExpirySweeper(new BrokenEngine({ logLength: 10, logValueMax: 10 }), {
      intervalMs: 5,
      batch: 10,
      onError: (error) => errors.push(error),
    });
    broken.start();
    try {
      await waitFor(() => errors.length >= 2, 'two reported errors');
    } finally {
      await broken.stop();
    }
    assert.match(String(errors[0]), /disk on fire/);
  });

  it('does not start for an engine that expires keys natively', async () => {
    class CountingEngine extends MemoryEngine {
      sweeps = 0;
      override async expired(now: number, limit: number) {
        this.sweeps++;
        return super.expired(now, limit);
      }
    }
    const engine = new CountingEngine({ logLength: 10, logValueMax: 10 });
    // MemoryEngine declares expiresNatively as the literal false; pose as an etcd-like engine.
    Object.defineProperty(engine, 'expiresNatively', { value: true });
    assert.equal(engine.expiresNatively as boolean, true);
    const sweeper = new ExpirySweeper(engine, { intervalMs: 1, batch: 10 });
    sweeper.start();
    // A sweeper that did start would have run many times within this wait.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sweeper.stop();
    assert.equal(engine.sweeps, 0);
  });
});
