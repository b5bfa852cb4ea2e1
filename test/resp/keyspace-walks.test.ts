// Commands that walk the key space (KEYS, SCAN, RANDOMKEY) and listings over a range full of
// expired-but-not-yet-swept keys: each engine read is bounded (a page plus at most
// LIST_SKIP_MAX expired keys), and a walk that is inherently as long as the store (KEYS) lets
// other clients in between its pages. Checked by counting engine reads and the macrotask turns
// between them, never by timing (docs/limits.md).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { anonymous } from '../../src/core/service.js';
import { compareKeys } from '../../src/model/key-order.js';
import type { Operation } from '../../src/model/txn.js';
import type { Engine } from '../../src/storage/engine.js';
import { LIST_SKIP_MAX, type ListOptions } from '../../src/storage/engine.js';
import { SCAN_EXPIRED_MAX, WALK_SLICE_KEYS } from '../../src/resp/key-walk.js';
import { startInProcessServer, type InProcessServer } from './in-process-server.js';
import { RespTestClient } from './resp-test-client.js';

const T0 = 1_700_000_000_000;
const PAGE = 100;

async function putAll(engine: Engine, keys: readonly string[], expires: number | null, now: number): Promise<void> {
  for (let start = 0; start < keys.length; start += 500) {
    const operations: Operation[] = keys
      .slice(start, start + 500)
      .map((key) => ({ type: 'put', key, value: Buffer.from('v'), contentType: null, expires }));
    const result = await engine.commit({ conditions: [], operations }, now);
    assert.ok(result.ok);
  }
}

/** Counts engine list() calls and, for each, how many macrotask turns of this process ran before it. */
function watchListCalls(engine: Engine): { turnsAtCall: number[]; stop(): void } {
  const turnsAtCall: number[] = [];
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const original = engine.list.bind(engine);
  engine.list = (options, now) => {
    turnsAtCall.push(turns);
    return original(options, now);
  };
  return {
    turnsAtCall,
    stop() {
      ticking = false;
      engine.list = original;
    },
  };
}

describe('key-space walks stay bounded per event-loop turn', () => {
  let server: InProcessServer;
  let client: RespTestClient;
  let time = T0;

  before(async () => {
    server = await startInProcessServer({ limits: { maxListLimit: PAGE }, clock: () => time });
    client = await RespTestClient.connect(server.port);
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it('KEYS walks the store one page per macrotask turn, so other clients are served in between', async () => {
    const keys = Array.from({ length: 10 * PAGE }, (_, index) => `walk/${String(index).padStart(5, '0')}`);
    await putAll(server.engine, keys, null, time);
    const calls = watchListCalls(server.engine);
    try {
      const listed = (await client.do('KEYS', 'walk/*')) as string[];
      assert.equal(listed.length, keys.length);
    } finally {
      calls.stop();
    }
    const { turnsAtCall } = calls;
    assert.ok(turnsAtCall.length >= 10, `${turnsAtCall.length} engine reads`);
    for (let index = 1; index < turnsAtCall.length; index++)
      assert.ok(
        turnsAtCall[index]! > turnsAtCall[index - 1]!,
        `engine reads ${index - 1} and ${index} ran in the same event-loop turn: ${turnsAtCall.join(',')}`,
      );
  });

  it("KEYS's reply, encoded slice by slice along the walk, is every key in order whatever its bytes", async () => {
    // Over 64 KiB of reply (several chunks), with keys of several UTF-8 lengths and a long one.
    const keys = Array.from(
      { length: 30 * PAGE },
      (_, index) =>
        `enc/${['a', 'é', '😀', '\u4e2d'][index % 4]}/${String(index).padStart(5, '0')}/${'x'.repeat(index % 40)}`,
    );
    keys.push(`enc/long/${'y'.repeat(4000)}`);
    await putAll(server.engine, keys, null, time);
    // The test client reads bulk strings as latin1: one char per byte of the key's UTF-8.
    const sorted = [...keys].sort(compareKeys).map((key) => Buffer.from(key, 'utf8').toString('latin1'));
    assert.deepEqual(await client.do('KEYS', 'enc/*'), sorted);
    assert.deepEqual(
      await client.do('KEYS', 'enc/*7'),
      sorted.filter((key) => key.endsWith('7')),
    );
    assert.deepEqual(await client.do('KEYS', 'enc/nothing*'), []);
  });

  describe('over a range full of expired keys not yet swept', () => {
    const expiredKeys = Array.from({ length: 2500 }, (_, index) => `exp/e${String(index).padStart(5, '0')}`);

    before(async () => {
      await putAll(server.engine, expiredKeys, T0 + 1000, time);
      await putAll(server.engine, ['exp/a', 'exp/z1', 'exp/z2'], null, time);
      // The server's sweeper is not running (in-process listener): they stay, expired.
      time = T0 + 2000;
    });

    it('a listing page passes over at most LIST_SKIP_MAX of them and hands back a cursor to go on', async () => {
      const first = await server.service.list(anonymous, 'exp/', undefined, 10);
      assert.deepEqual(
        first.items.map((item) => item.key),
        ['exp/a'],
      );
      assert.equal(first.next, expiredKeys[LIST_SKIP_MAX - 1]);
      const keys: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await server.service.list(anonymous, 'exp/', cursor, 10);
        keys.push(...page.items.map((item) => item.key));
        if (page.next === null) break;
        cursor = page.next;
      }
      assert.deepEqual(keys, ['exp/a', 'exp/z1', 'exp/z2']);
    });

    it('SCAN answers with a cursor after a bounded number of them, fewer keys than COUNT', async () => {
      const [cursor, keys] = (await client.do('SCAN', '0', 'MATCH', 'exp/*', 'COUNT', '10')) as [string, string[]];
      assert.notEqual(cursor, '0');
      assert.ok(keys.length < 10, `${keys.length} keys`);
    });

    it('KEYS still lists every live key under them', async () => {
      assert.deepEqual(await client.do('KEYS', 'exp/*'), ['exp/a', 'exp/z1', 'exp/z2']);
    });
  });
});

/** Records the options of every engine list() call, and the macrotask turn it ran in. */
function recordListCalls(engine: Engine): { calls: { options: ListOptions; turn: number }[]; stop(): void } {
  const watch = watchListCalls(engine);
  const calls: { options: ListOptions; turn: number }[] = [];
  const counting = engine.list;
  engine.list = (options, now) => {
    calls.push({ options, turn: -1 });
    return counting(options, now);
  };
  return {
    calls,
    stop() {
      engine.list = counting;
      watch.stop();
      calls.forEach((call, index) => {
        call.turn = watch.turnsAtCall[index]!;
      });
    },
  };
}

describe('with the default page size (maxListLimit 1000), walks go in slices of WALK_SLICE_KEYS', () => {
  let server: InProcessServer;
  let client: RespTestClient;
  let other: RespTestClient;
  const keys = Array.from({ length: 2500 }, (_, index) => `slice/${String(index).padStart(5, '0')}`);

  before(async () => {
    server = await startInProcessServer();
    client = await RespTestClient.connect(server.port);
    other = await RespTestClient.connect(server.port);
    await putAll(server.engine, keys, null, Date.now());
  });
  after(async () => {
    client.close();
    other.close();
    await server.close();
  });

  it('KEYS lists every matching key, a slice per turn, and another client is answered before it ends', async () => {
    const recorder = recordListCalls(server.engine);
    let listCallsWhenAnswered = -1;
    let replies: [string[], unknown];
    try {
      const walk = client.do('KEYS', 'slice/*') as Promise<string[]>;
      // Sent while KEYS is walking: its answer must come between two slices, not after the walk.
      const answered = other.do('GET', keys[7]!).then((value) => {
        listCallsWhenAnswered = recorder.calls.length;
        return value;
      });
      replies = await Promise.all([walk, answered]);
    } finally {
      recorder.stop();
    }
    const [listed, value] = replies;
    assert.equal(value, 'v');
    assert.deepEqual(listed, keys);
    const { calls } = recorder;
    assert.ok(calls.length >= keys.length / WALK_SLICE_KEYS, `${calls.length} engine reads`);
    for (const { options } of calls) {
      assert.ok(options.limit <= WALK_SLICE_KEYS + 1, `a read asked for ${options.limit} keys`);
      assert.ok(
        (options.skipMax ?? LIST_SKIP_MAX) <= WALK_SLICE_KEYS,
        `a read may pass ${options.skipMax} expired keys`,
      );
    }
    for (let index = 1; index < calls.length; index++) assert.ok(calls[index]!.turn > calls[index - 1]!.turn);
    assert.ok(
      listCallsWhenAnswered > 0 && listCallsWhenAnswered < calls.length,
      `the other client was answered after ${listCallsWhenAnswered} of ${calls.length} engine reads`,
    );
  });

  it('SCAN COUNT 1000 reads its keys in slices with turns between, and an iteration returns every key once', async () => {
    const recorder = recordListCalls(server.engine);
    const seen: string[] = [];
    let cursor = '0';
    let calls = 0;
    try {
      do {
        const [next, page] = (await client.do('SCAN', cursor, 'MATCH', 'slice/*', 'COUNT', '1000')) as [
          string,
          string[],
        ];
        seen.push(...page);
        cursor = next;
        calls++;
      } while (cursor !== '0' && calls < 10);
    } finally {
      recorder.stop();
    }
    assert.deepEqual(seen, keys);
    assert.equal(calls, 3);
    for (const { options } of recorder.calls) assert.ok(options.limit <= WALK_SLICE_KEYS + 1, `${options.limit}`);
    assert.ok(recorder.calls.length >= keys.length / WALK_SLICE_KEYS, `${recorder.calls.length} engine reads`);
  });

  it('SCAN with a small COUNT still answers at most COUNT keys', async () => {
    const [cursor, page] = (await client.do('SCAN', '0', 'MATCH', 'slice/*', 'COUNT', '7')) as [string, string[]];
    assert.notEqual(cursor, '0');
    assert.deepEqual(page, keys.slice(0, 7));
  });

  it('SCAN over expired keys passes over at most COUNT + SCAN_EXPIRED_MAX of them per call', async () => {
    const now = Date.now();
    const expired = Array.from({ length: 3000 }, (_, index) => `slice-exp/${String(index).padStart(5, '0')}`);
    await putAll(server.engine, expired, now - 1, now - 1000);
    await putAll(server.engine, ['slice-exp/zz'], null, now);
    const recorder = recordListCalls(server.engine);
    const live: string[] = [];
    const cursors: string[] = [];
    let cursor = '0';
    try {
      do {
        const [next, page] = (await client.do('SCAN', cursor, 'MATCH', 'slice-exp/*', 'COUNT', '100')) as [
          string,
          string[],
        ];
        live.push(...page);
        cursor = next;
        cursors.push(next);
      } while (cursor !== '0' && cursors.length < 50);
    } finally {
      recorder.stop();
    }
    assert.deepEqual(live, ['slice-exp/zz']);
    // Each call passes over at most 100 + SCAN_EXPIRED_MAX of the 3000: it answers a cursor first.
    assert.ok(cursors.length >= Math.ceil(expired.length / (100 + SCAN_EXPIRED_MAX)), `${cursors.length} calls`);
    for (const { options } of recorder.calls) assert.ok((options.skipMax ?? LIST_SKIP_MAX) <= WALK_SLICE_KEYS);
  });
});

describe('RANDOMKEY on a large store of expired keys not yet swept', () => {
  let server: InProcessServer;
  let client: RespTestClient;
  let time = T0;

  before(async () => {
    server = await startInProcessServer({ clock: () => time });
    client = await RespTestClient.connect(server.port);
    const expired = Array.from({ length: 20_000 }, (_, index) => `r/e${String(index).padStart(5, '0')}`);
    await putAll(server.engine, expired, T0 + 1000, time);
    await putAll(server.engine, ['r/zz'], null, time);
    time = T0 + 2000;
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it('finds the live key reading a bounded number of records, not every expired one', async () => {
    const records = (server.engine as unknown as { records: Map<string, unknown> }).records;
    let reads = 0;
    records.get = (key: string) => {
      reads++;
      return Map.prototype.get.call(records, key);
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      reads = 0;
      assert.equal(await client.do('RANDOMKEY'), 'r/zz');
      // 16 random positions and the start (at most 2 + WALK_SLICE_KEYS records each), then 20 + LIST_SKIP_MAX recent ones.
      assert.ok(reads <= 17 * (WALK_SLICE_KEYS + 2) + 20 + LIST_SKIP_MAX, `${reads} records read`);
    }
  });
});
