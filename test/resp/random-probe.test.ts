// RANDOMKEY's random positions (src/resp/random-probe.ts) and RANDOMKEY itself on a store whose
// keys share one prefix: it must reach keys across the whole range, not answer the first key.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { compareKeys } from '../../src/model/key-order.js';
import type { Operation } from '../../src/model/txn.js';
import { probeBetween } from '../../src/resp/random-probe.js';
import { startInProcessServer, type InProcessServer } from './in-process-server.js';
import { RespTestClient } from './resp-test-client.js';

describe('probeBetween', () => {
  it('keeps the common prefix and draws the first differing code point between the two keys (seeded property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (a, b, fraction) => {
          const [low, high] = compareKeys(a, b) <= 0 ? [a, b] : [b, a];
          const probe = probeBetween(low, high, () => fraction);
          const lowPoints = Array.from(low);
          const highPoints = Array.from(high);
          let at = 0;
          while (at < lowPoints.length && at < highPoints.length && lowPoints[at] === highPoints[at]) at++;
          const prefix = lowPoints.slice(0, at).join('');
          assert.ok(probe.startsWith(prefix), 'the common prefix is kept');
          if (at < highPoints.length) {
            const drawn = Array.from(probe)[at]!.codePointAt(0)!;
            assert.ok(drawn >= (lowPoints[at]?.codePointAt(0) ?? 0), 'not below the low key there');
            assert.ok(drawn <= highPoints[at]!.codePointAt(0)!, 'not above the high key there');
          }
          assert.ok(
            !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(probe),
            'no lone surrogate',
          );
        },
      ),
      { seed: 20261130, numRuns: 500 },
    );
  });

  it('spreads over numbered keys sharing a prefix', () => {
    let state = 20261130;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const buckets = new Array<number>(10).fill(0);
    for (let draw = 0; draw < 10_000; draw++) buckets[Number(probeBetween('users/00000', 'users/99999', random)[6])]!++;
    for (const count of buckets) assert.ok(count > 700 && count < 1300, `first digits ${buckets.join(',')}`);
  });
});

describe('RANDOMKEY on a large store whose keys share one prefix', () => {
  let server: InProcessServer;
  let client: RespTestClient;

  before(async () => {
    server = await startInProcessServer({});
    client = await RespTestClient.connect(server.port);
    const keys = Array.from({ length: 12_000 }, (_, index) => `users/${String(index).padStart(5, '0')}`);
    for (let start = 0; start < keys.length; start += 500) {
      const operations: Operation[] = keys
        .slice(start, start + 500)
        .map((key) => ({ type: 'put', key, value: Buffer.from('v'), contentType: null, expires: null }));
      assert.ok((await server.engine.commit({ conditions: [], operations }, Date.now())).ok);
    }
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it('answers keys from across the range, not the first key again and again', async () => {
    const seen = new Set<string>();
    for (let call = 0; call < 300; call++) seen.add(String(await client.do('RANDOMKEY')));
    // Drawn from all printable text, nine positions in ten fell before `users/` (the first key).
    assert.ok(seen.size >= 200, `${seen.size} distinct keys in 300 calls`);
    const sorted = [...seen].sort(compareKeys);
    assert.ok(sorted[0]! < 'users/02000' && sorted.at(-1)! >= 'users/10000', `range ${sorted[0]}..${sorted.at(-1)}`);
  });
});
