// On --private, a listing never names a key the caller may not read: not in `items`, not in the
// `next` cursor (KvService.readablePage). Pagination over a prefix-limited token still sees
// every readable key exactly once.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { newToken } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

const KEYS = ['a/1', 'a/2', 'aa', 'b/1', 'b/2', 'c/1', 'c/2/x', 'p/in', 'p/z', 'q/out', 'é/1', '\u{1F600}'];

describe('listing on a --private server with prefix tokens', () => {
  const admin = newToken();
  const prefixToken = newToken();
  const multiToken = newToken();
  const grants: Record<string, readonly string[]> = { [prefixToken]: ['p/'], [multiToken]: ['c/', 'a/', 'é/'] };

  const server = useServer({
    args: ['--private'],
    tokenFileText: `${admin} admin\n${prefixToken} write p/\n${multiToken} read c/,a/,é/\n`,
  });
  before(async () => {
    for (const key of KEYS) {
      const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${admin}` },
        body: key,
      });
      assert.ok(response.ok);
    }
  });

  async function page(token: string, query: string): Promise<{ items: { key: string }[]; next: string | null }> {
    const response = await fetch(`${server.url}/v1/kv?${query}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as { items: { key: string }[]; next: string | null };
  }

  it('the reported case: after=p/in&limit=1 does not name q/out', async () => {
    const answer = await page(prefixToken, 'after=p/in&limit=1');
    assert.deepEqual(
      answer.items.map((item) => item.key),
      ['p/z'],
    );
    const last = await page(prefixToken, 'after=p/z&limit=1');
    assert.deepEqual(last, { ...last, items: [], next: null });
  });

  it('every page, every limit, every prefix: only readable keys, each exactly once', async () => {
    for (const token of [prefixToken, multiToken]) {
      const allowed = grants[token]!;
      for (const prefix of ['', 'a', 'a/', 'b', 'c/2', 'p/', 'q', 'é']) {
        const expected = KEYS.filter(
          (key) => key.startsWith(prefix) && allowed.some((grant) => key.startsWith(grant)),
        ).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        for (const limit of [1, 2, 3, 100]) {
          const seen: string[] = [];
          let cursor: string | null = null;
          for (let round = 0; round < 50; round++) {
            const query = new URLSearchParams({ prefix, limit: String(limit) });
            if (cursor !== null) query.set('after', cursor);
            for (const values of ['0', '1']) {
              query.set('values', values);
              const answer = await page(token, query.toString());
              for (const key of [
                ...answer.items.map((item) => item.key),
                ...(answer.next === null ? [] : [answer.next]),
              ]) {
                assert.ok(
                  allowed.some((grant) => key.startsWith(grant)),
                  `${allowed} listing ${query} named ${key}`,
                );
              }
              if (values === '1') {
                seen.push(...answer.items.map((item) => item.key));
                cursor = answer.next;
              }
            }
            if (cursor === null) break;
          }
          assert.deepEqual(seen, expected, `${allowed} prefix=${prefix} limit=${limit}`);
        }
      }
    }
  });

  it('an admin token still lists everything', async () => {
    const answer = await page(admin, 'limit=100');
    assert.equal(answer.items.length, KEYS.length);
  });
});
