// kvs over an etcd that requires TLS client certificates (etcds:// with --etcd-ca, --etcd-cert,
// --etcd-key), and over an etcd with authentication on (--etcd-user, --etcd-password), where
// the kvs user may only touch its own prefix.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Etcd3, Range } from 'etcd3';
import { EngineUnavailableError } from '../../src/storage/errors.js';
import { openEtcdEngine } from '../../src/storage/etcd/etcd-engine.js';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { newToken, removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { makeTestCerts, type TestCerts } from './test-certs.js';

const token = newToken();
const auth = { authorization: `Bearer ${token}` };

async function roundTrip(server: ServerProcess, key: string): Promise<void> {
  const value = `value-${randomBytes(4).toString('hex')}`;
  const written = await fetch(`${server.url}/v1/kv/${key}`, { method: 'PUT', body: value, headers: auth });
  assert.equal(written.status, 201, await written.text());
  const read = await fetch(`${server.url}/v1/kv/${key}`);
  assert.equal(await read.text(), value);
  const ttl = await fetch(`${server.url}/v1/kv/${key}-ttl?ttl=60`, { method: 'PUT', body: value, headers: auth });
  assert.equal(ttl.status, 201, await ttl.text());
}

if (etcdInstalled()) {
  describe('etcd over TLS with client certificates', () => {
    let certs: TestCerts;
    let cluster: EtcdCluster;
    const servers: ServerProcess[] = [];

    before(async () => {
      certs = makeTestCerts();
      cluster = await startEtcdCluster({ size: 1, tls: certs });
    });

    after(async () => {
      for (const server of servers) {
        await server.stop();
        removeDir(server.dataDir);
      }
      await cluster?.stop();
      if (certs) rmSync(certs.dir, { recursive: true, force: true });
    });

    it('kvs works over etcds:// with the CA, a client certificate and its key', async () => {
      assert.match(cluster.storeUrl, /^etcds:\/\//);
      const server = await startServer({
        args: [
          '--store',
          cluster.storeUrl,
          '--etcd-prefix',
          'tls/',
          '--etcd-ca',
          certs.caFile,
          '--etcd-cert',
          certs.clientCertFile,
          '--etcd-key',
          certs.clientKeyFile,
        ],
        tokenFileText: `${token} admin\n`,
      });
      servers.push(server);
      await roundTrip(server, 'over/tls');
    });

    it('without a client certificate kvs does not start, and says why', async () => {
      await assert.rejects(
        startServer({
          args: ['--store', cluster.storeUrl, '--etcd-prefix', 'tls/', '--etcd-ca', certs.caFile],
          tokenFileText: `${token} admin\n`,
        }),
        (error: unknown) => {
          assert.match(String(error), /exited/);
          assert.match(String(error), /etcd/);
          return true;
        },
      );
    });

    it('TLS files with a plain etcd:// endpoint are a configuration error', async () => {
      await assert.rejects(
        startServer({
          args: ['--store', cluster.storeUrl.replace('etcds://', 'etcd://'), '--etcd-ca', certs.caFile],
          tokenFileText: `${token} admin\n`,
        }),
        /need TLS endpoints: use etcds:/,
      );
    });
  });

  describe('etcd with authentication', () => {
    let cluster: EtcdCluster;
    const servers: ServerProcess[] = [];
    const prefix = 'authed/';

    before(async () => {
      cluster = await startEtcdCluster({ size: 1 });
      const admin = new Etcd3({ hosts: [...cluster.endpoints] });
      try {
        await admin.user('root').create('root-password');
        await admin.user('root').addRole('root');
        await admin.role('kvs-namespace').create();
        await admin.role('kvs-namespace').grant({ permission: 'Readwrite', range: Range.prefix(prefix) });
        await admin.user('kvs').create('kvs-password');
        await admin.user('kvs').addRole('kvs-namespace');
        await admin.role('elsewhere').create();
        await admin.role('elsewhere').grant({ permission: 'Readwrite', range: Range.prefix('elsewhere/') });
        await admin.user('outsider').create('outsider-password');
        await admin.user('outsider').addRole('elsewhere');
        await admin.auth.authEnable();
      } finally {
        admin.close();
      }
    });

    after(async () => {
      for (const server of servers) {
        await server.stop();
        removeDir(server.dataDir);
      }
      await cluster?.stop();
    });

    const store = (username: string, password: string) => ({
      kind: 'etcd' as const,
      endpoints: [...cluster.endpoints],
      prefix,
      username,
      password,
    });

    it('kvs works as an etcd user whose role covers only its prefix', async () => {
      const server = await startServer({
        args: [
          '--store',
          cluster.storeUrl,
          '--etcd-prefix',
          prefix,
          '--etcd-user',
          'kvs',
          '--etcd-password',
          'kvs-password',
        ],
        tokenFileText: `${token} admin\n`,
      });
      servers.push(server);
      await roundTrip(server, 'as/user');
      const listing = (await (await fetch(`${server.url}/v1/kv?prefix=as/`)).json()) as { items: { key: string }[] };
      assert.deepEqual(
        listing.items.map((item) => item.key),
        ['as/user', 'as/user-ttl'],
      );
    });

    it('a wrong password is EngineUnavailableError naming the credentials', async () => {
      await assert.rejects(
        openEtcdEngine(store('kvs', 'wrong'), { logValueMax: 0, log: () => undefined }),
        (error: unknown) => {
          assert.ok(error instanceof EngineUnavailableError, String(error));
          assert.match(error.message, /credentials/);
          return true;
        },
      );
    });

    it('a user without rights on the prefix is EngineUnavailableError naming the denial', async () => {
      await assert.rejects(
        openEtcdEngine(store('outsider', 'outsider-password'), { logValueMax: 0, log: () => undefined }),
        (error: unknown) => {
          assert.ok(error instanceof EngineUnavailableError, String(error));
          assert.match(error.message, /denied/);
          return true;
        },
      );
    });
  });
} else {
  describe('etcd over TLS and with authentication', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
