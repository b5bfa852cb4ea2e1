// A store whose range holds more expired-but-not-yet-swept keys than one listing passes over
// (LIST_SKIP_MAX, docs/limits.md): GET /v1/kv answers a short page with a cursor, and the typed
// client's listAll and `kvs export` follow it to the live keys behind them. The sweeper is held
// off so the expired keys stay.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { KvsClient } from '../../src/client/index.js';
import { useServer } from '../helpers/use-server.js';
import { runKvs } from './run-kvs.js';

const EXPIRED = 2500;

describe('listings over a range of expired keys not yet swept', () => {
  const server = useServer({ args: ['--sweep-interval-ms', '3600000'] });
  let client: KvsClient;

  before(async () => {
    client = new KvsClient({ url: server.url, token: server.token });
    const expires = new Date(Date.now() - 60_000);
    const keys = Array.from({ length: EXPIRED }, (_, index) => `ex/e${String(index).padStart(5, '0')}`);
    for (let start = 0; start < keys.length; start += 500)
      await client.txn({
        operations: keys.slice(start, start + 500).map((key) => ({ op: 'put' as const, key, value: 'old', expires })),
      });
    await client.txn({
      operations: ['ex/a', 'ex/z1', 'ex/z2'].map((key) => ({ op: 'put' as const, key, value: key })),
    });
  });

  it('GET /v1/kv answers fewer items than the limit and a cursor past the expired keys it passed over', async () => {
    const first = await client.list({ prefix: 'ex/', limit: 10 });
    assert.deepEqual(
      first.items.map((item) => item.key),
      ['ex/a'],
    );
    assert.equal(first.next, 'ex/e00999');
    // A page may hold nothing and still go on.
    const second = await client.list({ prefix: 'ex/', limit: 10, after: first.next! });
    assert.deepEqual(second.items, []);
    assert.equal(second.next, 'ex/e01999');
    const third = await client.list({ prefix: 'ex/', limit: 10, after: second.next! });
    assert.deepEqual(
      third.items.map((item) => item.key),
      ['ex/z1', 'ex/z2'],
    );
    assert.equal(third.next, null);
  });

  it('listAll and kvs export follow the cursor to every live key', async () => {
    const listed: string[] = [];
    for await (const item of client.listAll({ prefix: 'ex/', limit: 1 })) listed.push(item.key);
    assert.deepEqual(listed, ['ex/a', 'ex/z1', 'ex/z2']);
    const run = await runKvs(['export', '--format', 'ndjson', '--prefix', 'ex/'], {
      env: { KVS_URL: server.url, KVS_TOKEN: server.token },
    });
    assert.equal(run.code, 0, run.stderr);
    const exported = run.stdout
      .toString()
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { key: string }).key);
    assert.deepEqual(exported, ['ex/a', 'ex/z1', 'ex/z2']);
  });
});
