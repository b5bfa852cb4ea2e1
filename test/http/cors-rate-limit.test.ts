// CORS (--cors-origin; docs/tokens.md, "CORS") and the standard rate-limit headers on answers
// that count against the failed-authentication limit (docs/limits.md).

import assert from 'node:assert/strict';
import { type IncomingHttpHeaders, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { kvsBin, removeDir, startServer, tempDir, type ServerProcess } from '../helpers/server-process.js';

function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        // A watch stream does not end: its head and first comment are enough.
        if (response.headers['content-type']?.startsWith('text/event-stream')) {
          response.destroy();
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text });
        }
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ALLOWED = 'https://app.example.com';
const ALSO_ALLOWED = 'http://localhost:5173';

describe('CORS and rate-limit headers', () => {
  let server: ServerProcess;
  let plain: ServerProcess;
  before(async () => {
    server = await startServer({
      args: [
        '--cors-origin',
        ALLOWED,
        '--cors-origin',
        `https://other.example,${ALSO_ALLOWED}`,
        '--auth-failures',
        '3',
      ],
    });
    plain = await startServer();
  });
  after(async () => {
    for (const started of [server, plain]) {
      await started.stop();
      removeDir(started.dataDir);
    }
  });

  it('answers a preflight from an allowed origin with the methods, headers and max-age', async () => {
    for (const origin of [ALLOWED, ALSO_ALLOWED]) {
      const answer = await send(`${server.url}/v1/kv/a`, 'OPTIONS', {
        origin,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization, if-match, content-type',
      });
      assert.equal(answer.status, 204);
      assert.equal(answer.headers['access-control-allow-origin'], origin);
      assert.match(String(answer.headers.vary), /Origin/);
      for (const method of ['GET', 'PUT', 'POST', 'DELETE'])
        assert.ok(String(answer.headers['access-control-allow-methods']).includes(method), method);
      for (const header of ['Authorization', 'If-Match', 'Content-Type'])
        assert.ok(String(answer.headers['access-control-allow-headers']).includes(header), header);
      assert.equal(answer.headers['access-control-max-age'], '600');
      assert.equal(answer.headers['access-control-allow-credentials'], undefined);
    }
  });

  it('refuses a preflight from any other origin, and gives it no CORS headers', async () => {
    const answer = await send(`${server.url}/v1/kv/a`, 'OPTIONS', {
      origin: 'https://evil.example',
      'access-control-request-method': 'PUT',
    });
    assert.equal(answer.status, 403);
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'forbidden');
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
  });

  it('adds Access-Control-Allow-Origin to answers for allowed origins only, watch streams included', async () => {
    await send(`${server.url}/v1/kv/a`, 'PUT', { authorization: `Bearer ${server.token}` }, 'v');
    const allowed = await send(`${server.url}/v1/kv/a`, 'GET', { origin: ALLOWED });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body, 'v');
    assert.equal(allowed.headers['access-control-allow-origin'], ALLOWED);
    assert.match(String(allowed.headers['access-control-expose-headers']), /ETag/);
    const written = await send(
      `${server.url}/v1/kv/b`,
      'PUT',
      { origin: ALLOWED, authorization: `Bearer ${server.token}` },
      'w',
    );
    assert.equal(written.status, 201);
    assert.equal(written.headers['access-control-allow-origin'], ALLOWED);
    const other = await send(`${server.url}/v1/kv/a`, 'GET', { origin: 'https://evil.example' });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const watch = await send(`${server.url}/v1/watch`, 'GET', { origin: ALLOWED });
    assert.equal(watch.status, 200);
    assert.equal(watch.headers['access-control-allow-origin'], ALLOWED);
  });

  it('without --cors-origin, no answer carries CORS headers', async () => {
    const preflight = await send(`${plain.url}/v1/kv/a`, 'OPTIONS', {
      origin: ALLOWED,
      'access-control-request-method': 'PUT',
    });
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    const read = await send(`${plain.url}/v1/kv/a`, 'GET', { origin: ALLOWED });
    assert.equal(read.headers['access-control-allow-origin'], undefined);
  });

  it('refuses to start with a --cors-origin that is not an origin', () => {
    const dir = tempDir();
    try {
      const run = spawnSync(
        process.execPath,
        [kvsBin, 'serve', '--port', '0', '--data', join(dir, 'never'), '--cors-origin', 'https://a.example/path'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(run.status, 2);
      assert.match(run.stderr, /--cors-origin "https:\/\/a\.example\/path" is not an origin/);
    } finally {
      removeDir(dir);
    }
  });

  it('failed authentications carry RateLimit-* headers, and the lock Retry-After', async () => {
    const wrong = { authorization: 'Bearer wrong-token' };
    for (let attempt = 1; attempt <= 3; attempt++) {
      const answer = await send(`${server.url}/v1/kv/c`, 'PUT', wrong, 'x');
      assert.equal(answer.status, 403);
      assert.equal(answer.headers['ratelimit-limit'], '3');
      assert.equal(answer.headers['ratelimit-remaining'], String(3 - attempt));
      assert.ok(Number(answer.headers['ratelimit-reset']) > 0);
    }
    const locked = await send(`${server.url}/v1/kv/c`, 'PUT', wrong, 'x');
    assert.equal(locked.status, 429);
    assert.equal(locked.headers['ratelimit-limit'], '3');
    assert.equal(locked.headers['ratelimit-remaining'], '0');
    assert.ok(Number(locked.headers['retry-after']) > 0);
    assert.equal(locked.headers['ratelimit-reset'], locked.headers['retry-after']);
  });
});
