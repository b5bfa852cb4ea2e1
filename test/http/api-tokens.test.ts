// Tokens minted over the API (docs/tokens.md): mint, list, revoke; a prefix token confined to
// its prefixes on every route and RESP command; expiry; revocation at once for requests, open
// watch streams, RESP connections and every worker; secrets never on disk or in the logs.
// The generated part uses fast-check from a fixed seed; KVS_FUZZ_SEED replays another.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Principal } from '../../src/core/tokens.js';
import { requestOnNewConnection } from '../consistency/kv-http.js';
import { fuzzSeed } from '../fuzz/fuzz-options.js';
import { removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { openSse } from '../helpers/sse-client.js';
import { RespTestClient } from '../resp/resp-test-client.js';

const SEED = fuzzSeed(20261130);
const RUNS = 40;
const WAIT_MS = 10_000;

interface Minted {
  id: string;
  token: string;
  label: string;
  scope: string;
  prefixes: string[];
  created: string;
  expires: string | null;
  lastUsed: string | null;
}

const started: ServerProcess[] = [];
after(async () => {
  for (const server of started) {
    await server.stop();
    removeDir(server.dataDir);
  }
});

async function start(args: string[]): Promise<ServerProcess> {
  const server = await startServer({ args });
  started.push(server);
  return server;
}

function call(
  server: ServerProcess,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = typeof body === 'string' ? 'text/plain' : 'application/json';
  return fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

async function mint(server: ServerProcess, request: Record<string, unknown>): Promise<Minted> {
  const response = await call(server, 'POST', '/v1/tokens', server.token, request);
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return JSON.parse(text) as Minted;
}

async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error: { code: string } };
  return body.error.code;
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await probe()) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('API tokens', () => {
  let server: ServerProcess;
  before(async () => {
    server = await start(['--private', '--resp-port', '0', '--access-log']);
  });

  it('an admin mints, lists and revokes; others may not; the secret is shown once', async () => {
    const anonymous = await call(server, 'POST', '/v1/tokens', undefined, { scope: 'read' });
    assert.equal(anonymous.status, 401);
    const minted = await mint(server, { label: 'reader', scope: 'read', prefixes: ['tv/'], ttl: 3600 });
    assert.match(minted.token, /^kvs_[A-Za-z0-9_-]{43}$/);
    assert.match(minted.id, /^tok_[0-9a-f]{16}$/);
    assert.ok(!minted.token.includes(minted.id.slice(4)), 'the id is not derived from the secret');
    assert.deepEqual([minted.label, minted.scope, minted.prefixes, minted.lastUsed], ['reader', 'read', ['tv/'], null]);
    assert.ok(minted.expires !== null && Date.parse(minted.expires) > Date.now());

    // A write token and a prefix-limited admin token may not mint (docs/tokens.md).
    const writer = await mint(server, { label: 'writer', scope: 'write' });
    const narrowAdmin = await mint(server, { label: 'narrow admin', scope: 'admin', prefixes: ['tv/'] });
    for (const token of [writer.token, narrowAdmin.token, minted.token]) {
      const refused = await call(server, 'POST', '/v1/tokens', token, { scope: 'read', prefixes: ['tv/'] });
      assert.equal(refused.status, 403);
      assert.equal(await errorCode(refused), 'forbidden');
      assert.equal((await call(server, 'GET', '/v1/tokens', token)).status, 403);
    }

    assert.equal((await call(server, 'GET', '/v1/kv/tv/x', minted.token)).status, 404, 'the new token works');
    const listed = (await (await call(server, 'GET', '/v1/tokens', server.token)).json()) as { tokens: Minted[] };
    const entry = listed.tokens.find((token) => token.id === minted.id);
    assert.ok(entry !== undefined);
    assert.equal((entry as Partial<Minted>).token, undefined, 'a listing never shows the secret');
    assert.ok(!JSON.stringify(listed).includes(minted.token));
    assert.ok(entry.lastUsed !== null, 'the first use is recorded');

    assert.equal((await call(server, 'DELETE', `/v1/tokens/${minted.id}`, server.token)).status, 204);
    const after = await call(server, 'GET', '/v1/kv/tv/x', minted.token);
    assert.equal(after.status, 403);
    assert.equal(await errorCode(after), 'auth_invalid');
    const again = await call(server, 'DELETE', `/v1/tokens/${minted.id}`, server.token);
    assert.equal(again.status, 404);
    assert.equal(await errorCode(again), 'token_not_found');
    const relisted = (await (await call(server, 'GET', '/v1/tokens', server.token)).json()) as { tokens: Minted[] };
    assert.ok(!relisted.tokens.some((token) => token.id === minted.id));
  });

  it('the OpenAPI document describes the token routes', async () => {
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const path of ['/v1/tokens', '/v1/tokens/{id}']) assert.ok(path in openapi.paths, path);
  });

  it('refuses malformed and over-limit mint requests', async () => {
    const cases: [Record<string, unknown>, number][] = [
      [{ scope: 'root' }, 400],
      [{ scope: 'read', label: 'x'.repeat(101) }, 400],
      [{ scope: 'read', prefixes: Array.from({ length: 33 }, (_, i) => `p${i}/`) }, 400],
      [{ scope: 'read', prefixes: [''] }, 400],
      [{ scope: 'read', ttl: 0 }, 400],
      [{ scope: 'read', ttl: 10, expires: new Date(Date.now() + 60_000).toISOString() }, 400],
      [{ scope: 'read', expires: '2001-01-01T00:00:00Z' }, 400],
      [{ scope: 'read', secret: 'chosen' }, 400],
    ];
    for (const [body, status] of cases) {
      const response = await call(server, 'POST', '/v1/tokens', server.token, body);
      assert.equal(response.status, status, JSON.stringify(body));
    }
  });

  it('a prefix token reads and writes inside its prefix only, on every route and RESP command', async () => {
    await call(server, 'PUT', '/v1/kv/tv/in', server.token, 'inside');
    await call(server, 'PUT', '/v1/kv/secret/out', server.token, 'outside');
    const limited = await mint(server, { label: 'tv writer', scope: 'write', prefixes: ['tv/'] });
    const token = limited.token;

    assert.equal((await call(server, 'GET', '/v1/kv/tv/in', token)).status, 200);
    assert.equal((await call(server, 'PUT', '/v1/kv/tv/new', token, 'v')).status, 201);
    for (const [method, path, body] of [
      ['GET', '/v1/kv/secret/out', undefined],
      ['HEAD', '/v1/kv/secret/out', undefined],
      ['PUT', '/v1/kv/secret/out', 'overwritten'],
      ['DELETE', '/v1/kv/secret/out', undefined],
      ['GET', '/?k=secret/out', undefined],
      ['GET', '/?k=tv/in,secret/out', undefined],
      ['POST', '/v1/txn', { operations: [{ op: 'put', key: 'secret/out', value: 'x' }] }],
      ['POST', '/v1/txn', { checks: [{ key: 'secret/out', exists: true }] }],
      ['GET', '/v1/snapshot?at=1&prefix=secret/', undefined],
      ['GET', '/v1/snapshot?at=1', undefined],
      ['POST', '/v1/restore?to=1&prefix=secret/', undefined],
      ['POST', '/v1/restore?to=1', undefined],
    ] as const) {
      const response = await call(server, method, path, token, body);
      assert.equal(response.status, 403, `${method} ${path}`);
    }
    const listing = (await (await call(server, 'GET', '/v1/kv?prefix=', token)).json()) as { items: { key: string }[] };
    assert.ok(listing.items.length > 0);
    assert.ok(
      listing.items.every((item) => item.key.startsWith('tv/')),
      JSON.stringify(listing.items),
    );
    assert.equal(await call(server, 'GET', '/v1/kv/secret/out', server.token).then((r) => r.text()), 'outside');

    const stream = await openSse(`${server.url}/v1/watch`, { headers: { authorization: `Bearer ${token}` } });
    try {
      await call(server, 'PUT', '/v1/kv/secret/seen', server.token, 'x');
      await call(server, 'PUT', '/v1/kv/tv/seen', server.token, 'x');
      await stream.waitFor(() => stream.changes(['put']).length >= 1, WAIT_MS, 'the tv/ put');
      assert.deepEqual(
        stream.changes(['put']).map((event) => (JSON.parse(event.data) as { key: string }).key),
        ['tv/seen'],
      );
    } finally {
      stream.close();
    }

    const resp = await RespTestClient.connect(server.respPort!);
    try {
      assert.equal(await resp.do('AUTH', token), '+OK');
      assert.equal(await resp.do('GET', 'tv/in'), 'inside');
      assert.equal(await resp.do('SET', 'tv/resp', 'v'), '+OK');
      for (const command of [
        ['GET', 'secret/out'],
        ['SET', 'secret/out', 'x'],
        ['DEL', 'secret/out'],
        ['MGET', 'tv/in', 'secret/out'],
      ]) {
        assert.match(String(await resp.do(...command)), /^-NOPERM/, command.join(' '));
      }
      const keys = (await resp.do('KEYS', '*')) as string[];
      assert.ok(keys.length > 0 && keys.every((key) => key.startsWith('tv/')), JSON.stringify(keys));
      const scanned = (await resp.do('SCAN', '0', 'COUNT', '1000')) as [string, string[]];
      assert.ok(
        scanned[1].every((key) => key.startsWith('tv/')),
        JSON.stringify(scanned),
      );
    } finally {
      resp.send('QUIT');
    }
  });

  it(`generated prefixes and keys: a minted token may write exactly where Principal.allows says (seed ${SEED})`, async () => {
    const segment = fc.constantFrom('a', 'b', 'ab', 'é', '/', '', 'x/');
    const prefix = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('') || 'a');
    const key = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('') || 'b');
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(prefix, { minLength: 1, maxLength: 3 }),
        fc.array(key, { minLength: 1, maxLength: 4 }),
        async (prefixes, keys) => {
          const minted = await mint(server, { scope: 'write', prefixes });
          try {
            const model = new Principal({ scope: 'write', prefixes, label: 'model' });
            for (const candidate of keys) {
              const path = `/v1/kv/${encodeURIComponent(candidate)}`;
              const put = await call(server, 'PUT', path, minted.token, 'v');
              await put.arrayBuffer();
              const read = await call(server, 'GET', path, minted.token);
              await read.arrayBuffer();
              const allowed = model.allows('write', candidate);
              assert.equal(put.status === 403, !allowed, `PUT ${candidate} with ${JSON.stringify(prefixes)}`);
              assert.equal(read.status === 403, !allowed, `GET ${candidate} with ${JSON.stringify(prefixes)}`);
            }
          } finally {
            await call(server, 'DELETE', `/v1/tokens/${minted.id}`, server.token);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
    );
  });

  it('an expired token is refused', async () => {
    const minted = await mint(server, { scope: 'read', expires: new Date(Date.now() + 1500).toISOString() });
    assert.notEqual((await call(server, 'GET', '/v1/kv/tv/in', minted.token)).status, 403);
    await until('the token has expired', async () => {
      const response = await call(server, 'GET', '/v1/kv/tv/in', minted.token);
      await response.arrayBuffer();
      return response.status === 403;
    });
    assert.ok(Date.now() >= Date.parse(minted.expires!), 'refused only from its expiry on');
  });

  it('a revocation ends an open watch stream with a coded end event and refuses the next RESP command', async () => {
    const minted = await mint(server, { scope: 'write', prefixes: ['tv/'] });
    const stream = await openSse(`${server.url}/v1/watch?prefix=tv/`, {
      headers: { authorization: `Bearer ${minted.token}` },
    });
    const resp = await RespTestClient.connect(server.respPort!);
    try {
      assert.equal(await resp.do('AUTH', minted.token), '+OK');
      assert.equal(await resp.do('SET', 'tv/before', 'v'), '+OK');
      await stream.waitFor(() => stream.changes(['put']).length >= 1, WAIT_MS, 'the put before revocation');

      assert.equal((await call(server, 'DELETE', `/v1/tokens/${minted.id}`, server.token)).status, 204);
      await stream.waitFor(() => stream.changes(['end']).length === 1, WAIT_MS, 'the end event');
      assert.equal((JSON.parse(stream.changes(['end'])[0]!.data) as { reason: string }).reason, 'revoked');
      await stream.waitClosed(WAIT_MS);

      assert.match(String(await resp.do('GET', 'tv/before')), /^-WRONGPASS .*revoked/);
      // The session is anonymous now: on this --private server, nothing but AUTH works.
      assert.match(String(await resp.do('GET', 'tv/before')), /^-NOAUTH/);
      assert.equal(await resp.do('AUTH', server.token), '+OK', 'another token may authenticate again');
      assert.equal(await resp.do('GET', 'tv/before'), 'v');
    } finally {
      stream.close();
      resp.send('QUIT');
    }
  });

  it('no minted secret is stored on disk or written to the log', async () => {
    const minted = await mint(server, { label: 'to forget', scope: 'write', prefixes: ['tv/'] });
    assert.equal((await call(server, 'PUT', '/v1/kv/tv/used', minted.token, 'v')).status, 201);
    assert.equal((await call(server, 'GET', '/v1/kv/tv/used', minted.token)).status, 200);
    assert.equal((await call(server, 'DELETE', `/v1/tokens/${minted.id}`, server.token)).status, 204);
    assert.equal((await call(server, 'GET', '/v1/kv/tv/used', minted.token)).status, 403);
    const secretPart = minted.token.slice(4);
    for (const file of filesUnder(server.dataDir)) {
      const bytes = readFileSync(file);
      assert.ok(!bytes.includes(secretPart), `${file} holds the secret`);
      assert.ok(!bytes.includes(Buffer.from(secretPart, 'base64url')), `${file} holds the secret's bytes`);
    }
    assert.ok(server.output().includes(minted.id) || server.output().includes('"status"'), 'the log has lines');
    assert.ok(!server.output().includes(secretPart), 'the log holds the secret');
  });
});

describe('token file lines holding a hash', () => {
  it('a `sha256:<hex>` line authenticates its token, and no other', async () => {
    const secret = `file-secret-${Date.now()}`;
    const hex = createHash('sha256').update(secret, 'utf8').digest('hex');
    const server = await startServer({ tokenFileText: `# hashed\nsha256:${hex} write tv/\n` });
    started.push(server);
    assert.equal((await call(server, 'PUT', '/v1/kv/tv/h', secret, 'v')).status, 201);
    assert.equal((await call(server, 'PUT', '/v1/kv/other', secret, 'v')).status, 403);
    const byHash = await call(server, 'PUT', '/v1/kv/tv/h', `sha256:${hex}`, 'v');
    assert.equal(byHash.status, 403, 'the hash itself is not a token');
    assert.equal(await errorCode(byHash), 'auth_invalid');
  });
});

describe('API tokens with --workers 2', () => {
  it('a revocation made through one worker is refused by every worker at once', async () => {
    const server = await start(['--workers', '2']);
    const minted = await mint(server, { scope: 'write', prefixes: ['w/'] });
    const headers = { authorization: `Bearer ${minted.token}` };
    for (let attempt = 0; attempt < 10; attempt++) {
      const response = await requestOnNewConnection('GET', `${server.url}/v1/kv/w/none`, { headers });
      assert.equal(response.status, 404, `fresh connection ${attempt} before revocation`);
    }
    const revoked = await requestOnNewConnection('DELETE', `${server.url}/v1/tokens/${minted.id}`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(revoked.status, 204);
    for (let attempt = 0; attempt < 20; attempt++) {
      const response = await requestOnNewConnection('PUT', `${server.url}/v1/kv/w/after`, {
        headers,
        body: 'v',
      });
      assert.equal(response.status, 403, `fresh connection ${attempt} after revocation: ${response.body}`);
    }
  });
});

describe('API tokens on a server with public reads', () => {
  it("a revoked token's next RESP GET is refused, then the connection reads as anyone may", async () => {
    const server = await start(['--resp-port', '0']);
    const minted = await mint(server, { scope: 'read', prefixes: ['tv/'] });
    assert.equal((await call(server, 'PUT', '/v1/kv/tv/pos', server.token, '42')).status, 201);
    const resp = await RespTestClient.connect(server.respPort!);
    try {
      assert.equal(await resp.do('AUTH', minted.token), '+OK');
      assert.equal(await resp.do('GET', 'tv/pos'), '42');
      assert.equal((await call(server, 'DELETE', `/v1/tokens/${minted.id}`, server.token)).status, 204);
      // GET's fast path answers public reads; a token that is no longer live must still be
      // refused once, as every other command refuses it (docs/tokens.md).
      assert.match(String(await resp.do('GET', 'tv/pos')), /^-WRONGPASS .*revoked/);
      assert.equal(await resp.do('GET', 'tv/pos'), '42', 'anonymous now, and reads are public');
    } finally {
      resp.close();
    }
  });
});
