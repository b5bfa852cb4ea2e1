// GET /v1/watch against the real server, read with a small SSE reader over real sockets:
// exactly-once delivery in revision order while writes run, across disconnects resumed with
// Last-Event-ID; replay with since=REV; prefix filter; values; 410 for compacted history;
// heartbeats; a watcher that stops reading is cut off without holding up writers or other
// watchers; private servers filter by token.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KvHttp } from '../consistency/kv-http.js';
import { runWatchExactlyOnce } from '../consistency/watch-exactly-once.js';
import { newToken } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';
import { changeData, openSse, SseHttpError, type SseStream } from '../helpers/sse-client.js';

const WAIT_MS = 20_000;

function streamsCloser() {
  const streams: SseStream[] = [];
  return {
    track(stream: SseStream): SseStream {
      streams.push(stream);
      return stream;
    },
    closeAll(): void {
      for (const stream of streams) stream.close();
    },
  };
}

async function expectHttpError(promise: Promise<unknown>, status: number): Promise<SseHttpError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SseHttpError, String(error));
    assert.equal(error.status, status, error.body);
    return error;
  }
  assert.fail(`expected HTTP ${status}`);
}

describe('watch', () => {
  let kv: KvHttp;
  const streams = streamsCloser();

  after(async () => {
    streams.closeAll();
  });
  const server = useServer({ args: ['--watch-heartbeat-ms', '200', '--log-value-max', '100'] });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  it('delivers every committed change exactly once, in revision order, across reconnects with Last-Event-ID', async (t) => {
    t.diagnostic(await runWatchExactlyOnce({ url: server.url, token: server.token, prefix: 'exact/' }));
  });

  it('since=REV replays the changes after REV, then continues live; values=1 carries the values', async () => {
    const puts = [];
    for (let index = 0; index < 10; index++) puts.push(await kv.put(`replay/${index}`, `value-${index}`));
    const since = puts[4]!.json.modRevision;
    const stream = streams.track(await openSse(`${server.url}/v1/watch?prefix=replay/&since=${since}&values=1`));
    await stream.waitFor(() => stream.changes().length >= 5, WAIT_MS, 'the replayed events');
    const live = await kv.put('replay/live', 'now');
    await stream.waitFor(() => stream.changes().length >= 6, WAIT_MS, 'the live event');
    const events = stream.changes().map(changeData);
    assert.deepEqual(
      events.map((event) => [event.type, event.key, event.revision, Buffer.from(event.value!, 'base64').toString()]),
      [
        ...puts
          .slice(5)
          .map((put, offset) => ['put', `replay/${5 + offset}`, put.json.modRevision, `value-${5 + offset}`]),
        ['put', 'replay/live', live.json.modRevision, 'now'],
      ],
    );
    assert.deepEqual(
      stream.changes().map((event) => event.id),
      events.map((event) => String(event.revision)),
    );
  });

  it('Last-Event-ID takes precedence over since and resumes right after it', async () => {
    const first = await kv.put('resume/a', '1');
    const second = await kv.put('resume/b', '2');
    const stream = streams.track(
      await openSse(`${server.url}/v1/watch?prefix=resume/&since=0`, { lastEventId: String(first.json.modRevision) }),
    );
    await stream.waitFor(() => stream.changes().length >= 1, WAIT_MS, 'the event after Last-Event-ID');
    await kv.put('resume/fence', 'x');
    await stream.waitFor(() => stream.changes().length >= 2, WAIT_MS, 'the fence');
    assert.deepEqual(
      stream.changes().map((event) => changeData(event).revision),
      [second.json.modRevision, second.json.modRevision + 1],
    );
  });

  it('sends only keys under the prefix; deletes and values too large for the log are marked', async () => {
    const start = await kv.revision();
    const stream = streams.track(
      await openSse(`${server.url}/v1/watch?prefix=${encodeURIComponent('pre/')}&since=${start}&values=1`),
    );
    await kv.put('pre/a', 'x');
    await kv.put('other/b', 'y');
    await kv.put('pref', 'z');
    const txn = await kv.txn({
      operations: [
        { op: 'put', key: 'other/c', value: '1' },
        { op: 'put', key: 'pre/d', value: 'L'.repeat(500) },
      ],
    });
    await kv.delete('pre/a');
    await stream.waitFor(() => stream.changes().length >= 3, WAIT_MS, 'three events under pre/');
    await kv.put('pre/fence', 'f');
    await stream.waitFor(() => stream.changes().length >= 4, WAIT_MS, 'the fence');
    const events = stream.changes().map(changeData);
    assert.deepEqual(
      events.map((event) => [event.type, event.key]),
      [
        ['put', 'pre/a'],
        ['put', 'pre/d'],
        ['delete', 'pre/a'],
        ['put', 'pre/fence'],
      ],
    );
    assert.equal(events[1]!.revision, txn.json.revision);
    // The filtered-out half of the transaction does not hide the revision's id.
    assert.equal(stream.changes()[1]!.id, String(txn.json.revision));
    assert.equal(events[1]!.value, undefined);
    assert.equal(events[1]!.valueOmitted, true, 'a value above --log-value-max is marked as omitted');
    assert.equal(events[2]!.version, 0);
    assert.equal(events[2]!.value, undefined);
  });

  it('a watch without since delivers every change committed after the stream opened', async () => {
    // The stream's first bytes (the header comment) are the client's only sign that the watch
    // is in place; a write acknowledged after that must be delivered.
    for (let round = 0; round < 25; round++) {
      const stream = streams.track(await openSse(`${server.url}/v1/watch?prefix=live${round}/`));
      await stream.waitFor(() => stream.comments.length >= 1, WAIT_MS, 'the opening comment');
      const put = await kv.put(`live${round}/k`, 'v');
      await stream.waitFor(
        () => stream.changes().length >= 1,
        WAIT_MS,
        `round ${round}: the change made after the stream opened`,
      );
      assert.equal(changeData(stream.changes()[0]!).revision, put.json.modRevision);
      stream.close();
    }
  });

  it('sends heartbeat comments', async () => {
    const stream = streams.track(await openSse(`${server.url}/v1/watch?prefix=quiet/`));
    const initial = stream.comments.length;
    await stream.waitFor(() => stream.comments.length >= initial + 3, WAIT_MS, 'three heartbeats');
    assert.ok(
      stream.comments.slice(initial).every((comment) => comment === 'ping'),
      JSON.stringify(stream.comments),
    );
    assert.equal(stream.changes().length, 0);
  });

  it('refuses a malformed since or Last-Event-ID with 400', async () => {
    await expectHttpError(openSse(`${server.url}/v1/watch?since=abc`), 400);
    await expectHttpError(openSse(`${server.url}/v1/watch?since=-1`), 400);
    await expectHttpError(openSse(`${server.url}/v1/watch`, { lastEventId: 'x1' }), 400);
  });
});

describe('watch: compacted history', () => {
  let kv: KvHttp;
  const streams = streamsCloser();

  after(async () => {
    streams.closeAll();
  });
  const server = useServer({ args: ['--log-length', '20'] });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  it('answers 410 history_compacted with the oldest available revision, and serves from there', async () => {
    for (let index = 0; index < 50; index++) await kv.put(`c/${index % 7}`, String(index));
    const revision = await kv.revision();
    assert.equal(revision, 50);

    const refused = await expectHttpError(openSse(`${server.url}/v1/watch?since=5`), 410);
    const body = refused.json();
    assert.equal(body.error.code, 'history_compacted');
    const oldest = body.error.oldestRevision as number;
    assert.equal(oldest, revision - 20 + 1, 'the log keeps the last --log-length revisions');
    await expectHttpError(openSse(`${server.url}/v1/watch`, { lastEventId: String(oldest - 2) }), 410);

    // Resuming from just before the oldest kept revision replays everything still logged.
    const stream = streams.track(await openSse(`${server.url}/v1/watch?since=${oldest - 1}`));
    await stream.waitFor(() => stream.changes().length >= 20, WAIT_MS, '20 replayed events');
    assert.deepEqual(
      stream.changes().map((event) => changeData(event).revision),
      Array.from({ length: 20 }, (_, index) => oldest + index),
    );
  });
});

describe('watch: slow watchers', () => {
  let kv: KvHttp;
  const streams = streamsCloser();

  after(async () => {
    streams.closeAll();
  });
  const server = useServer({
    args: ['--watch-buffer-events', '20', '--log-value-max', '65536', '--durability', 'relaxed'],
  });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  it('a watcher that stops reading is disconnected as lagging; writers and other watchers carry on', async (t) => {
    const start = await kv.revision();
    const stalled = streams.track(await openSse(`${server.url}/v1/watch?prefix=big/&since=${start}&values=1`));
    stalled.pause();
    const healthy = streams.track(await openSse(`${server.url}/v1/watch?prefix=big/&since=${start}`));
    const value = 'v'.repeat(60_000);
    let writes = 0;
    const write = async () => {
      const answer = await kv.put(`big/${writes % 10}`, value);
      assert.ok(answer.status === 200 || answer.status === 201, answer.text);
      writes++;
    };
    // Every write is acknowledged although one watcher reads nothing, until the server drops it.
    while ((await kv.metric('kvs_watchers')) === 2) {
      assert.ok(writes < 2000, 'the stalled watcher was never disconnected');
      for (let batch = 0; batch < 10; batch++) await write();
    }
    assert.equal(await kv.metric('kvs_watchers'), 1, 'the stalled watcher was dropped, the healthy one remains');
    for (let more = 0; more < 20; more++) await write();
    await healthy.waitFor(() => healthy.changes().length >= writes, WAIT_MS, 'every event on the healthy watcher');
    assert.equal(changeData(healthy.changes().at(-1)!).revision, start + writes);

    // The stalled client reads again: it gets what was buffered, then the end of the stream.
    stalled.resume();
    await stalled.waitClosed(WAIT_MS);
    const received = stalled.changes().map(changeData);
    t.diagnostic(`the stalled watcher received ${received.length} of ${writes} events before it was cut off`);
    assert.ok(received.length < writes, 'the stalled watcher was cut off before the end');
    // What it did get is a gap-free prefix, so it can resume from its last id.
    received.forEach((event, index) => assert.equal(event.revision, start + 1 + index));
    const end = stalled.events.at(-1);
    assert.equal(end?.event, 'end', 'the stream ends with an `end` event');
    assert.equal(JSON.parse(end!.data).reason, 'lagging');

    const resumed = streams.track(
      await openSse(`${server.url}/v1/watch?prefix=big/`, { lastEventId: stalled.lastEventId || String(start) }),
    );
    await resumed.waitFor(
      () => resumed.changes().length >= writes - received.length,
      WAIT_MS,
      'the rest after resuming',
    );
    assert.equal(changeData(resumed.changes().at(-1)!).revision, start + writes);
  });
});

describe('watch: private server', () => {
  const admin = newToken();
  const reader = newToken();
  const streams = streamsCloser();

  after(async () => {
    streams.closeAll();
  });
  const server = useServer({ args: ['--private'], tokenFileText: `${admin} admin\n${reader} read mine/\n` });

  it('needs a token, and sends a prefix-restricted reader only its keys', async () => {
    await expectHttpError(openSse(`${server.url}/v1/watch`), 401);
    const kv = new KvHttp(server.url, admin);
    const start = await kv.revision();
    const stream = streams.track(
      await openSse(`${server.url}/v1/watch?since=${start}`, { headers: { authorization: `Bearer ${reader}` } }),
    );
    await kv.put('theirs/x', 'secret');
    await kv.put('mine/y', 'ok');
    await stream.waitFor(() => stream.changes().length >= 1, WAIT_MS, 'the allowed event');
    await kv.put('mine/z', 'fence');
    await stream.waitFor(() => stream.changes().length >= 2, WAIT_MS, 'the fence');
    assert.deepEqual(
      stream.changes().map((event) => changeData(event).key),
      ['mine/y', 'mine/z'],
    );
  });
});
