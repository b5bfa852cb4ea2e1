// The failed-authentication limit: per address and store-wide fixed windows, tokens that
// authenticated from an address before stay usable there during a lock, memory bounded by
// entries, and the KvService rules built on it. Time comes from an injected clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import { KvsError } from '../../src/core/errors.js';
import { defaultLimits } from '../../src/core/limits.js';
import { KvService } from '../../src/core/service.js';
import { parseTokenFile, TokenStore } from '../../src/core/tokens.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';

const T0 = 1_700_000_000_000;

function limiter(options: { limit?: number; globalLimit?: number; maxClients?: number } = {}) {
  const clock = { time: T0 };
  const made = new AuthFailureLimiter(options.limit ?? 3, 60_000, () => clock.time, {
    globalLimit: options.globalLimit ?? 1000,
    maxClients: options.maxClients ?? 1000,
  });
  return { limiter: made, clock };
}

describe('AuthFailureLimiter', () => {
  it('locks one address after `limit` failures until its window ends, and no other address', () => {
    const { limiter: l, clock } = limiter();
    for (let i = 0; i < 3; i++) l.recordFailure('a');
    assert.equal(l.retryAfter('a'), 60);
    assert.equal(l.retryAfter('b'), 0);
    clock.time += 59_001;
    assert.equal(l.retryAfter('a'), 1);
    clock.time += 1_000;
    assert.equal(l.retryAfter('a'), 0);
  });

  it('locks every address once the store-wide failures reach globalLimit, one failure per address', () => {
    const { limiter: l, clock } = limiter({ globalLimit: 50 });
    for (let i = 0; i < 49; i++) l.recordFailure(`10.0.0.${i}`);
    assert.equal(l.retryAfter('fresh'), 0);
    l.recordFailure('10.0.1.1');
    assert.ok(l.retryAfter('fresh') > 0, 'a never-seen address is locked too');
    clock.time += 60_000;
    assert.equal(l.retryAfter('fresh'), 0);
  });

  it('remembers which tokens authenticated from which address, for a day', () => {
    const { limiter: l, clock } = limiter();
    l.recordSuccess('a', 'token#1(admin)');
    assert.ok(l.knownGood('a', 'token#1(admin)'));
    assert.ok(!l.knownGood('b', 'token#1(admin)'));
    assert.ok(!l.knownGood('a', 'token#2(read)'));
    clock.time += 24 * 3600_000;
    assert.ok(!l.knownGood('a', 'token#1(admin)'));
  });

  it('keeps at most maxClients addresses and pairs, forgetting the oldest, in O(1) per call', () => {
    const { limiter: l } = limiter({ maxClients: 500, limit: 2, globalLimit: 1e9 });
    l.recordFailure('first');
    l.recordFailure('first');
    assert.ok(l.retryAfter('first') > 0);
    for (let i = 0; i < 200_000; i++) {
      l.recordFailure(`127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
      l.recordSuccess(`127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'token#1(write)');
    }
    assert.deepEqual(l.tracked, { failures: 500, known: 500 });
    assert.equal(l.retryAfter('first'), 0, 'the oldest address was forgotten');
  });
});

describe('KvService.authenticate with the limiter', () => {
  const tokens = new TokenStore(parseTokenFile('good-token admin\nother-token write\n'));
  function service(limit = 3) {
    const clock = { time: T0 };
    const authLimiter = new AuthFailureLimiter(limit, 60_000, () => clock.time, { globalLimit: 1000 });
    return new KvService(new MemoryEngine({ logLength: 1000, logValueMax: 4096 }), {
      limits: defaultLimits,
      privateReads: false,
      tokens,
      authLimiter,
      clock: () => clock.time,
    });
  }
  const code = (work: () => unknown): string => {
    try {
      work();
    } catch (error) {
      assert.ok(error instanceof KvsError);
      return error.code;
    }
    return 'ok';
  };

  it('a token that worked from an address before keeps working there while that address is locked; others get 429', () => {
    const kv = service();
    assert.equal(
      code(() => kv.authenticate('good-token', 'proxy')),
      'ok',
    );
    for (let i = 0; i < 3; i++)
      assert.equal(
        code(() => kv.authenticate('typo', 'proxy')),
        'auth_invalid',
      );
    assert.equal(
      code(() => kv.authenticate('typo', 'proxy')),
      'too_many_auth_failures',
    );
    assert.equal(
      code(() => kv.authenticate('good-token', 'proxy')),
      'ok',
      'the known token is not locked out by a neighbour typo',
    );
    assert.equal(kv.callerIfValid('good-token', 'proxy')?.principal?.grant.scope, 'admin');
    // A right token never seen from this address is refused like a wrong one: no guessing oracle.
    assert.equal(
      code(() => kv.authenticate('other-token', 'proxy')),
      'too_many_auth_failures',
    );
    assert.equal(kv.callerIfValid('other-token', 'proxy'), undefined);
    assert.equal(
      code(() => kv.authenticate('other-token', 'elsewhere')),
      'ok',
    );
  });
});
