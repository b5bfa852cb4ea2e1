// Minted tokens on etcd-backed servers (docs/tokens.md): a token minted through one server
// works on another of the same namespace, a revocation through one is refused by the other,
// and a server of another namespace never sees the token.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { newToken, removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';

const admin = newToken();
const WAIT_MS = 10_000;

function startKvs(cluster: EtcdCluster, prefix: string): Promise<ServerProcess> {
  return startServer({
    args: ['--store', cluster.storeUrl, '--etcd-prefix', prefix],
    tokenFileText: `${admin} admin\n`,
  });
}

async function status(server: ServerProcess, method: string, path: string, token: string, body?: string) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': body?.startsWith('{') ? 'application/json' : 'text/plain',
    },
    ...(body !== undefined && { body }),
  });
  return { status: response.status, text: await response.text() };
}

/** Polls until `probe` holds: another server learns of a change through its etcd watch. */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; attempt < 400; attempt++) {
    if (await probe()) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

if (etcdInstalled()) {
  describe('API tokens over one etcd', () => {
    let cluster: EtcdCluster;
    const servers: ServerProcess[] = [];
    const prefix = `tokens-${randomBytes(4).toString('hex')}/`;

    before(async () => {
      cluster = await startEtcdCluster({ size: 1 });
    });
    after(async () => {
      for (const server of servers) {
        await server.stop();
        removeDir(server.dataDir);
      }
      await cluster?.stop();
    });

    it('a mint and a revocation through one server reach the other; another namespace sees neither', async () => {
      const a = await startKvs(cluster, prefix);
      servers.push(a);
      const b = await startKvs(cluster, prefix);
      servers.push(b);
      const other = await startKvs(cluster, `elsewhere-${randomBytes(4).toString('hex')}/`);
      servers.push(other);

      const minted = await status(a, 'POST', '/v1/tokens', admin, JSON.stringify({ scope: 'write', prefixes: ['t/'] }));
      assert.equal(minted.status, 201, minted.text);
      const { id, token } = JSON.parse(minted.text) as { id: string; token: string };
      assert.equal((await status(a, 'PUT', '/v1/kv/t/a', token, 'v')).status, 201);
      await until(
        'server b accepts the token',
        async () => (await status(b, 'PUT', '/v1/kv/t/b', token, 'v')).status === 201,
      );
      assert.equal((await status(other, 'PUT', '/v1/kv/t/x', token, 'v')).status, 403, 'another namespace');
      const keys = JSON.parse((await status(a, 'GET', '/v1/kv', admin)).text) as { items: { key: string }[] };
      assert.deepEqual(
        keys.items.map((item) => item.key),
        ['t/a', 't/b'],
        'no token record among the keys',
      );

      assert.equal((await status(b, 'DELETE', `/v1/tokens/${id}`, admin)).status, 204);
      assert.equal((await status(b, 'PUT', '/v1/kv/t/b', token, 'v')).status, 403, 'refused at once where revoked');
      await until(
        'server a refuses the token',
        async () => (await status(a, 'PUT', '/v1/kv/t/a', token, 'v')).status === 403,
      );
    });
  });
} else {
  describe('API tokens over one etcd', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
