// TTL over HTTP against the real server: Kvs-Expires is reported; an expired key is invisible at
// once on every read path (even before the sweeper removed it); the sweeper removes it in the
// background and emits an `expire` change event; and a key that expired while the server was
// down is gone after a restart. Expiry is awaited by polling with generous deadlines, never by
// asserting how long anything took.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { eventually, KvHttp } from '../consistency/kv-http.js';
import { removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';
import { changeData, openSse, type SseStream } from '../helpers/sse-client.js';

const EXPIRY_DEADLINE_MS = 20_000;

describe('TTL: expired keys are invisible at once (sweeper idle)', () => {
  let kv: KvHttp;

  // A sweep interval of an hour: nothing is removed during the test, so every 404 below is
  // the read path hiding an expired key, not the sweeper having deleted it.
  const server = useServer({ args: ['--sweep-interval-ms', '3600000'] });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  it('reports Kvs-Expires = write time + ttl on PUT, GET, HEAD and in the listing', async () => {
    const before = Date.now();
    const put = await kv.put('meta/k', 'v', { ttl: 3600 });
    const afterPut = Date.now();
    assert.equal(put.status, 201);
    const header = put.headers.get('kvs-expires');
    assert.ok(header, 'PUT ?ttl= answers Kvs-Expires');
    const expires = Date.parse(header);
    assert.ok(
      expires >= before + 3_600_000 && expires <= afterPut + 3_600_000,
      `Kvs-Expires ${header} not within the write time + 3600 s`,
    );
    assert.equal(put.json.expires, new Date(expires).toISOString());

    assert.equal((await kv.get('meta/k')).headers.get('kvs-expires'), header);
    assert.equal((await kv.head('meta/k')).headers.get('kvs-expires'), header);
    const { items } = await kv.list('meta/');
    assert.equal(items.find((item) => item.key === 'meta/k')?.expires, new Date(expires).toISOString());

    // A plain PUT replaces the TTL (no expiry any more); no Kvs-Expires without one.
    const plain = await kv.put('meta/k', 'w');
    assert.equal(plain.headers.get('kvs-expires'), null);
    assert.equal(plain.json.expires, null);
    assert.equal((await kv.get('meta/k')).headers.get('kvs-expires'), null);
  });

  it('?keepTtl keeps the current expiry on a PUT; with ?ttl it is refused', async () => {
    const timed = await kv.put('meta/keep', 'v', { ttl: 3600 });
    const expires = timed.headers.get('kvs-expires');
    assert.ok(expires);
    const kept = await kv.request('PUT', '/v1/kv/meta/keep?keepTtl', { body: 'w' });
    assert.equal(kept.status, 200);
    assert.equal(kept.headers.get('kvs-expires'), expires);
    const read = await kv.get('meta/keep');
    assert.equal(read.text, 'w');
    assert.equal(read.headers.get('kvs-expires'), expires);
    const both = await kv.request('PUT', '/v1/kv/meta/keep?keepTtl&ttl=5', { body: 'x' });
    assert.equal(both.status, 400);
    assert.equal((await kv.request('PUT', '/v1/kv/meta/keep?keepTtl=no', { body: 'x' })).status, 400);
    assert.equal((await kv.get('meta/keep')).text, 'w');
    // Without either, the expiry is removed (as the plain PUT of the test above).
    assert.equal((await kv.request('PUT', '/v1/kv/meta/keep', { body: 'y' })).headers.get('kvs-expires'), null);
    // On a key without an expiry, ?keepTtl keeps none.
    assert.equal(
      (await kv.request('PUT', '/v1/kv/meta/keep?keepTtl=true', { body: 'z' })).headers.get('kvs-expires'),
      null,
    );
  });

  it('refuses a TTL that is not a positive whole number of seconds', async () => {
    for (const ttl of ['0', '-1', 'abc', '1.5']) {
      const answer = await kv.request('PUT', `/v1/kv/meta/bad?ttl=${ttl}`, { body: 'v' });
      assert.equal(answer.status, 400, `ttl=${ttl}`);
    }
    assert.equal((await kv.get('meta/bad')).status, 404);
  });

  it('hides an expired key from GET, HEAD, seed GET, most-recent-of-list, listings and txn checks', async () => {
    const older = await kv.put('ttl/b', 'b-value');
    assert.equal(older.status, 201);
    await kv.put('ttl/long', 'stays', { ttl: 3600 });
    // Written last, so before expiry it is the most recent of the list.
    const put = await kv.put('ttl/a', 'a-value', { ttl: 1 });
    assert.equal(put.status, 201);
    assert.ok(put.json.modRevision > older.json.modRevision);
    const keysBefore = await kv.metric('kvs_keys');

    await eventually(async () => (await kv.get('ttl/a')).status === 404, EXPIRY_DEADLINE_MS, 'ttl/a expired');
    assert.ok(Date.now() >= Date.parse(put.headers.get('kvs-expires')!), 'invisible only after its expiry time');

    assert.equal((await kv.head('ttl/a')).status, 404);
    assert.equal((await kv.seedGet('ttl/a')).status, 404);
    const mostRecent = await kv.seedGet('ttl/a,ttl/b');
    assert.equal(mostRecent.status, 200);
    assert.equal(mostRecent.headers.get('kvs-key'), 'ttl/b');
    assert.equal(mostRecent.text, 'b-value');

    const listed = await kv.list('ttl/');
    assert.deepEqual(
      listed.items.map((item) => item.key),
      ['ttl/b', 'ttl/long'],
    );
    const withValues = await kv.list('ttl/', { values: true });
    assert.deepEqual(
      withValues.items.map((item) => item.key),
      ['ttl/b', 'ttl/long'],
    );
    // Pagination walks past the expired key too.
    const paged = await kv.list('ttl/', { limit: 1 });
    assert.deepEqual(
      paged.items.map((item) => item.key),
      ['ttl/b', 'ttl/long'],
    );

    const absent = await kv.txn({
      checks: [{ key: 'ttl/a', absent: true }],
      operations: [{ op: 'put', key: 'ttl/marker', value: '1' }],
    });
    assert.equal(absent.status, 200, absent.text);
    const exists = await kv.txn({
      checks: [{ key: 'ttl/a', exists: true }],
      operations: [{ op: 'put', key: 'ttl/marker', value: '2' }],
    });
    assert.equal(exists.status, 409);
    assert.equal(exists.json.error.code, 'txn_check_failed');
    assert.deepEqual(exists.json.error.failed, { index: 0, key: 'ttl/a', kind: 'exists' });
    const version = await kv.txn({ checks: [{ key: 'ttl/a', version: 1 }], operations: [] });
    assert.equal(version.status, 409);
    assert.equal((await kv.get('ttl/marker')).text, '1');

    // Still stored (the sweeper is idle): the 404s above came from the read paths themselves.
    assert.equal(await kv.metric('kvs_keys'), keysBefore + 1, 'kvs_keys counts the expired key until it is swept');

    // Writes treat it as absent too: DELETE finds nothing, create-only succeeds as a new incarnation.
    assert.equal((await kv.delete('ttl/a')).status, 404);
    const reborn = await kv.put('ttl/a', 'again', { ifNoneMatch: '*' });
    assert.equal(reborn.status, 201);
    assert.equal(reborn.json.version, 1);
    assert.equal(reborn.json.expires, null);
    assert.equal((await kv.get('ttl/a')).text, 'again');
  });

  it('a CAS on an expired key sees it as absent (If-Match "0" succeeds, If-Match "1" fails with version 0)', async () => {
    await kv.put('ttl/cas', 'x', { ttl: 1 });
    await eventually(async () => (await kv.get('ttl/cas')).status === 404, EXPIRY_DEADLINE_MS, 'ttl/cas expired');
    const stale = await kv.put('ttl/cas', 'y', { ifMatch: '"1"' });
    assert.equal(stale.status, 412);
    assert.equal(stale.json.error.currentVersion, 0);
    const fresh = await kv.put('ttl/cas', 'z', { ifMatch: '"0"' });
    assert.equal(fresh.status, 201);
  });

  it('a txn put with ttl expires like a PUT with ?ttl=', async () => {
    const answer = await kv.txn({
      operations: [
        { op: 'put', key: 'ttl/txn', value: 'v', ttl: 1 },
        { op: 'put', key: 'ttl/txn-keep', value: 'v' },
      ],
    });
    assert.equal(answer.status, 200, answer.text);
    assert.ok(answer.json.puts[0]!.expires !== null);
    assert.equal(answer.json.puts[1]!.expires, null);
    await eventually(async () => (await kv.get('ttl/txn')).status === 404, EXPIRY_DEADLINE_MS, 'ttl/txn expired');
    assert.equal((await kv.get('ttl/txn-keep')).status, 200);
  });
});

describe('TTL: one bound on expiry times for every front end', () => {
  let kv: KvHttp;

  const server = useServer({ args: ['--resp-port', '0'] });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  // A txn put with ttl 9e12 s once committed an expiry past what a Date can hold: the txn
  // answered 500, and every later read of the key (GET, ?k=, listing, watch, export) crashed
  // the server or answered 500, also after a restart.
  it('refuses an expiry past the latest representable time on txn and PUT, saving nothing, and the server keeps serving', async () => {
    for (const ttl of [9_000_000_000_000, 1e308, 8.64e12]) {
      const txn = await kv.request('POST', '/v1/txn', {
        body: JSON.stringify({
          operations: [
            { op: 'put', key: 'poison/txn', value: 'x', ttl },
            { op: 'put', key: 'poison/other', value: 'y' },
          ],
        }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(txn.status, 400, `txn ttl=${ttl}: ${JSON.stringify(txn.json)}`);
      assert.equal((txn.json as { error: { code: string } }).error.code, 'invalid_ttl');
      const put = await kv.request('PUT', `/v1/kv/poison/put?ttl=${ttl}`, { body: 'x' });
      assert.equal(put.status, 400, `PUT ttl=${ttl}`);
    }
    for (const key of ['poison/txn', 'poison/other', 'poison/put']) {
      assert.equal((await kv.get(key)).status, 404, key);
      assert.equal((await fetch(`${server.url}/?k=${key}`)).status, 404, key);
    }
    assert.equal((await kv.list('poison/')).items.length, 0);
    // The largest accepted TTL still renders everywhere.
    const ok = await kv.request('PUT', '/v1/kv/poison/far?ttl=3153600000', { body: 'x' });
    assert.equal(ok.status, 201);
    assert.equal((await kv.get('poison/far')).status, 200);
    assert.equal((await fetch(`${server.url}/?k=poison/far`)).status, 200);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});

describe('TTL: the sweeper removes expired keys in the background', () => {
  let kv: KvHttp;
  const streams: SseStream[] = [];

  after(async () => {
    for (const stream of streams) stream.close();
  });
  const server = useServer({ args: ['--sweep-interval-ms', '100'] });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  it('emits one `expire` event per expired key and the key count drops', async () => {
    const start = await kv.revision();
    const watch = await openSse(`${server.url}/v1/watch?prefix=sweep/&since=${start}`);
    streams.push(watch);
    const put = await kv.put('sweep/one', 'v', { ttl: 1 });
    await kv.put('sweep/stays', 'v');
    await watch.waitFor(() => watch.changes(['expire']).length >= 1, EXPIRY_DEADLINE_MS, 'the expire event');
    const expired = watch.changes(['expire']).map(changeData);
    assert.equal(expired.length, 1);
    assert.equal(expired[0]!.key, 'sweep/one');
    assert.equal(expired[0]!.version, 0);
    assert.ok(expired[0]!.revision > put.json.modRevision);
    assert.equal((await kv.get('sweep/one')).status, 404);
    await eventually(async () => (await kv.metric('kvs_keys')) === 1, EXPIRY_DEADLINE_MS, 'only sweep/stays is stored');
  });

  it('sweeps a large batch of expired keys over several ticks, each exactly once', async () => {
    const count = 1500;
    const start = await kv.revision();
    const watch = await openSse(`${server.url}/v1/watch?prefix=bulk/&since=${start}`);
    streams.push(watch);
    for (let offset = 0; offset < count; offset += 500) {
      const operations = Array.from({ length: 500 }, (_, index) => ({
        op: 'put' as const,
        key: `bulk/${offset + index}`,
        value: 'x',
        ttl: 1,
      }));
      assert.equal((await kv.txn({ operations })).status, 200);
    }
    await watch.waitFor(
      () => watch.changes(['expire']).length >= count,
      EXPIRY_DEADLINE_MS * 2,
      `${count} expire events`,
    );
    // Give a duplicate the chance to show up before counting.
    await kv.put('bulk-fence', 'x');
    await sleep(300);
    const keys = watch.changes(['expire']).map((event) => changeData(event).key);
    assert.equal(keys.length, count);
    assert.equal(new Set(keys).size, count);
    assert.deepEqual((await kv.list('bulk/')).items, []);
  });
});

describe('TTL across a restart', () => {
  let server: ServerProcess | undefined;
  let dataDir: string | undefined;

  after(async () => {
    await server?.stop();
    if (dataDir) removeDir(dataDir);
  });

  it('a key that expired while the server was down is gone after restart; other keys keep their TTL', async () => {
    server = await startServer();
    dataDir = server.dataDir;
    let kv = new KvHttp(server.url, server.token);
    const short = await kv.put('restart/short', 'bye', { ttl: 1 });
    const long = await kv.put('restart/long', 'stays', { ttl: 3600 });
    await kv.put('restart/plain', 'stays');
    const revisionAtStop = await kv.revision();
    await server.stop();
    server = undefined;

    // Wait (server down) until the short key's expiry has passed.
    const expiresAt = Date.parse(short.headers.get('kvs-expires')!);
    while (Date.now() <= expiresAt + 100) await sleep(100);

    server = await startServer({ dataDir });
    kv = new KvHttp(server.url, server.token);
    assert.equal((await kv.get('restart/short')).status, 404);
    assert.equal((await kv.seedGet('restart/short')).status, 404);
    const kept = await kv.get('restart/long');
    assert.equal(kept.status, 200);
    assert.equal(kept.headers.get('kvs-expires'), long.headers.get('kvs-expires'));
    assert.equal((await kv.get('restart/plain')).text, 'stays');
    assert.deepEqual(
      (await kv.list('restart/')).items.map((item) => item.key),
      ['restart/long', 'restart/plain'],
    );

    // The restarted sweeper removes it and records the expiry in the change log.
    const watch = await openSse(`${server.url}/v1/watch?prefix=restart/&since=${revisionAtStop}`);
    try {
      await watch.waitFor(
        () => watch.changes(['expire']).length >= 1,
        EXPIRY_DEADLINE_MS,
        'the expire event after restart',
      );
      const event = changeData(watch.changes(['expire'])[0]!);
      assert.equal(event.key, 'restart/short');
      assert.ok(event.revision > revisionAtStop);
    } finally {
      watch.close();
    }
    await eventually(
      async () => (await kv.metric('kvs_keys')) === 2,
      EXPIRY_DEADLINE_MS,
      'the expired key was removed',
    );
    // Revisions carry on from where they were before the restart.
    const after = await kv.put('restart/new', 'x');
    assert.ok(
      after.json.modRevision > revisionAtStop + 1,
      `revision ${after.json.modRevision} after the expiry at a revision above ${revisionAtStop}`,
    );
  });
});
