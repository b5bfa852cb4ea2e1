// The fast-paths setting (config fastPaths, `kvs serve --fast-paths on|off`) and the access log
// are independent: with --access-log the fast paths still answer, and log their answers as the
// Fastify routes do; with the fast paths off every request goes through Fastify. Which one
// answered is told by the service calls: only the fast paths call callerIfValid, only the routes
// call authenticate.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { configFromFlags } from '../../src/cli/serve-command.js';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import { defaultConfig } from '../../src/core/config.js';
import { defaultLimits } from '../../src/core/limits.js';
import { KvService } from '../../src/core/service.js';
import { parseTokenFile, TokenStore } from '../../src/core/tokens.js';
import { WatchHub } from '../../src/core/watch-hub.js';
import { startHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/core/logger.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { newToken } from '../helpers/server-process.js';

const token = newToken();

interface Running {
  readonly url: string;
  readonly lines: string[];
  /** The access log's JSON lines as written. */
  readonly records: string[];
  /** Service calls per entry point since the last reset. */
  readonly calls: { fast: number; routed: number };
  readonly app: FastifyInstance;
}

async function start(settings: { fastPaths: boolean; accessLog: boolean }): Promise<Running> {
  const service = new KvService(new MemoryEngine({ logLength: 100, logValueMax: 64 }), {
    limits: defaultLimits,
    privateReads: false,
    tokens: new TokenStore(parseTokenFile(`${token} admin\n`)),
    authLimiter: new AuthFailureLimiter(10, 60_000),
  });
  const calls = { fast: 0, routed: 0 };
  const callerIfValid = service.callerIfValid.bind(service);
  const authenticate = service.authenticate.bind(service);
  service.callerIfValid = (...args) => {
    calls.fast++;
    return callerIfValid(...args);
  };
  service.authenticate = (...args) => {
    calls.routed++;
    return authenticate(...args);
  };
  // Each access-log record as `client method path status`.
  const lines: string[] = [];
  const records: string[] = [];
  const logger = createLogger({
    write: (json) => {
      records.push(json);
      const record = JSON.parse(json) as { client: string; method: string; path: string; status: number };
      lines.push(`${record.client} ${record.method} ${record.path} ${record.status}`);
    },
  });
  const config = { ...defaultConfig, host: '127.0.0.1', port: 0, ...settings };
  const { app, url } = await startHttpServer({ service, hub: new WatchHub(service), config, logger });
  return { url, lines, records, calls, app };
}

/** The requests the fast paths take, each with the access log line it must leave. */
async function hotRequests(url: string): Promise<string[]> {
  const answers = [
    await fetch(`${url}/v1/kv/k`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: 'v' }),
    await fetch(`${url}/v1/kv/k`),
    await fetch(`${url}/?k=k`),
  ];
  for (const answer of answers) await answer.arrayBuffer();
  assert.deepEqual(
    answers.map((answer) => answer.status),
    [201, 200, 200],
  );
  return ['127.0.0.1 PUT /v1/kv/k 201', '127.0.0.1 GET /v1/kv/k 200', '127.0.0.1 GET / 200'];
}

/** Fastify logs from its onResponse hook, which may run after the client has the answer. */
async function linesOnceLogged(server: Running, count: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  while (server.lines.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return server.lines;
}

describe('the fast-paths setting', () => {
  const running: Running[] = [];
  after(async () => {
    for (const server of running) await server.app.close();
  });

  it('is on by default, off with --fast-paths off, and --access-log leaves it alone', () => {
    assert.equal(defaultConfig.fastPaths, true);
    assert.equal(configFromFlags({}).fastPaths, true);
    assert.equal(configFromFlags({ fastPaths: 'on' }).fastPaths, true);
    assert.equal(configFromFlags({ fastPaths: 'off' }).fastPaths, false);
    assert.equal(configFromFlags({ accessLog: true }).fastPaths, true);
  });

  for (const fastPaths of [true, false]) {
    describe(`fast paths ${fastPaths ? 'on' : 'off'}, with --access-log`, () => {
      let server: Running;
      before(async () => {
        server = await start({ fastPaths, accessLog: true });
        running.push(server);
      });

      it(`the hot requests are answered by ${fastPaths ? 'the fast paths' : 'the Fastify routes'} and logged`, async () => {
        const expected = await hotRequests(server.url);
        assert.deepEqual(
          server.calls,
          fastPaths ? { fast: 3, routed: 0 } : { fast: 0, routed: 3 },
          'which handler answered',
        );
        assert.deepEqual(await linesOnceLogged(server, expected.length), expected);
        assert.ok(!server.records.join('\n').includes(token), 'no token in the access log');
      });
    });
  }

  it('without --access-log nothing is logged, on either path', async () => {
    for (const fastPaths of [true, false]) {
      const server = await start({ fastPaths, accessLog: false });
      running.push(server);
      await hotRequests(server.url);
      assert.deepEqual(server.lines, []);
    }
  });
});
