// The HTTP write fast path (src/http/write-fast-path.ts): which PUTs it takes, and that what it
// answers is byte for byte what the Fastify route answers (the route stays the reference).

import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import { defaultLimits } from '../../src/core/limits.js';
import { KvService } from '../../src/core/service.js';
import { parseTokenFile, TokenStore } from '../../src/core/tokens.js';
import { createWriteFastPath } from '../../src/http/write-fast-path.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';
import { newToken } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

const admin = newToken();
const reader = newToken();
const limited = newToken();
const tokenFileText = `${admin} admin\n${reader} read\n${limited} write app/\n`;
const MAX_VALUE = 64;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

interface Put {
  readonly path: string;
  readonly body?: Buffer | string;
  readonly headers?: Record<string, string>;
  /** Send the body chunked (no Content-Length). */
  readonly chunked?: boolean;
}

/** One PUT over a raw node:http request, so headers are sent exactly as given. */
function put(port: number, { path, body = '', headers = {}, chunked = false }: Put): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const sent: Record<string, string> = { ...headers };
    if (!chunked) sent['content-length'] = String(payload.length);
    const outgoing = httpRequest({ host: '127.0.0.1', port, method: 'PUT', path, headers: sent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') flat[name] = value;
        resolve({ status: response.statusCode!, headers: flat, body: Buffer.concat(chunks) });
      });
    });
    outgoing.on('error', reject);
    if (chunked) outgoing.write(payload);
    outgoing.end(chunked ? undefined : payload);
  });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const allBytes = Buffer.from(Array.from({ length: 64 }, (_, index) => (index * 37) % 256));

describe('write fast path: which PUTs it takes', () => {
  const DECLINED = 599;
  let server: Server;
  let port: number;
  before(async () => {
    const service = new KvService(new MemoryEngine({ logLength: 100, logValueMax: 64 }), {
      limits: { ...defaultLimits, maxValueBytes: MAX_VALUE },
      privateReads: false,
      tokens: new TokenStore(parseTokenFile(tokenFileText)),
      authLimiter: new AuthFailureLimiter(10, 60_000),
    });
    const fastPath = createWriteFastPath(service, () => undefined);
    server = createServer((request, response) => {
      if (fastPath(request, response, performance.now())) return;
      request.resume();
      response.writeHead(DECLINED).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('takes a plain PUT with a valid token that may write the key', async () => {
    assert.equal((await put(port, { path: '/v1/kv/plain', body: 'v', headers: bearer(admin) })).status, 201);
    assert.equal(
      (
        await put(port, {
          path: '/v1/kv/plain',
          body: 'w',
          headers: { ...bearer(admin), 'content-type': 'text/plain; charset="utf-8"' },
        })
      ).status,
      200,
    );
    assert.equal(
      (await put(port, { path: '/v1/kv/app/x', body: 'v', headers: { authorization: limited } })).status,
      201,
    );
  });

  it('leaves everything else to the Fastify route', async () => {
    const declined: [string, Put][] = [
      ['query string', { path: '/v1/kv/k?ttl=5', headers: bearer(admin) }],
      ['If-Match', { path: '/v1/kv/k', headers: { ...bearer(admin), 'if-match': '"1"' } }],
      ['If-None-Match', { path: '/v1/kv/k', headers: { ...bearer(admin), 'if-none-match': '*' } }],
      ['chunked body', { path: '/v1/kv/k', body: 'v', headers: bearer(admin), chunked: true }],
      ['value over maxValueBytes', { path: '/v1/kv/k', body: 'x'.repeat(MAX_VALUE + 1), headers: bearer(admin) }],
      ['malformed content type', { path: '/v1/kv/k', headers: { ...bearer(admin), 'content-type': 'not a type' } }],
      ['no token', { path: '/v1/kv/k' }],
      ['unknown token', { path: '/v1/kv/k', headers: bearer('wrong') }],
      ['read-only token', { path: '/v1/kv/k', headers: bearer(reader) }],
      ['key outside the token prefixes', { path: '/v1/kv/other', headers: bearer(limited) }],
      ['bad percent-encoding', { path: '/v1/kv/%E0%A4%A', headers: bearer(admin) }],
      ['other routes', { path: '/v1/txn', headers: bearer(admin) }],
    ];
    for (const [what, request] of declined) assert.equal((await put(port, request)).status, DECLINED, what);
  });
});

describe('write fast path answers exactly as the Fastify route', () => {
  const args = ['--max-value-bytes', String(MAX_VALUE)];
  const fast = useServer({ tokenFileText, args });
  // --fast-paths off: every request goes through Fastify.
  const routed = useServer({ tokenFileText, args: [...args, '--fast-paths', 'off'] });

  /** What must be equal: the status, the body (times aside) and every header but the clock's. */
  function comparable(answer: Answer): unknown {
    const headers = { ...answer.headers };
    for (const name of ['date', 'last-modified', 'connection', 'keep-alive']) delete headers[name];
    // Seconds left in the auth-failure window: each server has its own clock's window.
    for (const name of ['ratelimit-reset', 'retry-after'])
      if (typeof headers[name] === 'string' && /^\d+$/.test(headers[name] as string)) headers[name] = '(seconds)';
    const body = answer.body.toString('utf8').replace(/"updated":"[^"]+"/, '"updated":"T"');
    return { status: answer.status, headers, body };
  }

  it('for every kind of PUT, success or error, in the same order on both servers', async () => {
    const cases: [string, Put][] = [
      [
        'create',
        { path: '/v1/kv/greeting', body: 'hello', headers: { ...bearer(admin), 'content-type': 'text/plain' } },
      ],
      ['overwrite, no content type', { path: '/v1/kv/greeting', body: 'hello again', headers: bearer(admin) }],
      ['empty value', { path: '/v1/kv/empty', headers: bearer(admin) }],
      [
        'binary value',
        {
          path: '/v1/kv/bin',
          body: allBytes,
          headers: { ...bearer(admin), 'content-type': 'application/octet-stream' },
        },
      ],
      [
        'content type with parameters',
        {
          path: '/v1/kv/typed',
          body: 'x',
          headers: { ...bearer(admin), 'content-type': 'text/plain; charset="utf-8"' },
        },
      ],
      [
        'content type too long',
        { path: '/v1/kv/typed', body: 'x', headers: { ...bearer(admin), 'content-type': `text/${'x'.repeat(300)}` } },
      ],
      ['key with slash and UTF-8', { path: '/v1/kv/caf%C3%A9%2Fmenu', body: 'v', headers: bearer(admin) }],
      ['key too long', { path: `/v1/kv/${'k'.repeat(1025)}`, body: 'v', headers: bearer(admin) }],
      ['empty key', { path: '/v1/kv/', body: 'v', headers: bearer(admin) }],
      ['lone surrogate', { path: '/v1/kv/%ED%A0%80', body: 'v', headers: bearer(admin) }],
      ['value too large', { path: '/v1/kv/big', body: 'x'.repeat(MAX_VALUE + 1), headers: bearer(admin) }],
      ['read-only token', { path: '/v1/kv/greeting', body: 'v', headers: bearer(reader) }],
      ['prefix-limited token inside', { path: '/v1/kv/app/name', body: 'v', headers: bearer(limited) }],
      ['prefix-limited token outside', { path: '/v1/kv/name', body: 'v', headers: bearer(limited) }],
      ['no token', { path: '/v1/kv/greeting', body: 'v' }],
      ['overwrite after errors', { path: '/v1/kv/greeting', body: 'third', headers: bearer(admin) }],
    ];
    for (const [what, request] of cases) {
      const [viaFastPath, viaRoute] = [await put(fast.port, request), await put(routed.port, request)];
      assert.deepEqual(comparable(viaFastPath), comparable(viaRoute), what);
    }
    const stored = await fetch(`${fast.url}/v1/kv/greeting`);
    assert.equal(await stored.text(), 'third');
    assert.equal(stored.headers.get('kvs-version'), '3');
  });
});
