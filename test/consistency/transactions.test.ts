// POST /v1/txn against the real server: all-or-nothing, one revision per transaction, the
// failing check named in the 409, limits refused with nothing written, and serializability under
// concurrent transfers (with one and with two worker processes over the same store).

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { removeDir, startServer } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';
import { changeData, openSse } from '../helpers/sse-client.js';
import { KvHttp } from './kv-http.js';

describe('transactions', () => {
  let kv: KvHttp;

  const server = useServer({
    args: ['--max-batch', '10', '--max-body-bytes', '20000', '--max-value-bytes', '16000'],
  });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  it('applies every operation under one new revision, and the watch shows them as one revision', async () => {
    await kv.put('t1/old', 'x');
    const start = await kv.revision();
    const watch = await openSse(`${server.url}/v1/watch?prefix=t1/&since=${start}`);
    try {
      const answer = await kv.txn({
        operations: [
          { op: 'put', key: 't1/a', value: 'A' },
          { op: 'put', key: 't1/b', value: 'Qg==', encoding: 'base64', contentType: 'application/octet-stream' },
          { op: 'delete', key: 't1/old' },
          { op: 'delete', key: 't1/never-existed' },
        ],
      });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json.revision, start + 1);
      assert.equal(answer.headers.get('kvs-revision'), String(start + 1));
      assert.deepEqual(
        answer.json.puts.map((put) => [put.key, put.modRevision, put.createRevision, put.version]),
        [
          ['t1/a', start + 1, start + 1, 1],
          ['t1/b', start + 1, start + 1, 1],
        ],
      );
      assert.deepEqual(answer.json.deleted, ['t1/old']);
      assert.equal(await kv.revision(), start + 1);
      assert.equal((await kv.get('t1/b')).text, 'B');
      assert.equal((await kv.get('t1/b')).headers.get('content-type'), 'application/octet-stream');
      assert.equal((await kv.get('t1/old')).status, 404);

      await watch.waitFor(() => watch.changes().length >= 3, 10_000, 'three events');
      const events = watch.changes();
      assert.deepEqual(
        events.map((event) => [event.event, changeData(event).key, changeData(event).revision]),
        [
          ['put', 't1/a', start + 1],
          ['put', 't1/b', start + 1],
          ['delete', 't1/old', start + 1],
        ],
      );
      // Only the last event of the revision carries the id, so a resume never splits a transaction.
      assert.deepEqual(
        events.map((event) => event.id),
        [undefined, undefined, String(start + 1)],
      );
    } finally {
      watch.close();
    }
  });

  it('writes nothing when a check fails, and names the failing check', async () => {
    await kv.put('t2/x', '1');
    await kv.put('t2/x', '2');
    const start = await kv.revision();
    const answer = await kv.txn({
      checks: [
        { key: 't2/x', version: 2 },
        { key: 't2/y', exists: true },
        { key: 't2/x', version: 99 },
      ],
      operations: [
        { op: 'put', key: 't2/x', value: 'changed' },
        { op: 'put', key: 't2/new', value: 'n' },
        { op: 'delete', key: 't2/x' },
      ],
    });
    assert.equal(answer.status, 409);
    assert.equal(answer.json.error.code, 'txn_check_failed');
    assert.deepEqual(answer.json.error.failed, { index: 1, key: 't2/y', kind: 'exists' });
    assert.equal(await kv.revision(), start);
    assert.equal((await kv.get('t2/x')).text, '2');
    assert.equal((await kv.get('t2/new')).status, 404);

    const version = await kv.txn({
      checks: [{ key: 't2/x', version: 1 }],
      operations: [{ op: 'delete', key: 't2/x' }],
    });
    assert.equal(version.status, 409);
    assert.deepEqual(version.json.error.failed, { index: 0, key: 't2/x', kind: 'version', version: 1 });
    assert.deepEqual(version.json.error.current, { version: 2, modRevision: start });

    const absent = await kv.txn({
      checks: [{ key: 't2/x', absent: true }],
      operations: [{ op: 'delete', key: 't2/x' }],
    });
    assert.equal(absent.status, 409);
    assert.deepEqual(absent.json.error.failed, { index: 0, key: 't2/x', kind: 'absent' });
    assert.equal((await kv.get('t2/x')).status, 200);
    assert.equal(await kv.revision(), start);
  });

  it('commits when every check holds (version, absent, exists; version 0 = absent)', async () => {
    await kv.put('t3/x', 'v');
    const answer = await kv.txn({
      checks: [
        { key: 't3/x', version: 1 },
        { key: 't3/x', exists: true },
        { key: 't3/none', absent: true },
        { key: 't3/none', version: 0 },
      ],
      operations: [{ op: 'put', key: 't3/x', value: 'w' }],
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json.puts[0]!.version, 2);
  });

  it('a transaction of checks only writes nothing and keeps the revision', async () => {
    await kv.put('t4/x', 'v');
    const start = await kv.revision();
    const answer = await kv.txn({ checks: [{ key: 't4/x', exists: true }] });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json.revision, start);
    assert.equal(await kv.revision(), start);
  });

  it('later operations see earlier ones of the same transaction', async () => {
    const answer = await kv.txn({
      operations: [
        { op: 'put', key: 't5/k', value: '1' },
        { op: 'put', key: 't5/k', value: '2' },
        { op: 'delete', key: 't5/gone' },
        { op: 'put', key: 't5/gone', value: 'x' },
        { op: 'delete', key: 't5/gone' },
      ],
    });
    assert.equal(answer.status, 200, answer.text);
    const read = await kv.get('t5/k');
    assert.equal(read.text, '2');
    assert.equal(read.headers.get('etag'), '"2"');
    assert.equal((await kv.get('t5/gone')).status, 404);
  });

  it('refuses more operations than --max-batch with 413 batch_too_large and writes nothing', async () => {
    const start = await kv.revision();
    const operations = Array.from({ length: 11 }, (_, index) => ({
      op: 'put' as const,
      key: `t6/${index}`,
      value: 'v',
    }));
    const answer = await kv.txn({ operations });
    assert.equal(answer.status, 413);
    assert.equal(answer.json.error.code, 'batch_too_large');
    assert.equal(answer.json.error.limit, 10);
    // Checks count towards the limit too.
    const mixed = await kv.txn({ checks: [{ key: 't6/0', absent: true }], operations: operations.slice(0, 10) });
    assert.equal(mixed.status, 413);
    assert.equal(await kv.revision(), start);
    assert.deepEqual((await kv.list('t6/')).items, []);
    // At the limit it commits.
    assert.equal((await kv.txn({ operations: operations.slice(0, 10) })).status, 200);
  });

  it('refuses a transaction larger than the size limits with 413 and writes nothing', async () => {
    const start = await kv.revision();
    const big = 'x'.repeat(12_000);
    const answer = await kv.txn({
      operations: [
        { op: 'put', key: 't7/a', value: big },
        { op: 'put', key: 't7/b', value: big },
      ],
    });
    assert.equal(answer.status, 413);
    assert.ok(['txn_too_large', 'body_too_large'].includes(answer.json.error.code), answer.text);
    const oneTooBig = await kv.txn({
      operations: [
        { op: 'put', key: 't7/a', value: 'small' },
        { op: 'put', key: 't7/b', value: 'y'.repeat(16_001) },
      ],
    });
    assert.equal(oneTooBig.status, 413);
    assert.equal(oneTooBig.json.error.code, 'value_too_large');
    assert.equal(await kv.revision(), start);
    assert.deepEqual((await kv.list('t7/')).items, []);
  });

  it('refuses malformed transactions with 400', async () => {
    const cases: unknown[] = [
      { checks: [{ key: 'k', version: 1, absent: true }] },
      { checks: [{ key: 'k' }] },
      { operations: [{ op: 'increment', key: 'k' }] },
      { operations: [{ op: 'put', key: 'k' }] },
      { operations: [{ op: 'put', key: '', value: 'v' }] },
      {},
    ];
    for (const body of cases) {
      const answer = await kv.request('POST', '/v1/txn', {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(answer.status, 400, `${JSON.stringify(body)} -> ${answer.status} ${answer.text}`);
    }
    assert.equal((await kv.get('k')).status, 404);
  });
});

/**
 * Bank transfers: clients move one unit between random accounts with version-checked
 * transactions (retrying on 409), while auditors list every account with its value. Under
 * serializable transactions the total never changes, in any listing or at the end, and the
 * number of acknowledged transfers equals the net movement recorded.
 */
async function runTransfers(workers: number): Promise<string> {
  const server = await startServer({ args: ['--workers', String(workers)] });
  try {
    const kv = new KvHttp(server.url, server.token);
    const accounts = 5;
    const initial = 100;
    const setup = await kv.txn({
      operations: Array.from({ length: accounts }, (_, index) => ({
        op: 'put' as const,
        key: `bank/${index}`,
        value: String(initial),
      })),
    });
    assert.equal(setup.status, 200);
    const total = accounts * initial;
    const transfersPerClient = 25;
    const clients = 6;
    const moved = new Array<number>(accounts).fill(0);
    let conflicts = 0;
    let running = clients;

    const read = async (index: number) => {
      const answer = await kv.get(`bank/${index}`);
      assert.equal(answer.status, 200);
      return { value: Number(answer.text), version: Number(answer.headers.get('etag')!.replaceAll('"', '')) };
    };
    const client = async (seed: number) => {
      let state = seed;
      const random = (n: number) => {
        state = (state * 48271) % 2147483647;
        return state % n;
      };
      for (let done = 0; done < transfersPerClient; ) {
        const from = random(accounts);
        const to = (from + 1 + random(accounts - 1)) % accounts;
        const [a, b] = await Promise.all([read(from), read(to)]);
        const answer = await kv.txn({
          checks: [
            { key: `bank/${from}`, version: a.version },
            { key: `bank/${to}`, version: b.version },
          ],
          operations: [
            { op: 'put', key: `bank/${from}`, value: String(a.value - 1) },
            { op: 'put', key: `bank/${to}`, value: String(b.value + 1) },
          ],
        });
        if (answer.status === 409) {
          conflicts++;
          continue;
        }
        assert.equal(answer.status, 200, answer.text);
        moved[from]!--;
        moved[to]!++;
        done++;
      }
    };
    const auditor = async () => {
      let audits = 0;
      while (running > 0 || audits === 0) {
        const { items } = await kv.list('bank/', { values: true });
        const sum = items.reduce((acc, item) => acc + Number(Buffer.from(item.value!, 'base64').toString()), 0);
        assert.equal(
          sum,
          total,
          `a listing saw a total of ${sum}: ${JSON.stringify(items.map((item) => Buffer.from(item.value!, 'base64').toString()))}`,
        );
        audits++;
      }
      return audits;
    };
    const audits = auditor();
    await Promise.all(
      Array.from({ length: clients }, async (_, index) => {
        try {
          await client(index * 7919 + 13);
        } finally {
          running--;
        }
      }),
    );
    const auditCount = await audits;
    assert.ok(auditCount > 0);
    const final = await Promise.all(Array.from({ length: accounts }, (_, index) => read(index)));
    assert.equal(
      final.reduce((acc, account) => acc + account.value, 0),
      total,
    );
    assert.deepEqual(
      final.map((account) => account.value),
      moved.map((delta) => initial + delta),
      `every acknowledged transfer is reflected exactly once (${conflicts} conflicts retried)`,
    );
    return `${clients * transfersPerClient} transfers, ${conflicts} conflicts retried, ${auditCount} consistent listings`;
  } finally {
    await server.stop();
    removeDir(server.dataDir);
  }
}

describe('serializable transactions under concurrency', () => {
  it('concurrent version-checked transfers keep the total and lose no transfer (1 worker)', async (t) => {
    t.diagnostic(await runTransfers(1));
  });
  it('concurrent version-checked transfers keep the total and lose no transfer (--workers 2)', async (t) => {
    t.diagnostic(await runTransfers(2));
  });
});
