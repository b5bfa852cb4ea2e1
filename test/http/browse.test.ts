// The browsing routes of the web UI (docs/ui.md): GET /v1/folders (folders under a prefix with
// counts from the engine's folder index, capped scans where it cannot answer, paging, the store's key count, the per-answer folder limit), GET /v1/kv?match=
// (glob search, bounded per answer) and GET /v1/whoami, on a public and a --private server.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { FOLDER_INDEX_DEPTH } from '../../src/storage/folder-index.js';
import { newToken } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

interface FolderAnswer {
  folders: { prefix: string; keys: number; more: boolean }[];
  next: string | null;
  revision: number;
  storeKeys: number | null;
  prefixKeys: number | null;
}

const admin = newToken();
const scoped = newToken();
const narrower = newToken();

async function putMany(url: string, token: string, keys: readonly string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += 500) {
    const operations = keys.slice(start, start + 500).map((key) => ({ op: 'put', key, value: 'v' }));
    const response = await fetch(`${url}/v1/txn`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ operations }),
    });
    assert.equal(response.status, 200, await response.text());
  }
}

async function getJson<T>(url: string, token?: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as T };
}

// 1,001 keys under big/ (past the scan's count cap), 150 one-key folders under many/ (past one
// answer), keys outside any folder, and 1,001 keys in a folder deeper than the index goes.
const DEEP = `nest/${'d/'.repeat(FOLDER_INDEX_DEPTH)}`;
const KEYS = [
  ...Array.from({ length: 1001 }, (_, index) => `${DEEP}${String(index).padStart(4, '0')}`),
  ...Array.from({ length: 1001 }, (_, index) => `big/${String(index).padStart(4, '0')}`),
  ...Array.from({ length: 150 }, (_, index) => `many/f${String(index).padStart(3, '0')}/x`),
  'a/1',
  'a/2/deep',
  'a/2/deeper/x',
  'loose',
  'zz/y',
  'user/1/name',
  'user/1/mail',
  'user/2/name',
  'user/22/name',
];

for (const store of ['memory', 'lmdb'])
  describe(`browsing routes on a public server (${store})`, () => {
    const server = useServer({
      args: ['--store', store],
      tokenFileText: `${admin} admin\n${scoped} read a/\n`,
      token: admin,
    });
    before(() => putMany(server.url, admin, KEYS));

    it('lists the folders under a prefix with their exact key counts from the folder index', async () => {
      const { status, body } = await getJson<FolderAnswer>(`${server.url}/v1/folders`);
      assert.equal(status, 200);
      assert.deepEqual(body.folders, [
        { prefix: 'a/', keys: 3, more: false },
        { prefix: 'big/', keys: 1001, more: false },
        { prefix: 'many/', keys: 150, more: false },
        { prefix: 'nest/', keys: 1001, more: false },
        { prefix: 'user/', keys: 4, more: false },
        { prefix: 'zz/', keys: 1, more: false },
      ]);
      assert.equal(body.next, null);
      assert.equal(body.storeKeys, KEYS.length, 'the store key count');
      const nested = await getJson<FolderAnswer>(`${server.url}/v1/folders?prefix=a%2F`);
      assert.deepEqual(nested.body.folders, [{ prefix: 'a/2/', keys: 2, more: false }]);
      assert.equal(nested.body.prefixKeys, 3, "the prefix's own count, from the folder index");
      assert.equal(body.prefixKeys, null, 'the store is not a folder');
      const notFolder = await getJson<FolderAnswer>(`${server.url}/v1/folders?prefix=a`);
      assert.equal(notFolder.body.prefixKeys, null, 'a prefix without a trailing / is not a folder');
    });

    it('counts follow writes and deletes at once', async () => {
      await putMany(server.url, admin, ['big/new', 'fresh/1']);
      const deleted = await fetch(`${server.url}/v1/kv/big/0000`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${admin}` },
      });
      assert.equal(deleted.status, 200);
      const { body } = await getJson<FolderAnswer>(`${server.url}/v1/folders`);
      const counts = Object.fromEntries(body.folders.map((folder) => [folder.prefix, folder.keys]));
      assert.equal(counts['big/'], 1001);
      assert.equal(counts['fresh/'], 1);
      await fetch(`${server.url}/v1/kv/fresh/1`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
      await putMany(server.url, admin, ['big/0000']);
    });

    it('a folder deeper than the index is counted by a scan, capped at 1000', async () => {
      const parent = DEEP.slice(0, DEEP.length - 2);
      const { body } = await getJson<FolderAnswer>(`${server.url}/v1/folders?prefix=${encodeURIComponent(parent)}`);
      assert.deepEqual(body.folders, [{ prefix: DEEP, keys: 1000, more: true }]);
      const inside = await getJson<FolderAnswer>(`${server.url}/v1/folders?prefix=${encodeURIComponent(DEEP)}`);
      assert.equal(inside.body.prefixKeys, null);
    });

    it('pages through folders with after= and refuses more than 100 per answer', async () => {
      const first = await getJson<FolderAnswer>(`${server.url}/v1/folders?prefix=many%2F&limit=100`);
      assert.equal(first.body.folders.length, 100);
      assert.equal(first.body.next, 'many/f099/');
      const second = await getJson<FolderAnswer>(
        `${server.url}/v1/folders?prefix=many%2F&limit=100&after=${encodeURIComponent(first.body.next!)}`,
      );
      assert.deepEqual(
        second.body.folders.map((folder) => folder.prefix),
        Array.from({ length: 50 }, (_, index) => `many/f${String(index + 100).padStart(3, '0')}/`),
      );
      assert.equal(second.body.next, null);
      const refused = await getJson<{ error: { code: string; limit: number } }>(`${server.url}/v1/folders?limit=101`);
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'invalid_cursor');
      assert.equal(refused.body.error.limit, 100);
    });

    it('searches with a glob, one bounded page after another', async () => {
      const { body } = await getJson<{ items: { key: string }[]; next: string | null }>(
        `${server.url}/v1/kv?match=${encodeURIComponent('user/*/name')}&limit=2`,
      );
      assert.deepEqual(
        body.items.map((item) => item.key),
        ['user/1/name', 'user/2/name'],
      );
      assert.equal(body.next, 'user/2/name');
      const rest = await getJson<{ items: { key: string }[]; next: string | null }>(
        `${server.url}/v1/kv?match=${encodeURIComponent('user/*/name')}&limit=2&after=user%2F2%2Fname`,
      );
      assert.deepEqual(
        rest.body.items.map((item) => item.key),
        ['user/22/name'],
      );
      assert.equal(rest.body.next, null);
      const contains = await getJson<{ items: { key: string }[] }>(
        `${server.url}/v1/kv?match=${encodeURIComponent('*deep*')}`,
      );
      assert.deepEqual(
        contains.body.items.map((item) => item.key),
        ['a/2/deep', 'a/2/deeper/x'],
      );
      const both = await getJson<{ error: { code: string } }>(`${server.url}/v1/kv?match=a*&prefix=a`);
      assert.equal(both.status, 400);
    });

    it('a search examines at most 10000 keys per answer and says where to go on', async () => {
      // 10,500 keys in one range, none matching before the last: the first answer is empty with a cursor.
      const keys = Array.from({ length: 10_500 }, (_, index) => `scan/${String(index).padStart(5, '0')}`);
      await putMany(server.url, admin, keys);
      const first = await getJson<{ items: { key: string }[]; next: string | null }>(
        `${server.url}/v1/kv?match=${encodeURIComponent('scan/*99')}&limit=1000`,
      );
      assert.equal(first.body.next, 'scan/09999');
      assert.equal(first.body.items.length, 100);
      const second = await getJson<{ items: { key: string }[]; next: string | null }>(
        `${server.url}/v1/kv?match=${encodeURIComponent('scan/*99')}&limit=1000&after=scan%2F09999`,
      );
      assert.deepEqual(
        second.body.items.map((item) => item.key),
        ['scan/10099', 'scan/10199', 'scan/10299', 'scan/10399', 'scan/10499'],
      );
      assert.equal(second.body.next, null);
    });

    it('whoami answers scope, prefixes and label, never the token', async () => {
      const anonymous = await getJson<Record<string, unknown>>(`${server.url}/v1/whoami`);
      assert.deepEqual(anonymous.body, {
        authenticated: false,
        scope: null,
        prefixes: [],
        label: null,
        privateReads: false,
      });
      const limited = await getJson<Record<string, unknown>>(`${server.url}/v1/whoami`, scoped);
      assert.deepEqual(limited.body, {
        authenticated: true,
        scope: 'read',
        prefixes: ['a/'],
        label: 'token#2(read)',
        privateReads: false,
      });
      const wrong = await fetch(`${server.url}/v1/whoami`, { headers: { authorization: 'Bearer not-a-token' } });
      assert.equal(wrong.status, 403);
      const openapi = await (await fetch(`${server.url}/openapi.json`)).text();
      assert.ok(
        openapi.includes('/v1/whoami') && openapi.includes('/v1/folders'),
        'both routes are in the OpenAPI document',
      );
      assert.ok(!openapi.includes(admin));
    });
  });

describe('browsing routes on a --private server', () => {
  const server = useServer({
    args: ['--store', 'memory', '--private'],
    tokenFileText: `${admin} admin\n${scoped} read a/\n${narrower} read a/2/\n`,
    token: admin,
  });
  before(() => putMany(server.url, admin, KEYS));

  it('a token that may read only part of a folder gets the count of that part, not the index', async () => {
    const partial = await getJson<FolderAnswer>(`${server.url}/v1/folders`, narrower);
    assert.deepEqual(partial.body.folders, [{ prefix: 'a/', keys: 2, more: false }]);
    const inside = await getJson<FolderAnswer>(`${server.url}/v1/folders?prefix=a%2F`, narrower);
    assert.equal(inside.body.prefixKeys, null, 'no count of keys the token may not read');
    assert.equal((await getJson<FolderAnswer>(`${server.url}/v1/folders?prefix=a%2F`, scoped)).body.prefixKeys, 3);
    const whole = await getJson<FolderAnswer>(`${server.url}/v1/folders`, scoped);
    assert.deepEqual(whole.body.folders, [{ prefix: 'a/', keys: 3, more: false }]);
  });

  it('folders need a token, show only readable keys, and hide the store count from a limited token', async () => {
    assert.equal((await getJson(`${server.url}/v1/folders`)).status, 401);
    const limited = await getJson<FolderAnswer>(`${server.url}/v1/folders`, scoped);
    assert.deepEqual(limited.body.folders, [{ prefix: 'a/', keys: 3, more: false }]);
    assert.equal(limited.body.storeKeys, null);
    const full = await getJson<FolderAnswer>(`${server.url}/v1/folders`, admin);
    assert.equal(full.body.storeKeys, KEYS.length);
    const who = await getJson<{ privateReads: boolean; scope: string }>(`${server.url}/v1/whoami`);
    assert.equal(who.status, 200, 'whoami answers without a token on a private server');
    assert.equal(who.body.privateReads, true);
  });
});
