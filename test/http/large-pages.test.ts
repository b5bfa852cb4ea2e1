// Listing pages of more than RENDER_SLICE_ITEMS items are rendered a slice at a time with turns
// for other clients between them (src/http/sliced-page.ts): their text must be exactly what one
// serialization of the whole page gives. Pages of at most that many are serialized in one piece,
// so a large page's items must read, byte for byte, as the smaller pages' items joined.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RENDER_SLICE_ITEMS } from '../../src/http/sliced-page.js';
import { authed } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

const ODD_KEYS = ['big/"quoted"', 'big/back\\slash', 'big/é-accent', 'big/😀-emoji', 'big/tab\there', 'big/<tag>&'];
const PLAIN_KEYS = Array.from(
  { length: 2 * RENDER_SLICE_ITEMS + 40 },
  (_, index) => `big/k${String(index).padStart(4, '0')}`,
);
const PAGE = PLAIN_KEYS.length + ODD_KEYS.length;

describe('large listing pages', () => {
  const server = useServer();

  it('read byte for byte as the same items listed in pages small enough to be serialized at once', async () => {
    const keys = [...ODD_KEYS, ...PLAIN_KEYS];
    const operations = keys.map((key, index) => ({
      op: 'put',
      key,
      value: `value of ${key} ${'x'.repeat(index % 7)}`,
      ...(index % 3 === 0 ? { contentType: 'text/plain' } : {}),
      ...(index % 5 === 0 ? { ttl: 3600 } : {}),
    }));
    const write = await fetch(
      `${server.url}/v1/txn`,
      authed(server, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ operations }),
      }),
    );
    assert.equal(write.status, 200, await write.text());
    // A key after the prefix, so that the large page has a `next`.
    const after = await fetch(`${server.url}/v1/kv/big~after`, authed(server, { method: 'PUT', body: 'v' }));
    assert.equal(after.status, 201);

    for (const values of ['0', '1']) {
      const large = await fetch(`${server.url}/v1/kv?prefix=big/&limit=${PAGE - 1}&values=${values}`);
      assert.equal(large.status, 200);
      assert.equal(large.headers.get('content-type'), 'application/json; charset=utf-8');
      const text = await large.text();
      const parsed = JSON.parse(text) as { items: { key: string }[]; next: string | null; revision: number };
      assert.equal(parsed.items.length, PAGE - 1);
      assert.equal(parsed.next, parsed.items.at(-1)!.key);

      // The same items in pages serialized at once, each page's items text cut out and joined.
      const small: string[] = [];
      let cursor: string | null = null;
      let listed = 0;
      while (listed < PAGE - 1) {
        const limit = Math.min(RENDER_SLICE_ITEMS, PAGE - 1 - listed);
        const query: string = `prefix=big/&limit=${limit}&values=${values}${cursor === null ? '' : `&after=${encodeURIComponent(cursor)}`}`;
        const pageText = await (await fetch(`${server.url}/v1/kv?${query}`)).text();
        const page = JSON.parse(pageText) as { items: unknown[]; next: string | null };
        small.push(pageText.slice('{"items":['.length, pageText.indexOf('],"next":')));
        listed += page.items.length;
        cursor = page.next;
      }
      assert.equal(
        text,
        `{"items":[${small.join(',')}],"next":${JSON.stringify(parsed.next)},"revision":${parsed.revision}}`,
        `values=${values}`,
      );
    }
  });
});
