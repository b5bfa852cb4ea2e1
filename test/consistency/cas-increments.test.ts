// Concurrency: several clients increment a few counters with compare-and-swap (GET value and
// ETag, then PUT If-Match; If-None-Match: * for the first write), while readers poll the same
// keys. Afterwards (1) each counter equals the number of acknowledged successful increments
// (no lost update), and (2) the recorded history of single-key operations (invoke and return
// times, input, answer) is linearizable for a versioned register with CAS, checked per key
// by test/helpers/linearizability.ts. A second workload mixes reads, plain puts, CAS puts and
// deletes, create-only and deletes, and checks its history the same way. Both run with one
// process and with --workers 2 (two processes over the same store, connections spread over both),
// on the default store and on etcd (--store etcd://, a real single-member etcd).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  checkPartitioned,
  keyModel,
  type HistoryOperation,
  type KeyInput,
  type KeyOutput,
} from '../helpers/linearizability.js';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { removeDir, startServer } from '../helpers/server-process.js';
import { KvHttp } from './kv-http.js';

type Recorded = HistoryOperation<KeyInput, KeyOutput> & { readonly key: string };

const now = () => Number(process.hrtime.bigint());

class Recorder {
  readonly history: Recorded[] = [];
  constructor(private readonly kv: KvHttp) {}

  /** Runs one HTTP operation, recording it; an error leaves the outcome unknown (return = Infinity). */
  private async record(
    client: number,
    key: string,
    input: KeyInput,
    run: () => Promise<KeyOutput>,
  ): Promise<KeyOutput | undefined> {
    const call = now();
    try {
      const output = await run();
      this.history.push({ client, key, input, output, call, return: now() });
      return output;
    } catch (error) {
      this.history.push({ client, key, input, output: undefined, call, return: Infinity });
      throw error;
    }
  }

  read(client: number, key: string) {
    return this.record(client, key, { op: 'read' }, async () => {
      const answer = await this.kv.get(key);
      if (answer.status === 404) return { found: false };
      assert.equal(answer.status, 200, answer.text);
      return { found: true, value: answer.text, version: Number(answer.headers.get('etag')!.replaceAll('"', '')) };
    });
  }

  cas(client: number, key: string, version: number, value: string) {
    return this.record(client, key, { op: 'cas', version, value }, async () => {
      const answer = await this.kv.put(key, value, { ifMatch: `"${version}"` });
      if (answer.status === 412) {
        assert.equal(answer.json.error.code, 'version_mismatch');
        return { ok: false, currentVersion: answer.json.error.currentVersion as number };
      }
      assert.ok(answer.status === 200 || answer.status === 201, answer.text);
      return { ok: true, version: answer.json.version };
    });
  }

  put(client: number, key: string, value: string) {
    return this.record(client, key, { op: 'put', value }, async () => {
      const answer = await this.kv.put(key, value);
      assert.ok(answer.status === 200 || answer.status === 201, answer.text);
      return { ok: true, version: answer.json.version };
    });
  }

  delete(client: number, key: string, version?: number) {
    return this.record(client, key, version === undefined ? { op: 'delete' } : { op: 'delete', version }, async () => {
      const answer = await this.kv.delete(key, version === undefined ? undefined : `"${version}"`);
      if (answer.status === 412) return { ok: false, currentVersion: answer.json.error.currentVersion as number };
      assert.ok(answer.status === 200 || answer.status === 404, answer.text);
      return { deleted: answer.status === 200 };
    });
  }

  create(client: number, key: string, value: string) {
    return this.record(client, key, { op: 'create', value }, async () => {
      const answer = await this.kv.put(key, value, { ifNoneMatch: '*' });
      if (answer.status === 412) {
        assert.equal(answer.json.error.code, 'key_exists');
        return { ok: false, currentVersion: answer.json.error.currentVersion as number };
      }
      assert.equal(answer.status, 201, answer.text);
      return { ok: true, version: answer.json.version };
    });
  }
}

/** `store`: more `kvs serve` flags (the etcd store); default: the embedded store. */
async function runIncrements(workers: number, store: readonly string[] = []): Promise<string> {
  const server = await startServer({ args: ['--workers', String(workers), ...store] });
  try {
    const kv = new KvHttp(server.url, server.token);
    const recorder = new Recorder(kv);
    const keys = ['inc/0', 'inc/1', 'inc/2'];
    const incrementers = 8;
    const attempts = 40;
    const readers = 2;
    const acknowledged = new Map<string, number>(keys.map((key) => [key, 0]));
    let running = incrementers;

    const incrementer = async (client: number) => {
      for (let attempt = 0; attempt < attempts; attempt++) {
        const key = keys[(client + attempt) % keys.length]!;
        const read = await recorder.read(client, key);
        const output =
          read && 'found' in read && read.found
            ? await recorder.cas(client, key, read.version, String(Number(read.value) + 1))
            : await recorder.create(client, key, '1');
        if (output && 'ok' in output && output.ok) acknowledged.set(key, acknowledged.get(key)! + 1);
      }
    };
    const reader = async (client: number) => {
      for (let index = 0; running > 0; index++) await recorder.read(client, keys[index % keys.length]!);
    };

    await Promise.all([
      ...Array.from({ length: incrementers }, async (_, client) => {
        try {
          await incrementer(client);
        } finally {
          running--;
        }
      }),
      ...Array.from({ length: readers }, (_, index) => reader(incrementers + index)),
    ]);

    // Final reads are part of the history too.
    for (const key of keys) {
      const final = await recorder.read(-1, key);
      assert.ok(final && 'found' in final && final.found, `${key} exists`);
      assert.equal(
        Number(final.value),
        acknowledged.get(key),
        `${key}: counter equals the acknowledged increments (no lost update)`,
      );
    }
    const total = [...acknowledged.values()].reduce((a, b) => a + b, 0);
    assert.ok(total > 0);

    const results = checkPartitioned(recorder.history, (operation) => (operation as Recorded).key, keyModel);
    for (const [key, result] of results)
      assert.equal(result.ok, true, `${key}: ${result.ok ? '' : result.explanation}`);
    const failedCas = recorder.history.filter(
      (operation) => operation.output && 'ok' in operation.output && !operation.output.ok,
    ).length;
    const explored = [...results.values()].reduce((sum, result) => sum + result.explored, 0);
    return `${recorder.history.length} operations, ${total} acknowledged increments, ${failedCas} refused CAS/creates, ${explored} configurations explored`;
  } finally {
    await server.stop();
    removeDir(server.dataDir);
  }
}

/**
 * Mixed single-key traffic: reads, plain puts, CAS puts and deletes (with the version of the
 * client's last read, so many succeed and many are refused), create-only and plain deletes, from
 * several clients on two keys. No invariant to count here; the history must be linearizable.
 */
async function runMixed(workers: number, store: readonly string[] = []): Promise<string> {
  const server = await startServer({ args: ['--workers', String(workers), ...store] });
  try {
    const kv = new KvHttp(server.url, server.token);
    const recorder = new Recorder(kv);
    const keys = ['mix/0', 'mix/1'];
    const clients = 6;
    const operations = 60;
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        let seed = client * 7919 + 17;
        const random = (n: number) => {
          seed = (seed * 48271) % 2147483647;
          return seed % n;
        };
        const lastVersion = new Map<string, number>();
        for (let n = 0; n < operations; n++) {
          const key = keys[random(keys.length)]!;
          const value = `c${client}n${n}`;
          const known = lastVersion.get(key) ?? 0;
          const choice = random(100);
          let output: KeyOutput | undefined;
          if (choice < 35) output = await recorder.read(client, key);
          else if (choice < 50) output = await recorder.put(client, key, value);
          else if (choice < 70) output = await recorder.cas(client, key, known, value);
          else if (choice < 80) output = await recorder.create(client, key, value);
          else if (choice < 90) output = await recorder.delete(client, key, known);
          else output = await recorder.delete(client, key);
          if (output && 'found' in output) lastVersion.set(key, output.found ? output.version : 0);
          else if (output && 'ok' in output) lastVersion.set(key, output.ok ? output.version : output.currentVersion);
          else if (output && 'deleted' in output) lastVersion.set(key, 0);
        }
      }),
    );
    const results = checkPartitioned(recorder.history, (operation) => (operation as Recorded).key, keyModel);
    for (const [key, result] of results)
      assert.equal(result.ok, true, `${key}: ${result.ok ? '' : result.explanation}`);
    const count = (predicate: (output: KeyOutput) => boolean) =>
      recorder.history.filter((operation) => operation.output && predicate(operation.output)).length;
    const refused = count((output) => 'ok' in output && !output.ok);
    const deleted = count((output) => 'deleted' in output && output.deleted);
    const explored = [...results.values()].reduce((sum, result) => sum + result.explored, 0);
    return `${recorder.history.length} operations, ${refused} refused by a condition, ${deleted} deletes, ${explored} configurations explored`;
  } finally {
    await server.stop();
    removeDir(server.dataDir);
  }
}

describe('mixed single-key operations: linearizable history', () => {
  it('one process', async (t) => {
    t.diagnostic(await runMixed(1));
  });
  it('--workers 2', async (t) => {
    t.diagnostic(await runMixed(2));
  });
});

describe('CAS increments: no lost update, linearizable history', () => {
  it('one process', async (t) => {
    t.diagnostic(await runIncrements(1));
  });
  it('--workers 2', async (t) => {
    t.diagnostic(await runIncrements(2));
  });
});

// The same workloads with kvs on etcd: its single-key reads share etcd calls
// (src/storage/etcd/read-batcher.ts) and its writes are etcd transactions; the histories must
// stay linearizable all the same.
if (etcdInstalled()) {
  describe('on etcd: linearizable histories', () => {
    let cluster: EtcdCluster | undefined;
    before(async () => {
      cluster = await startEtcdCluster({ size: 1 });
    });
    after(async () => {
      await cluster?.stop();
    });
    const store = (name: string) => [
      '--store',
      cluster!.storeUrl,
      '--etcd-prefix',
      `${name}-${randomBytes(4).toString('hex')}/`,
    ];

    it('mixed single-key operations, one process', async (t) => {
      t.diagnostic(await runMixed(1, store('mixed')));
    });
    it('mixed single-key operations, --workers 2', async (t) => {
      t.diagnostic(await runMixed(2, store('mixed')));
    });
    it('CAS increments, one process', async (t) => {
      t.diagnostic(await runIncrements(1, store('inc')));
    });
    it('CAS increments, --workers 2', async (t) => {
      t.diagnostic(await runIncrements(2, store('inc')));
    });
  });
} else {
  describe('on etcd: linearizable histories', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
