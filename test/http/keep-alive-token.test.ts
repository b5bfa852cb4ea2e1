// The read fast path remembers, per keep-alive connection, who its token authenticated as
// (src/http/connection-callers.ts). A token revoked or expired between two reads on the same
// connection must be refused at once, as on a new connection, and a connection that changes its
// token must be judged by the new one: every read here goes over one kept-alive socket, and each
// answer is compared with the same read on a fresh connection.

import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { newToken, removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';

const admin = newToken();
const limited = newToken();
const WAIT_MS = 10_000;

interface Read {
  readonly status: number;
  readonly body: string;
  /** Whether the read went over a socket an earlier read used. */
  readonly reused: boolean;
}

function read(
  server: ServerProcess,
  agent: Agent | false,
  path: string,
  token: string | undefined,
  write?: { readonly body: string; readonly client?: string },
): Promise<Read> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    if (write?.client !== undefined) headers['x-kvs-client'] = write.client;
    const method = write === undefined ? 'GET' : 'PUT';
    const outgoing = httpRequest({ host: '127.0.0.1', port: server.port, path, method, headers, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode!, body, reused: outgoing.reusedSocket }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(write?.body);
  });
}

async function call(server: ServerProcess, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${admin}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

async function mint(
  server: ServerProcess,
  ttl?: number,
  scope: 'read' | 'write' = 'read',
): Promise<{ id: string; token: string }> {
  const response = await call(server, 'POST', '/v1/tokens', {
    label: 'tv',
    scope,
    prefixes: [],
    ...(ttl !== undefined && { ttl }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as { id: string; token: string };
}

describe('a keep-alive connection re-presenting its token', () => {
  let server: ServerProcess;
  // One socket for every read of a test: maxSockets 1, kept alive.
  let agent: Agent;
  before(async () => {
    // Wrong and expired tokens are part of the mix: keep the failure lock out of it.
    server = await startServer({
      tokenFileText: `${admin} admin\n${limited} read app/\n`,
      args: ['--auth-failures', '1000000'],
    });
    const put = await fetch(`${server.url}/v1/kv/k`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}` },
      body: 'value',
    });
    assert.equal(put.status, 201);
  });
  after(async () => {
    agent?.destroy();
    await server?.stop();
    if (server !== undefined) removeDir(server.dataDir);
  });

  /** The same read over the kept connection and over a fresh one: they must agree. */
  async function readBoth(path: string, token: string | undefined): Promise<Read> {
    const kept = await read(server, agent, path, token);
    const fresh = await read(server, false, path, token);
    assert.deepEqual({ status: kept.status, body: kept.body }, { status: fresh.status, body: fresh.body }, path);
    return kept;
  }

  it('a revoked token is refused on the connection that used it', async () => {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const minted = await mint(server);
    assert.equal((await readBoth('/v1/kv/k', minted.token)).status, 200);
    assert.equal((await readBoth('/v1/kv/k', minted.token)).status, 200);
    assert.equal((await call(server, 'DELETE', `/v1/tokens/${minted.id}`)).status, 204);
    const after = await readBoth('/v1/kv/k', minted.token);
    assert.equal(after.reused, true, 'the read after the revocation went over the same connection');
    assert.equal(after.status, 403);
    assert.match(after.body, /auth_invalid/);
    agent.destroy();
  });

  it('an expired token is refused on the connection that used it', async () => {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const minted = await mint(server, 1);
    const first = await read(server, agent, '/v1/kv/k', minted.token);
    assert.equal(first.status, 200);
    // Wait on other connections (they leave the kept one alone) until the token has expired.
    const deadline = Date.now() + WAIT_MS;
    for (let attempt = 0; attempt < 200 && Date.now() < deadline; attempt++) {
      if ((await read(server, false, '/v1/kv/k', minted.token)).status === 403) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const after = await readBoth('/v1/kv/k', minted.token);
    assert.equal(after.reused, true, 'the read after the expiry went over the same connection');
    assert.equal(after.status, 403);
    assert.match(after.body, /auth_invalid/);
    agent.destroy();
  });

  it('writes: a revoked token is refused on the connection that wrote with it, and nothing is stored', async () => {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const minted = await mint(server, undefined, 'write');
    assert.equal((await read(server, agent, '/v1/kv/w', minted.token, { body: 'one' })).status, 201);
    const second = await read(server, agent, '/v1/kv/w', minted.token, { body: 'two' });
    assert.equal(second.status, 200);
    assert.equal(second.reused, true);
    assert.equal((await call(server, 'DELETE', `/v1/tokens/${minted.id}`)).status, 204);
    const after = await read(server, agent, '/v1/kv/w', minted.token, { body: 'three' });
    assert.equal(after.reused, true, 'the write after the revocation went over the same connection');
    assert.equal(after.status, 403);
    assert.match(after.body, /auth_invalid/);
    assert.equal(await (await fetch(`${server.url}/v1/kv/w`)).text(), 'two');
    agent.destroy();
  });

  it('writes: each write on a kept connection is audited with the front end it names', async () => {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const minted = await mint(server, undefined, 'write');
    const writes = [undefined, 'ui', 'ui', undefined, 'import'] as const;
    for (const [index, client] of writes.entries()) {
      const written = await read(server, agent, '/v1/kv/via', minted.token, {
        body: `v${index}`,
        ...(client !== undefined && { client }),
      });
      assert.ok(written.status === 200 || written.status === 201, written.body);
      if (index > 0) assert.equal(written.reused, true);
    }
    const audit = await call(server, 'GET', `/v1/audit?key=via&token=${minted.id}`);
    assert.equal(audit.status, 200);
    const { entries } = (await audit.json()) as { entries: { via: string }[] };
    // Newest first.
    assert.deepEqual(
      entries.map((entry) => entry.via),
      ['import', 'v1', 'ui', 'ui', 'v1'],
    );
    agent.destroy();
  });

  it('a connection that changes its token is judged by the new one', async () => {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await readBoth('/v1/kv/k', admin)).status, 200);
    assert.equal((await readBoth('/v1/kv/k', 'wrong-token')).status, 403);
    assert.equal((await readBoth('/v1/kv/k', admin)).status, 200);
    assert.equal((await readBoth('/v1/kv/k', limited)).status, 200);
    const wrongAgain = await readBoth('/v1/kv/k', 'wrong-token');
    assert.equal(wrongAgain.status, 403);
    assert.equal(wrongAgain.reused, true);
    assert.equal((await readBoth('/v1/kv/k', undefined)).status, 200);
    agent.destroy();
  });
});
