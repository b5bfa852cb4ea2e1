// Two kvs processes over one real etcd (`kvs serve --store etcd://...`): each sees the other's
// writes at once, a watch on one sees writes made through the other, CAS, transactions, the
// seed's most-recent-of-list and TTL (etcd leases) work across them, and a third process on
// another prefix shares nothing with them.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { newToken, removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { changeData, openSse, type SseStream } from '../helpers/sse-client.js';

const token = newToken();
const auth = { authorization: `Bearer ${token}` };
const WAIT_MS = 20_000;

interface KvAnswer {
  readonly key: string;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
}

async function put(
  server: ServerProcess,
  key: string,
  value: string,
  headers: Record<string, string> = {},
  query = '',
): Promise<{ status: number; body: KvAnswer & { error?: { code: string } } }> {
  const response = await fetch(`${server.url}/v1/kv/${key}${query}`, {
    method: 'PUT',
    body: value,
    headers: { ...auth, ...headers },
  });
  return { status: response.status, body: (await response.json()) as KvAnswer & { error?: { code: string } } };
}

async function get(
  server: ServerProcess,
  key: string,
): Promise<{ status: number; text: string; version: string | null }> {
  const response = await fetch(`${server.url}/v1/kv/${key}`);
  return { status: response.status, text: await response.text(), version: response.headers.get('kvs-version') };
}

async function revisionOf(server: ServerProcess): Promise<number> {
  const listing = (await (await fetch(`${server.url}/v1/kv?limit=1`)).json()) as { revision: number };
  return listing.revision;
}

function startKvs(cluster: EtcdCluster, prefix: string): Promise<ServerProcess> {
  return startServer({
    args: ['--store', cluster.storeUrl, '--etcd-prefix', prefix],
    tokenFileText: `${token} admin\n`,
  });
}

if (etcdInstalled()) {
  describe('several kvs processes over one etcd', () => {
    let cluster: EtcdCluster;
    let a: ServerProcess;
    let b: ServerProcess;
    const servers: ServerProcess[] = [];
    const streams: SseStream[] = [];
    const prefix = `multi-${randomBytes(4).toString('hex')}/`;

    before(async () => {
      cluster = await startEtcdCluster({ size: 1 });
      a = await startKvs(cluster, prefix);
      servers.push(a);
      b = await startKvs(cluster, prefix);
      servers.push(b);
    });

    after(async () => {
      for (const stream of streams) stream.close();
      for (const server of servers) {
        await server.stop();
        removeDir(server.dataDir);
      }
      await cluster?.stop();
    });

    it('a write through one process is read at once through the other', async () => {
      for (let round = 0; round < 100; round++) {
        const [writer, reader] = round % 2 === 0 ? [a, b] : [b, a];
        const value = `value ${round} ${randomBytes(6).toString('hex')}`;
        const written = await put(writer, 'raw/key', value);
        assert.equal(written.status, round === 0 ? 201 : 200);
        assert.equal(written.body.version, round + 1);
        const read = await get(reader, 'raw/key');
        assert.equal(read.status, 200);
        assert.equal(read.text, value, `round ${round}: the other process returned an older value`);
        assert.equal(read.version, String(round + 1));
      }
      const deleted = await fetch(`${a.url}/v1/kv/raw/key`, { method: 'DELETE', headers: auth });
      assert.equal(deleted.status, 200);
      assert.equal((await get(b, 'raw/key')).status, 404);
    });

    it('compare-and-swap across processes: of two writers with the same If-Match exactly one wins', async () => {
      const created = await put(a, 'cas/key', 'v0');
      let version = created.body.version;
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all(
          [a, b].map((server, index) =>
            put(server, 'cas/key', `round ${round} by ${index}`, { 'if-match': `"${version}"` }),
          ),
        );
        const statuses = results.map((result) => result.status).sort();
        assert.deepEqual(statuses, [200, 412], `round ${round}: ${JSON.stringify(results)}`);
        const winner = results.find((result) => result.status === 200)!;
        version = winner.body.version;
        assert.equal((await get(b, 'cas/key')).version, String(version));
      }
    });

    it("a transaction through one process is atomic for the other; its checks see the other's writes", async () => {
      const first = await put(a, 'txn/x', '1');
      const txn = async (server: ServerProcess, body: unknown) => {
        const response = await fetch(`${server.url}/v1/txn`, {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { ...auth, 'content-type': 'application/json' },
        });
        return {
          status: response.status,
          body: (await response.json()) as { revision?: number; error?: { code: string } },
        };
      };
      const ok = await txn(b, {
        checks: [
          { key: 'txn/x', version: first.body.version },
          { key: 'txn/y', absent: true },
        ],
        operations: [
          { op: 'put', key: 'txn/x', value: '2' },
          { op: 'put', key: 'txn/y', value: '1' },
        ],
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const [x, y] = await Promise.all([get(a, 'txn/x'), get(a, 'txn/y')]);
      assert.deepEqual([x.text, y.text], ['2', '1']);
      const stale = await txn(a, {
        checks: [{ key: 'txn/x', version: first.body.version }],
        operations: [{ op: 'put', key: 'txn/z', value: 'no' }],
      });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.error?.code, 'txn_check_failed');
      assert.equal((await get(b, 'txn/z')).status, 404);
    });

    it('a watch on one process sees the writes made through the other, in revision order, each once', async () => {
      // Start from an explicit revision: a watch without `since` starts at whatever revision the
      // server reads after it has already sent the response headers.
      const start = await revisionOf(b);
      const stream = await openSse(`${b.url}/v1/watch?prefix=watch/&since=${start}`);
      streams.push(stream);
      const revisions: number[] = [];
      for (let index = 0; index < 40; index++) {
        const writer = index % 4 === 3 ? b : a;
        const written = await put(writer, `watch/${index}`, `w${index}`);
        assert.ok(written.status === 201, JSON.stringify(written.body));
        revisions.push(written.body.modRevision);
      }
      await stream.waitFor(() => stream.changes().length >= 40, WAIT_MS, '40 change events');
      const changes = stream.changes().map(changeData);
      assert.deepEqual(
        changes.map((change) => change.key),
        Array.from({ length: 40 }, (_, index) => `watch/${index}`),
      );
      assert.deepEqual(
        changes.map((change) => change.revision),
        revisions,
      );
      assert.ok(changes.every((change) => change.type === 'put' && change.version === 1));

      // Resuming on the other process from the 10th event's id replays the rest exactly.
      const resumed = await openSse(`${a.url}/v1/watch?prefix=watch/`, { lastEventId: String(revisions[9]) });
      streams.push(resumed);
      await resumed.waitFor(() => resumed.changes().length >= 30, WAIT_MS, '30 replayed events');
      assert.deepEqual(
        resumed.changes().map((event) => changeData(event).revision),
        revisions.slice(10),
      );
    });

    it("the seed's most-recent-of-list picks the key written last, whichever process wrote it", async () => {
      const seedGet = async (server: ServerProcess) => {
        const response = await fetch(`${server.url}/?k=seed/k1,seed/k2,seed/none`);
        return { key: response.headers.get('kvs-key'), text: await response.text() };
      };
      await put(a, 'seed/k1', 'one');
      await put(b, 'seed/k2', 'two');
      assert.deepEqual(await seedGet(a), { key: 'seed/k2', text: 'two' });
      const form = await fetch(`${b.url}/`, {
        method: 'POST',
        body: `seed/k1=uno&auth=${token}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(form.status, 200);
      assert.deepEqual(await seedGet(a), { key: 'seed/k1', text: 'uno' });
      assert.deepEqual(await seedGet(b), { key: 'seed/k1', text: 'uno' });
    });

    it('TTL: the key disappears from both processes and its lease deletion is an expire event', async () => {
      const stream = await openSse(`${a.url}/v1/watch?prefix=ttl/&since=${await revisionOf(a)}`);
      streams.push(stream);
      const written = await put(b, 'ttl/session', 'short-lived', {}, '?ttl=1');
      assert.equal(written.status, 201);
      await stream.waitFor(
        () => stream.changes().some((event) => changeData(event).type === 'expire'),
        WAIT_MS,
        'the expire event of ttl/session',
      );
      const changes = stream.changes().map(changeData);
      assert.deepEqual(
        changes.map((change) => [change.type, change.key]),
        [
          ['put', 'ttl/session'],
          ['expire', 'ttl/session'],
        ],
      );
      assert.ok(changes[1]!.revision > written.body.modRevision);
      assert.equal((await get(a, 'ttl/session')).status, 404);
      assert.equal((await get(b, 'ttl/session')).status, 404);
      const listing = (await (await fetch(`${a.url}/v1/kv?prefix=ttl/`)).json()) as { items: unknown[] };
      assert.deepEqual(listing.items, []);
    });

    it('a process on another prefix of the same etcd shares no keys with them', async () => {
      const other = await startKvs(cluster, `other-${randomBytes(4).toString('hex')}/`);
      servers.push(other);
      await put(a, 'shared/probe', 'here');
      assert.equal((await get(other, 'shared/probe')).status, 404);
      const listing = (await (await fetch(`${other.url}/v1/kv`)).json()) as { items: unknown[] };
      assert.deepEqual(listing.items, []);
      await put(other, 'shared/probe', 'elsewhere');
      assert.equal((await get(a, 'shared/probe')).text, 'here');
      assert.equal((await get(other, 'shared/probe')).text, 'elsewhere');
    });
  });
} else {
  describe('several kvs processes over one etcd', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
