// REST v1 basics over the real server (docs/architecture.md, "HTTP").
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authed } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

describe('REST v1 keys', () => {
  const server = useServer();
  const kv = (key: string) => `${server.url}/v1/kv/${key}`;

  it('PUT then GET returns the bytes, the stored Content-Type and metadata headers', async () => {
    const put = await fetch(
      kv('config/app.json'),
      authed(server, { method: 'PUT', body: '{"a":1}', headers: { 'content-type': 'application/json' } }),
    );
    assert.equal(put.status, 201);
    const meta = (await put.json()) as { version: number; modRevision: number; createRevision: number };
    assert.equal(meta.version, 1);
    const get = await fetch(kv('config/app.json'));
    assert.equal(get.status, 200);
    assert.equal(await get.text(), '{"a":1}');
    assert.equal(get.headers.get('content-type'), 'application/json');
    assert.equal(get.headers.get('etag'), '"1"');
    assert.equal(get.headers.get('kvs-revision'), String(meta.modRevision));
    assert.ok(!Number.isNaN(Date.parse(get.headers.get('last-modified')!)));
    assert.equal(get.headers.get('kvs-expires'), null);
    const update = await fetch(
      kv('config/app.json'),
      authed(server, { method: 'PUT', body: '{"a":2}', headers: { 'content-type': 'application/json' } }),
    );
    assert.equal(update.status, 200);
    const second = (await update.json()) as { version: number; createRevision: number; modRevision: number };
    assert.equal(second.version, 2);
    assert.equal(second.createRevision, meta.createRevision);
    assert.ok(second.modRevision > meta.modRevision);
  });

  it("a PUT without a Content-Type, or with curl --data's form type, stores none; the seed form post is unchanged", async () => {
    // Both the write fast path (no query string) and the route (?ttl=) store the same.
    const listed = async (key: string) => {
      const page = (await (await fetch(`${server.url}/v1/kv?prefix=${encodeURIComponent(key)}`)).json()) as {
        items: { key: string; contentType: string | null }[];
      };
      return page.items.find((item) => item.key === key)?.contentType;
    };
    const cases: [string, Record<string, string>][] = [
      ['types/none', {}],
      ['types/none-ttl?ttl=3600', {}],
      ['types/form', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['types/form-ttl?ttl=3600', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['types/form-charset', { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=utf-8' }],
    ];
    for (const [path, headers] of cases) {
      const put = await fetch(kv(path), authed(server, { method: 'PUT', body: Buffer.from('a=1&b'), headers }));
      assert.equal(put.status, 201, path);
      const key = path.replace(/\?.*/, '');
      assert.equal(await listed(key), null, `${path}: no content type stored`);
      const get = await fetch(kv(key));
      assert.equal(await get.text(), 'a=1&b', path);
      assert.equal(get.headers.get('content-type'), 'text/plain; charset=utf-8', `${path}: the text default`);
    }
    const typed = await fetch(
      kv('types/csv'),
      authed(server, { method: 'PUT', body: 'a,b\n', headers: { 'content-type': 'text/csv' } }),
    );
    assert.equal(typed.status, 201);
    assert.equal(await listed('types/csv'), 'text/csv', 'an explicit type is stored as given');

    const seed = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `types/seed=hello&auth=${encodeURIComponent(server.token)}`,
    });
    assert.equal(seed.status, 200);
    assert.equal(await (await fetch(`${server.url}/?k=types/seed`)).text(), 'hello');
    assert.equal(await listed('types/seed'), null);
  });

  it('keys are the rest of the path, percent-decoded: slashes, %2F, spaces and unicode', async () => {
    for (const [path, key] of [
      ['a/b/c', 'a/b/c'],
      ['x%2Fy', 'x/y'],
      ['with%20space', 'with space'],
      [encodeURIComponent('ключ/🔑'), 'ключ/🔑'],
    ] as const) {
      const put = await fetch(kv(path), authed(server, { method: 'PUT', body: key }));
      assert.ok(put.ok, `PUT ${path}: ${put.status}`);
      assert.equal(((await put.json()) as { key: string }).key, key);
      assert.equal(await (await fetch(kv(encodeURIComponent(key)))).text(), key);
    }
  });

  it('values are bytes: every byte value round-trips', async () => {
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, index) => index % 256));
    const put = await fetch(
      kv('binary'),
      authed(server, { method: 'PUT', body: bytes, headers: { 'content-type': 'application/octet-stream' } }),
    );
    assert.ok(put.ok);
    const get = await fetch(kv('binary'));
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), bytes);
    const empty = await fetch(kv('empty'), authed(server, { method: 'PUT', body: '' }));
    assert.ok(empty.ok);
    assert.equal((await (await fetch(kv('empty'))).arrayBuffer()).byteLength, 0);
  });

  it('HEAD answers the headers without a body; GET of an absent key is a JSON 404', async () => {
    await fetch(kv('headed'), authed(server, { method: 'PUT', body: 'hello' }));
    const head = await fetch(kv('headed'), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('etag'), '"1"');
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const missing = await fetch(kv('absent'));
    assert.equal(missing.status, 404);
    assert.deepEqual(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  it('DELETE removes the key and 404s the second time', async () => {
    await fetch(kv('doomed'), authed(server, { method: 'PUT', body: 'x' }));
    const first = await fetch(kv('doomed'), authed(server, { method: 'DELETE' }));
    assert.equal(first.status, 200);
    assert.equal(((await first.json()) as { deleted: boolean }).deleted, true);
    assert.equal((await fetch(kv('doomed'))).status, 404);
    assert.equal((await fetch(kv('doomed'), authed(server, { method: 'DELETE' }))).status, 404);
  });

  it('lists in key order with metadata and follows the cursor over every key once', async () => {
    const keys = Array.from({ length: 25 }, (_, index) => `list/${String(index).padStart(3, '0')}`);
    await fetch(
      `${server.url}/v1/txn`,
      authed(server, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ operations: keys.map((key) => ({ op: 'put', key, value: key })) }),
      }),
    );
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const query: string = `prefix=list/&limit=7${after === null ? '' : `&after=${encodeURIComponent(after)}`}`;
      const page = (await (await fetch(`${server.url}/v1/kv?${query}`)).json()) as {
        items: { key: string; version: number; size: number; modRevision: number; updated: string }[];
        next: string | null;
      };
      pages++;
      for (const item of page.items) {
        seen.push(item.key);
        assert.equal(item.version, 1);
        assert.equal(item.size, item.key.length);
      }
      after = page.next;
    } while (after !== null);
    assert.deepEqual(seen, keys);
    assert.equal(pages, 4);
    const withValues = (await (await fetch(`${server.url}/v1/kv?prefix=list/&limit=2&values=1`)).json()) as {
      items: { value: string }[];
    };
    assert.equal(Buffer.from(withValues.items[0]!.value, 'base64').toString(), 'list/000');
  });

  it('serves /healthz, /readyz, /metrics and an OpenAPI document of the routes', async () => {
    assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string; engine: string };
    assert.equal(ready.status, 'ready');
    assert.equal(ready.engine, 'lmdb');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^kvs_revision \d+$/m);
    assert.match(metrics, /kvs_http_requests_total\{method="GET",status="200"\} \d+/);
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.match(openapi.openapi, /^3\./);
    for (const path of ['/v1/kv/*', '/v1/kv', '/v1/txn', '/v1/watch', '/'])
      assert.ok(
        path in openapi.paths || path.replace('*', '{*}') in openapi.paths,
        `OpenAPI documents ${path}: ${Object.keys(openapi.paths).join(', ')}`,
      );
  });

  it('unknown routes answer a JSON 404', async () => {
    const response = await fetch(`${server.url}/nope`);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'route_not_found');
  });
});
