// Minted tokens in the core (docs/tokens.md): the store-wide count limit, expiry by the
// service's clock, and digests only in the system keyspace.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import { KvsError } from '../../src/core/errors.js';
import { defaultLimits } from '../../src/core/limits.js';
import { KvService } from '../../src/core/service.js';
import { MAX_TOKENS, TokenRegistry } from '../../src/core/token-registry.js';
import { TokenStore } from '../../src/core/tokens.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import type { SystemStore } from '../../src/storage/index.js';

function service(clock: () => number = Date.now) {
  const engine = new MemoryEngine({ logLength: 100, logValueMax: 64 });
  const tokens = new TokenStore([{ token: 'admin-secret', grant: { scope: 'admin', prefixes: [], label: 'admin' } }]);
  const kv = new KvService(engine, {
    limits: defaultLimits,
    privateReads: false,
    tokens,
    authLimiter: new AuthFailureLimiter(1000, 60_000),
    clock,
  });
  return { engine, kv, admin: kv.authenticate('admin-secret', 'test') };
}

describe('token registry', () => {
  it(`refuses the ${MAX_TOKENS + 1}th token with too_many_tokens until one is revoked`, async () => {
    const { kv, admin } = service();
    let first = '';
    for (let index = 0; index < MAX_TOKENS; index++) {
      const minted = await kv.mintToken(admin, { label: `t${index}`, scope: 'read', prefixes: [] });
      if (index === 0) first = minted.info.id;
    }
    await assert.rejects(
      kv.mintToken(admin, { label: 'one too many', scope: 'read', prefixes: [] }),
      (error: unknown) => error instanceof KvsError && error.code === 'too_many_tokens' && error.status === 409,
    );
    await kv.revokeToken(admin, first);
    await kv.mintToken(admin, { label: 'fits again', scope: 'read', prefixes: [] });
  });

  it('a token expires by the clock; the system keyspace holds its digest, never its secret', async () => {
    let now = 1_800_000_000_000;
    const { engine, kv, admin } = service(() => now);
    const minted = await kv.mintToken(admin, { label: 'short', scope: 'write', prefixes: ['a/'], ttlSeconds: 10 });
    assert.ok(kv.authenticate(minted.secret, 'test').principal?.allows('write', 'a/x'));
    const stored = engine.system.list('').map(({ value }) => value.toString('utf8'));
    assert.ok(stored.length > 0 && stored.every((text) => !text.includes(minted.secret.slice(4))));
    now += 9_999;
    assert.ok(kv.authenticate(minted.secret, 'test').principal !== undefined);
    now += 1;
    assert.throws(
      () => kv.authenticate(minted.secret, 'test'),
      (error: unknown) => error instanceof KvsError && error.code === 'auth_invalid',
    );
  });

  it('a system keyspace that cannot be read fails closed and never throws (the poll runs on a timer)', async () => {
    const { engine, kv, admin } = service();
    const minted = await kv.mintToken(admin, { label: 'device', scope: 'read', prefixes: [] });
    let broken = false;
    const damaged = new Error('MDB_BAD_TXN: Transaction must abort, has a child, or is invalid');
    const flaky: SystemStore = {
      generation: () => (broken ? -1 : engine.system.generation()),
      get: (key) => engine.system.get(key),
      list: (prefix) => {
        if (broken) throw damaged;
        return engine.system.list(prefix);
      },
      put: (key, value) => engine.system.put(key, value),
      delete: (key) => engine.system.delete(key),
    };
    const seen: unknown[] = [];
    const fileTokens = new TokenStore([
      { token: 'file-secret', grant: { scope: 'read', prefixes: [], label: 'file' } },
    ]);
    const registry = new TokenRegistry(flaky, fileTokens, Date.now, undefined, (error) => seen.push(error));
    assert.ok(registry.authenticate(minted.secret) !== undefined, 'a readable store: the minted token works');
    broken = true;
    assert.equal(registry.authenticate(minted.secret), undefined, 'an unreadable store: minted tokens are refused');
    assert.ok(registry.authenticate('file-secret') !== undefined, 'file tokens keep working');
    assert.deepEqual(registry.list(), []);
    assert.ok(seen.includes(damaged), 'the read error is reported');
    broken = false;
    assert.ok(registry.authenticate(minted.secret) !== undefined, 'readable again: the minted token works again');
  });
});
