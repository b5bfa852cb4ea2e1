// Route schemas are compiled on first use (src/http/deferred-compiles.ts), so a schema that does
// not compile no longer stops the server from starting: this test compiles every one of them. It
// also checks that a validator compiled on first use, before any background compile, answers
// as the rest of the suite expects (coercion of query text, the 400 naming the field).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import { defaultConfig } from '../../src/core/config.js';
import { defaultLimits } from '../../src/core/limits.js';
import { KvService } from '../../src/core/service.js';
import { parseTokenFile, TokenStore } from '../../src/core/tokens.js';
import { WatchHub } from '../../src/core/watch-hub.js';
import { buildHttpApp, compileRouteSchemas } from '../../src/http/server.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { newToken } from '../helpers/server-process.js';

const token = newToken();

function newApp(): Promise<FastifyInstance> {
  const service = new KvService(new MemoryEngine({ logLength: 100, logValueMax: 64 }), {
    limits: defaultLimits,
    privateReads: false,
    tokens: new TokenStore(parseTokenFile(`${token} admin\n`)),
    authLimiter: new AuthFailureLimiter(10, 60_000),
  });
  return buildHttpApp({ service, hub: new WatchHub(service), config: { ...defaultConfig, port: 0 } });
}

describe('route schemas', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await newApp();
    await app.ready();
  });
  after(async () => {
    await app.close();
  });

  it('a validator compiled on its first request answers as before', async () => {
    const wrongField = await app.inject({
      method: 'POST',
      url: '/v1/txn',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ operations: [], tll: 5 }),
    });
    assert.equal(wrongField.statusCode, 400);
    assert.equal(wrongField.json().error.code, 'bad_request');
    assert.equal(wrongField.json().error.field, 'tll');
    // Query text is coerced: limit=1 is the integer 1, limit=x is refused naming the parameter.
    const page = await app.inject({ method: 'GET', url: '/v1/kv?limit=1' });
    assert.equal(page.statusCode, 200);
    const notNumber = await app.inject({ method: 'GET', url: '/v1/kv?limit=x' });
    assert.equal(notNumber.statusCode, 400);
    assert.equal(notNumber.json().error.field, 'limit');
  });

  it('every route schema compiles', async () => {
    const other = await newApp();
    try {
      await other.ready();
      const compiled = compileRouteSchemas(other);
      // Each route's request parts and response schemas: a wiring that deferred nothing would
      // compile nothing here and prove nothing.
      assert.ok(compiled > 20, `only ${compiled} schemas compiled`);
      assert.equal(compileRouteSchemas(other), 0, 'all compiled the first time');
    } finally {
      await other.close();
    }
  });
});
