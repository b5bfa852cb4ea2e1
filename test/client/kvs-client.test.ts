// The typed client against a real server: every method, errors as KvsClientError, and the
// watch iterator (replay with since, values, resume with Last-Event-ID after a dropped stream).

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KvsClient, KvsClientError, type WatchEvent } from '../../src/client/index.js';
import { removeDir, startServer } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

let client: KvsClient;

async function rejectsWith(promise: Promise<unknown>, status: number, code: string): Promise<KvsClientError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return error instanceof KvsClientError && error.status === status && error.code === code;
  });
  return caught as KvsClientError;
}

/** Takes `count` events from a watch iterator, failing after a generous timeout. */
async function take(events: AsyncIterator<WatchEvent>, count: number): Promise<WatchEvent[]> {
  const taken: WatchEvent[] = [];
  const timeout = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${taken.length} of ${count} events`)), 20_000);
    timer.unref();
  });
  while (taken.length < count) {
    const next = await Promise.race([events.next(), timeout]);
    if (next.done) throw new Error(`watch ended after ${taken.length} events`);
    taken.push(next.value);
  }
  return taken;
}

const brief = (event: WatchEvent) => [event.type, event.key, event.revision, event.value?.toString('utf8')];

describe('KvsClient against a real server', () => {
  const server = useServer();
  before(async () => {
    client = new KvsClient({ url: server.url, token: server.token });
  });

  it('put, get, getText and delete with metadata', async () => {
    const created = await client.put('kv/greeting', 'hello');
    assert.equal(created.key, 'kv/greeting');
    assert.equal(created.version, 1);
    assert.equal(created.createRevision, created.modRevision);
    assert.equal(created.expires, null);
    const updated = await client.put('kv/greeting', 'hello again');
    assert.equal(updated.version, 2);
    assert.equal(updated.createRevision, created.createRevision);

    const entry = await client.get('kv/greeting');
    assert.ok(entry);
    assert.equal(entry.value.toString(), 'hello again');
    assert.equal(entry.version, 2);
    assert.equal(entry.modRevision, updated.modRevision);
    assert.equal(entry.createRevision, created.createRevision);
    assert.match(entry.contentType, /^text\/plain/);
    assert.ok(Math.abs(entry.updated.getTime() - updated.updated.getTime()) < 1000);
    assert.equal(await client.getText('kv/greeting'), 'hello again');

    assert.equal(await client.get('kv/missing'), undefined);
    assert.equal(await client.delete('kv/greeting'), true);
    assert.equal(await client.delete('kv/greeting'), false);
    assert.equal(await client.getText('kv/greeting'), undefined);
  });

  it('stores binary values, content types and TTLs; keys may hold any characters', async () => {
    const bytes = randomBytes(3000);
    for (const key of ['kv/a/b/c', 'kv/with space?and=query&x#frag', 'kv/%41 percent', 'kv/ключ/😀', 'kv/+plus']) {
      await client.put(key, bytes, { contentType: 'application/octet-stream', ttl: 3600 });
      const entry = await client.get(key);
      assert.ok(entry, key);
      assert.deepEqual(entry.value, bytes);
      assert.equal(entry.contentType, 'application/octet-stream');
      assert.ok(entry.expires !== null && entry.expires.getTime() > Date.now() + 3_500_000);
    }
  });

  it("compare-and-swap and create-only fail with the server's codes", async () => {
    await client.put('cas/k', 'v1');
    const mismatch = await rejectsWith(client.put('cas/k', 'v2', { ifVersion: 5 }), 412, 'version_mismatch');
    assert.equal(mismatch.details.currentVersion, 1);
    await client.put('cas/k', 'v2', { ifVersion: 1 });
    await rejectsWith(client.put('cas/k', 'v3', { ifAbsent: true }), 412, 'key_exists');
    await client.put('cas/new', 'first', { ifAbsent: true });
    await rejectsWith(client.delete('cas/k', { ifVersion: 1 }), 412, 'version_mismatch');
    assert.equal(await client.delete('cas/k', { ifVersion: 2 }), true);
  });

  it('errors carry status, code, message and details', async () => {
    const anonymous = new KvsClient({ url: server.url });
    const error = await rejectsWith(anonymous.put('err/x', 'y'), 401, 'auth_required');
    assert.ok(error.message.length > 0);
    await rejectsWith(new KvsClient({ url: server.url, token: 'wrong' }).put('err/x', 'y'), 403, 'auth_invalid');
    const tooLong = await rejectsWith(client.put('k'.repeat(2000), 'y'), 400, 'key_too_long');
    assert.ok(Object.keys(tooLong.details).length > 0);
    await rejectsWith(client.put('err/x', 'y', { ttl: 0 }), 400, 'invalid_ttl');
    await assert.rejects(
      client.get('\ud800'),
      (caught: unknown) => caught instanceof KvsClientError && caught.code === 'invalid_key',
    );
  });

  it('list pages through keys in order; listAll follows next', async () => {
    const keys = Array.from({ length: 7 }, (_, index) => `list/${index}`);
    await client.txn({ operations: keys.map((key, index) => ({ op: 'put' as const, key, value: `value ${index}` })) });
    await client.put('listing-other', 'x');
    const first = await client.list({ prefix: 'list/', limit: 3 });
    assert.deepEqual(
      first.items.map((item) => item.key),
      keys.slice(0, 3),
    );
    assert.equal(first.next, 'list/2');
    assert.equal(first.items[0]!.value, undefined);
    assert.equal(first.items[0]!.size, 'value 0'.length);
    const second = await client.list({ prefix: 'list/', limit: 3, after: first.next!, values: true });
    assert.deepEqual(
      second.items.map((item) => item.value?.toString()),
      ['value 3', 'value 4', 'value 5'],
    );

    const all = [];
    for await (const item of client.listAll({ prefix: 'list/', limit: 2, values: true })) all.push(item);
    assert.deepEqual(
      all.map((item) => item.key),
      keys,
    );
    assert.deepEqual(
      all.map((item) => item.value?.toString()),
      keys.map((_, index) => `value ${index}`),
    );
  });

  it('folders, glob search and whoami: the browsing routes the web UI uses', async () => {
    for (const key of ['browse/a/1', 'browse/a/2', 'browse/b/1', 'browse/top', 'browse/c/d/1'])
      await client.put(key, 'x');
    const top = await client.folders({ prefix: 'browse/' });
    assert.deepEqual(top.folders, [
      { prefix: 'browse/a/', keys: 2, more: false },
      { prefix: 'browse/b/', keys: 1, more: false },
      { prefix: 'browse/c/', keys: 1, more: false },
    ]);
    assert.equal(top.next, null);
    assert.ok(top.storeKeys !== null && top.storeKeys >= 5);
    const paged = await client.folders({ prefix: 'browse/', limit: 1 });
    assert.deepEqual(
      paged.folders.map((folder) => folder.prefix),
      ['browse/a/'],
    );
    const rest = await client.folders({ prefix: 'browse/', after: paged.next! });
    assert.deepEqual(
      rest.folders.map((folder) => folder.prefix),
      ['browse/b/', 'browse/c/'],
    );
    // Redis's glob: '*' matches '/' too.
    const matched = await client.list({ match: 'browse/*/1' });
    assert.deepEqual(
      matched.items.map((item) => item.key),
      ['browse/a/1', 'browse/b/1', 'browse/c/d/1'],
    );
    assert.deepEqual(await client.whoami(), {
      authenticated: true,
      scope: 'admin',
      prefixes: [],
      label: (await client.whoami()).label,
      privateReads: false,
    });
    const anonymous = await new KvsClient({ url: server.url }).whoami();
    assert.equal(anonymous.authenticated, false);
    assert.equal(anonymous.scope, null);
  });

  it('txn applies all operations or none and names the failed check', async () => {
    const expires = new Date(Date.now() + 7_200_123);
    const result = await client.txn({
      checks: [{ key: 'txn/a', absent: true }],
      operations: [
        { op: 'put', key: 'txn/a', value: 'text' },
        { op: 'put', key: 'txn/b', value: Buffer.from([0, 1, 2, 255]), contentType: 'application/x-bin', expires },
      ],
    });
    assert.deepEqual(
      result.puts.map((put) => put.key),
      ['txn/a', 'txn/b'],
    );
    assert.ok(result.puts.every((put) => put.modRevision === result.revision));
    assert.deepEqual((await client.get('txn/b'))?.value, Buffer.from([0, 1, 2, 255]));
    assert.equal((await client.get('txn/b'))?.expires?.getTime(), expires.getTime());

    const failed = await rejectsWith(
      client.txn({
        checks: [
          { key: 'txn/a', version: 1 },
          { key: 'txn/b', absent: true },
        ],
        operations: [
          { op: 'put', key: 'txn/c', value: 'never' },
          { op: 'delete', key: 'txn/a' },
        ],
      }),
      409,
      'txn_check_failed',
    );
    assert.equal((failed.details.failed as { index: number }).index, 1);
    assert.equal(await client.get('txn/c'), undefined);
    assert.equal(await client.getText('txn/a'), 'text');

    const deleted = await client.txn({
      checks: [{ key: 'txn/a', exists: true }],
      operations: [{ op: 'delete', key: 'txn/a' }],
    });
    assert.deepEqual(deleted.deleted, ['txn/a']);
  });

  it('seed helpers: seedPost saves every pair, seedGet returns the most recently updated key', async () => {
    await client.seedPost({ 'seed/one': '1', 'seed/two': 'two words & more' });
    await client.seedPost([['seed/three', '3']]);
    assert.deepEqual(await client.seedGet(['seed/two']).then((found) => [found?.key, found?.value.toString()]), [
      'seed/two',
      'two words & more',
    ]);
    const latest = await client.seedGet(['seed/one', 'seed/three', 'seed/missing']);
    assert.equal(latest?.key, 'seed/three');
    assert.equal(latest?.value.toString(), '3');
    assert.equal(await client.seedGet(['seed/none', 'seed/nada']), undefined);
    await rejectsWith(
      new KvsClient({ url: server.url, token: 'nope' }).seedPost({ 'seed/x': 'y' }),
      403,
      'auth_invalid',
    );
    assert.equal(await client.get('seed/x'), undefined);
  });

  it('watch replays from `since`, filters by prefix, carries values, and ends on abort', async () => {
    const since = (await client.list({ limit: 1 })).revision;
    const a = await client.put('watch1/a', 'one');
    await client.put('elsewhere/b', 'ignored');
    const stop = new AbortController();
    const events = client.watch({ prefix: 'watch1/', since, values: true, signal: stop.signal });
    const iterator = events[Symbol.asyncIterator]();
    assert.deepEqual((await take(iterator, 1)).map(brief), [['put', 'watch1/a', a.modRevision, 'one']]);
    // Live events after the replay.
    const b = await client.put('watch1/b', Buffer.from('two'));
    await client.delete('watch1/a');
    const live = await take(iterator, 2);
    assert.deepEqual(live.map(brief), [
      ['put', 'watch1/b', b.modRevision, 'two'],
      ['delete', 'watch1/a', b.modRevision + 1, undefined],
    ]);
    assert.equal(live[0]!.version, 1);
    stop.abort();
    assert.equal((await iterator.next()).done, true);
  });

  it('watch resumes with Last-Event-ID after the stream drops, missing and repeating nothing', async () => {
    const requests: { lastEventId: string | null }[] = [];
    let cut: (() => void) | undefined;
    // A real fetch whose connection the test can cut, as a network failure would.
    const cuttableFetch: typeof fetch = async (input, init) => {
      const connection = new AbortController();
      cut = () => connection.abort(new Error('connection cut by the test'));
      requests.push({ lastEventId: new Headers(init?.headers).get('last-event-id') });
      const signals = [connection.signal, ...(init?.signal ? [init.signal] : [])];
      return fetch(input, { ...init, signal: AbortSignal.any(signals) });
    };
    const watcher = new KvsClient({ url: server.url, token: server.token, fetch: cuttableFetch });
    const since = (await client.list({ limit: 1 })).revision;
    const stop = new AbortController();
    const iterator = watcher
      .watch({ prefix: 'watch2/', since, signal: stop.signal, retryDelayMs: 50 })
      [Symbol.asyncIterator]();
    const first = await client.put('watch2/1', 'a');
    const second = await client.put('watch2/2', 'b');
    assert.deepEqual(
      (await take(iterator, 2)).map((event) => event.revision),
      [first.modRevision, second.modRevision],
    );

    cut!();
    // Written while the stream is down: delivered after the reconnect from the change log.
    const third = await client.put('watch2/3', 'c');
    const fourth = await client.put('watch2/4', 'd');
    const resumed = await take(iterator, 2);
    assert.deepEqual(
      resumed.map((event) => [event.key, event.revision]),
      [
        ['watch2/3', third.modRevision],
        ['watch2/4', fourth.modRevision],
      ],
    );
    assert.ok(requests.length >= 2);
    assert.equal(requests[0]!.lastEventId, null);
    assert.equal(requests.at(-1)!.lastEventId, String(second.modRevision));
    stop.abort();
    assert.equal((await iterator.next()).done, true);
  });

  it('watch ends with history_compacted when asked for revisions the change log no longer holds', async () => {
    const small = await startServer({ args: ['--store', 'memory', '--log-length', '3'] });
    try {
      const writer = new KvsClient({ url: small.url, token: small.token });
      for (let index = 0; index < 10; index++) await writer.put(`c/${index}`, String(index));
      const iterator = writer.watch({ since: 1 })[Symbol.asyncIterator]();
      await rejectsWith(iterator.next(), 410, 'history_compacted');
    } finally {
      await small.stop();
      removeDir(small.dataDir);
    }
  });

  it('fails with connection_failed when the server cannot be reached', async () => {
    const stopped = await startServer({ args: ['--store', 'memory'] });
    await stopped.stop();
    removeDir(stopped.dataDir);
    const error = await rejectsWith(new KvsClient({ url: stopped.url }).get('x'), 0, 'connection_failed');
    assert.match(error.message, /ECONNREFUSED/);
  });
});
