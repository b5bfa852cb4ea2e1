// `kvs serve --workers 2`: two processes over one lmdb store behind one port. Requests go over
// fresh connections, which the cluster hands out round-robin, so both workers serve (proven
// first). Then: a write acknowledged through any connection is read back on every connection;
// revisions are store-wide and strictly increasing whichever worker commits; and the watch
// exactly-once scenario (concurrent writers, reconnects with Last-Event-ID) holds across workers.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KvHttp, keyPath, requestOnNewConnection } from '../consistency/kv-http.js';
import { runWatchExactlyOnce } from '../consistency/watch-exactly-once.js';
import { useServer } from '../helpers/use-server.js';
import { changeData, openSse, type SseStream } from '../helpers/sse-client.js';

const WAIT_MS = 20_000;

describe('--workers 2', () => {
  let kv: KvHttp;
  const streams: SseStream[] = [];

  after(async () => {
    for (const stream of streams) stream.close();
  });
  const server = useServer({ args: ['--workers', '2'] });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  const put = (key: string, value: string) =>
    requestOnNewConnection('PUT', server.url + keyPath(key), {
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'text/plain' },
      body: value,
    });
  const get = (key: string) => requestOnNewConnection('GET', server.url + keyPath(key));

  it('both workers answer requests (fresh connections are spread over them)', async () => {
    // A watch held open lives in one worker; /metrics from that worker reports one watcher,
    // from the other none. Seeing both answers proves two processes are serving.
    const watch = await openSse(`${server.url}/v1/watch?prefix=nothing/`);
    streams.push(watch);
    await watch.waitFor(() => watch.comments.length >= 1, WAIT_MS, 'the watch to open');
    const seen = new Set<string>();
    for (let attempt = 0; attempt < 40 && seen.size < 2; attempt++) {
      const metrics = await requestOnNewConnection('GET', `${server.url}/metrics`);
      const line = metrics.body.split('\n').find((candidate) => candidate.startsWith('kvs_watchers '));
      assert.ok(line, 'kvs_watchers is exported');
      seen.add(line.split(' ')[1]!);
    }
    assert.deepEqual([...seen].sort(), ['0', '1']);
    watch.close();
  });

  it('a write through any connection is read back on every connection', async () => {
    for (let index = 0; index < 20; index++) {
      const key = `rw/${index % 4}`;
      const value = `value-${index}`;
      const written = await put(key, value);
      assert.ok(written.status === 200 || written.status === 201, written.body);
      // Four fresh connections: with round-robin, both workers read it back.
      for (let reader = 0; reader < 4; reader++) {
        const read = await get(key);
        assert.equal(read.status, 200);
        assert.equal(read.body, value, `read ${reader} after write ${index} saw a stale value`);
        assert.equal(read.headers.etag, `"${JSON.parse(written.body).version}"`);
      }
    }
    // The listing agrees on every connection too.
    for (let reader = 0; reader < 4; reader++) {
      const listing = await requestOnNewConnection('GET', `${server.url}/v1/kv?prefix=rw/`);
      assert.deepEqual(
        JSON.parse(listing.body).items.map((item: { key: string }) => item.key),
        ['rw/0', 'rw/1', 'rw/2', 'rw/3'],
      );
    }
  });

  it('revisions are store-wide and strictly increasing across workers', async () => {
    // Sequential writes over alternating workers: each revision is exactly one more.
    let previous = await kv.revision();
    for (let index = 0; index < 20; index++) {
      const written = await put(`rev/${index}`, 'v');
      const revision = JSON.parse(written.body).modRevision as number;
      assert.equal(revision, previous + 1, `write ${index}`);
      previous = revision;
    }
    // Concurrent writes from many connections: distinct revisions, no gap.
    const start = await kv.revision();
    const answers = await Promise.all(Array.from({ length: 60 }, (_, index) => put(`rev/c${index}`, 'v')));
    const revisions = answers.map((answer) => JSON.parse(answer.body).modRevision as number).sort((a, b) => a - b);
    assert.deepEqual(
      revisions,
      Array.from({ length: 60 }, (_, index) => start + 1 + index),
    );
    assert.equal(await kv.revision(), start + 60);
  });

  it('watchers on both workers see the same changes, including those committed by the other worker', async () => {
    const start = await kv.revision();
    const watchers: SseStream[] = [];
    for (let index = 0; index < 4; index++) {
      const stream = await openSse(`${server.url}/v1/watch?prefix=both/&since=${start}`);
      streams.push(stream);
      watchers.push(stream);
    }
    const revisions: number[] = [];
    for (let index = 0; index < 10; index++)
      revisions.push(JSON.parse((await put(`both/${index}`, 'v')).body).modRevision);
    for (const stream of watchers) {
      await stream.waitFor(() => stream.changes().length >= 10, WAIT_MS, 'ten events');
      assert.deepEqual(
        stream.changes().map((event) => changeData(event).revision),
        revisions,
      );
    }
  });

  it('an expiry swept by one worker is an `expire` event on watchers of both, and the key is gone on every connection', async () => {
    const start = await kv.revision();
    const watchers: SseStream[] = [];
    for (let index = 0; index < 4; index++) {
      const stream = await openSse(`${server.url}/v1/watch?prefix=exp/&since=${start}`);
      streams.push(stream);
      watchers.push(stream);
    }
    const written = await requestOnNewConnection('PUT', `${server.url}${keyPath('exp/k')}?ttl=1`, {
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'text/plain' },
      body: 'soon gone',
    });
    assert.equal(written.status, 201, written.body);
    for (const stream of watchers) {
      await stream.waitFor(() => stream.changes(['expire']).length >= 1, WAIT_MS, 'the expire event');
      assert.deepEqual(
        stream.changes().map((event) => [event.event, changeData(event).key]),
        [
          ['put', 'exp/k'],
          ['expire', 'exp/k'],
        ],
      );
    }
    for (let reader = 0; reader < 4; reader++) assert.equal((await get('exp/k')).status, 404);
  });

  it('every committed change is delivered exactly once, in order, across reconnects', async (t) => {
    t.diagnostic(await runWatchExactlyOnce({ url: server.url, token: server.token, prefix: 'exact/' }));
  });
});
