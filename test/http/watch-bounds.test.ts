// Watch streams cost bounded memory whatever clients ask for: a replay of history with values
// is paced by the reader, and a stream that stops reading holds at most watchBufferBytes (plus
// one batch). Before, 40 clients asking for `since=0&values=1` over 20,000 revisions of 4 KB
// took the server from 307 MB to 3.8 GB (each buffered the whole log). Also: HEAD /v1/watch
// answers (it used to hang).

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KvHttp } from '../consistency/kv-http.js';
import { rssBytes } from '../fuzz/fuzz-options.js';
import { useServer } from '../helpers/use-server.js';
import { changeData, openSse } from '../helpers/sse-client.js';

const VALUE_BYTES = 4000;
const TXNS = 100;
const PER_TXN = 40;
const STALLED = 12;
const MiB = 1024 * 1024;

describe('watch: memory bounds', () => {
  let kv: KvHttp;

  const server = useServer({ args: ['--durability', 'relaxed', '--watch-buffer-bytes', String(MiB)] });
  before(async () => {
    kv = new KvHttp(server.url, server.token);
    // 4,000 events of 4 KB in the change log (about 22 MB of stream text with values).
    const value = 'x'.repeat(VALUE_BYTES);
    for (let txn = 0; txn < TXNS; txn++) {
      const operations = Array.from({ length: PER_TXN }, (_, index) => ({
        op: 'put',
        key: `flood/${txn}/${index}`,
        value,
      }));
      const answer = await kv.request('POST', '/v1/txn', {
        body: JSON.stringify({ operations }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(answer.status, 200, answer.text);
    }
  });

  it('HEAD /v1/watch answers at once with the stream headers', async () => {
    const answer = await fetch(`${server.url}/v1/watch?prefix=flood/`, {
      method: 'HEAD',
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/event-stream/);
  });

  it('replays with values to clients that do not read hold about watchBufferBytes each, not the log', async () => {
    const baseline = await rssBytes(server.pid);
    const url = new URL(server.url);
    const sockets: Socket[] = [];
    try {
      for (let index = 0; index < STALLED; index++) {
        const socket = connect({ host: url.hostname, port: Number(url.port) });
        socket.on('error', () => undefined);
        socket.write(`GET /v1/watch?prefix=flood/&since=0&values=1 HTTP/1.1\r\nHost: x\r\n\r\n`);
        // Read nothing: the kernel buffers fill and the server's stream backs up.
        socket.pause();
        sockets.push(socket);
      }
      let peak = baseline;
      for (let sample = 0; sample < 30; sample++) {
        await sleep(100);
        peak = Math.max(peak, await rssBytes(server.pid));
      }
      const growth = peak - baseline;
      // Unbounded, 12 replays buffer 12 x 22 MB = 264 MB. Bounded: 12 x (1 MiB + one page) plus
      // the garbage of formatting, well under 120 MB.
      console.log(`stalled replays: RSS +${(growth / MiB).toFixed(1)} MiB`);
      assert.ok(growth < 120 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB with ${STALLED} stalled replays`);
      // Everyone else is still served.
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  it('a client that reads gets the whole replay, every event once and in order', async () => {
    const stream = await openSse(`${server.url}/v1/watch?prefix=flood/&since=0&values=1`);
    try {
      await stream.waitFor(() => stream.changes().length >= TXNS * PER_TXN, 60_000, 'the whole replay');
      const events = stream.changes().map(changeData);
      assert.equal(events.length, TXNS * PER_TXN);
      assert.equal(new Set(events.map((event) => event.key)).size, TXNS * PER_TXN);
      for (let index = 1; index < events.length; index++)
        assert.ok(events[index]!.revision >= events[index - 1]!.revision);
    } finally {
      stream.close();
    }
  });
});
