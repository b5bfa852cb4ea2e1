// kvs on etcd serves concurrent GETs with fewer etcd calls than GETs
// (src/storage/etcd/read-batcher.ts), and stays linearizable while doing so: one writer puts 1,
// 2, 3, ... into a key and reads it back after each acknowledgement, while readers keep reads
// of that key on their way all the time; no read may answer a value older than a write
// acknowledged before the read was sent. A read that joined a read already sent to etcd would
// break exactly that: on a 3-member cluster, whose members answer reads at different speeds,
// such a batcher failed this test in each of three runs (one or more stale reads per run).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { newToken, removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';

const token = newToken();
const WRITES = 250;
const READERS = 16;
/** Bound on the whole workload, so that a hang fails instead of waiting forever. */
const WORKLOAD_MS = 60_000;
/** Writes the run needs at least for its reads to have raced them. */
const MIN_WRITES = 10;

/** etcd's count of answered KV Range and Txn calls, all members (their Prometheus /metrics). */
async function etcdReadCalls(cluster: EtcdCluster): Promise<{ range: number; txn: number }> {
  const texts = await Promise.all(
    cluster.endpoints.map(async (endpoint) => (await fetch(`${endpoint}/metrics`)).text()),
  );
  const text = texts.join('\n');
  const sum = (method: string) => {
    let total = 0;
    const pattern = /^grpc_server_handled_total\{([^}]*)\} (\S+)$/gm;
    for (const match of text.matchAll(pattern)) {
      const labels = match[1]!;
      if (labels.includes('grpc_service="etcdserverpb.KV"') && labels.includes(`grpc_method="${method}"`))
        total += Number(match[2]);
    }
    return total;
  };
  return { range: sum('Range'), txn: sum('Txn') };
}

async function getValue(server: ServerProcess, key: string): Promise<number> {
  const response = await fetch(`${server.url}/v1/kv/${key}`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return Number(text);
}

if (etcdInstalled()) {
  describe('kvs on etcd: concurrent reads share etcd calls', () => {
    let cluster: EtcdCluster;
    let server: ServerProcess;

    before(async () => {
      cluster = await startEtcdCluster({ size: 3 });
      server = await startServer({
        args: ['--store', cluster.storeUrl, '--etcd-prefix', `batch-${randomBytes(4).toString('hex')}/`],
        tokenFileText: `${token} admin\n`,
      });
    });

    after(async () => {
      if (server !== undefined) {
        await server.stop();
        removeDir(server.dataDir);
      }
      await cluster?.stop();
    });

    it('no read answers a value older than a write acknowledged before it was sent; fewer etcd calls than GETs', async (t) => {
      const key = 'counter';
      const put = async (value: number) => {
        const response = await fetch(`${server.url}/v1/kv/${key}`, {
          method: 'PUT',
          body: String(value),
          headers: { authorization: `Bearer ${token}` },
        });
        assert.ok(response.ok, await response.text());
      };
      await put(0);
      const before = await etcdReadCalls(cluster);
      const deadline = Date.now() + WORKLOAD_MS;
      /** The highest value whose PUT has been acknowledged. */
      let acknowledged = 0;
      let writing = true;
      let gets = 0;
      const stale: string[] = [];
      const read = async (who: string) => {
        const floor = acknowledged;
        const value = await getValue(server, key);
        gets++;
        if (value < floor) stale.push(`${who} read ${value} after ${floor} was acknowledged`);
      };
      const writer = async () => {
        try {
          for (let value = 1; value <= WRITES && Date.now() < deadline; value++) {
            await put(value);
            acknowledged = value;
            await read('the writer');
          }
        } finally {
          writing = false;
        }
      };
      const reader = async (index: number) => {
        while (writing && Date.now() < deadline) await read(`reader ${index}`);
      };
      await Promise.all([writer(), ...Array.from({ length: READERS }, (_, index) => reader(index))]);
      const calls = await etcdReadCalls(cluster);
      const etcdReads = calls.range - before.range + (calls.txn - before.txn);
      t.diagnostic(`${gets} GETs, ${etcdReads} etcd Range/Txn calls (including the ${WRITES} PUTs' transactions)`);

      // The deadline only bounds the run: how many writes fit in it is the machine's speed (with
      // per-key history each etcd write is two transactions), not what this test checks.
      assert.ok(
        acknowledged >= MIN_WRITES,
        `${acknowledged} writes acknowledged: too few to interleave with the reads`,
      );
      assert.deepEqual(stale.slice(0, 5), [], `${stale.length} stale reads`);
      // Each PUT is one Txn too, so the reads alone took fewer than etcdReads calls.
      assert.ok(etcdReads < gets, `${etcdReads} etcd calls for ${gets} GETs: reads were not batched`);
    });
  });
} else {
  describe('kvs on etcd: concurrent reads share etcd calls', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
