// With --private, a prefix-limited token lists only keys under its prefixes: neither the items
// nor the `next` cursor may name any other key (the cursor once leaked the next key of the whole
// store: `?after=p/in&limit=1` answered `{"items":[],"next":"q/out"}`).

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { newToken } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

interface Listing {
  items: { key: string }[];
  next: string | null;
}

describe('listing with a prefix token on --private', () => {
  const admin = newToken();
  const limited = newToken();
  const keys = ['a/x', 'app/1', 'app/2', 'apq', 'p/in', 'p/z', 'q/out', 'shared/s', 'z'];

  const server = useServer({
    args: ['--private'],
    tokenFileText: `${admin} admin\n${limited} write p/,app/,shared/s,app/1\n`,
  });
  before(async () => {
    for (const key of keys) {
      const answer = await fetch(`${server.url}/v1/kv/${key}`, {
        method: 'PUT',
        body: key,
        headers: { authorization: `Bearer ${admin}` },
      });
      assert.equal(answer.status, 201);
    }
  });

  const list = async (query: string): Promise<Listing> => {
    const answer = await fetch(`${server.url}/v1/kv?${query}`, { headers: { authorization: `Bearer ${limited}` } });
    assert.equal(answer.status, 200, query);
    return (await answer.json()) as Listing;
  };

  it('the cursor never names a key outside the token prefixes', async () => {
    const keysOf = (listing: Listing) => ({ keys: listing.items.map((item) => item.key), next: listing.next });
    assert.deepEqual(keysOf(await list('after=p/in&limit=1')), { keys: ['p/z'], next: 'p/z' });
    assert.deepEqual(keysOf(await list('after=p/z&limit=1')), { keys: ['shared/s'], next: null });
    assert.deepEqual(keysOf(await list('after=apq&limit=1')), { keys: ['p/in'], next: 'p/in' });
  });

  it('walking every page with limit=1 visits exactly the readable keys, in order', async () => {
    const seen: string[] = [];
    const cursors: string[] = [];
    let next: string | null = null;
    for (let page = 0; page < 20; page++) {
      const listing = await list(`limit=1${next === null ? '' : `&after=${encodeURIComponent(next)}`}`);
      seen.push(...listing.items.map((item) => item.key));
      if (listing.next === null) break;
      cursors.push(listing.next);
      next = listing.next;
    }
    assert.deepEqual(seen, ['app/1', 'app/2', 'p/in', 'p/z', 'shared/s']);
    for (const cursor of cursors) assert.ok(seen.includes(cursor), `cursor ${cursor} is a readable key`);
  });

  it('a prefix outside the token lists nothing and leaks no cursor; one inside a token prefix lists just that part', async () => {
    const outside = await list('prefix=q/&limit=5');
    assert.deepEqual([outside.items, outside.next], [[], null]);
    assert.deepEqual(await list('prefix=a&limit=5').then((l) => l.items.map((item) => item.key)), ['app/1', 'app/2']);
    assert.deepEqual(await list('prefix=app/2&limit=5').then((l) => l.items.map((item) => item.key)), ['app/2']);
  });
});
