// The seed's behaviours, literally as its users ran them (docs/architecture.md, "HTTP").
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { useServer } from '../helpers/use-server.js';

function curl(...args: string[]): { status: number; body: string; headers: string } {
  const result = spawnSync('curl', ['-s', '-D', '-', ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, `curl failed: ${result.stderr}`);
  const [head, ...rest] = result.stdout.split('\r\n\r\n');
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head!)![1]), headers: head!, body: rest.join('\r\n\r\n') };
}

describe('seed-compatible API', () => {
  const passcode = 'opensesame';
  // The seed's auth.txt: one passcode on one line.
  const server = useServer({ tokenFileText: `${passcode}\n` });

  it('stores with `curl --data "key=value&auth=PASS" URL` and reads with `curl URL/?k=key`', () => {
    const write = curl('--data', `key=value&auth=${passcode}`, server.url);
    assert.equal(write.status, 200);
    assert.equal(write.body, 'OK\n');
    const read = curl(`${server.url}/?k=key`);
    assert.equal(read.status, 200);
    assert.equal(read.body, 'value');
    assert.match(read.headers, /content-type: text\/plain; charset=utf-8/i);
  });

  it('saves every pair of one POST in one transaction (one revision)', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      body: new URLSearchParams({ a: '1', b: '2', c: 'three words', auth: passcode }),
    });
    assert.equal(response.status, 200);
    const revision = response.headers.get('kvs-revision');
    for (const [key, value] of [
      ['a', '1'],
      ['b', '2'],
      ['c', 'three words'],
    ]) {
      const read = await fetch(`${server.url}/?k=${key}`);
      assert.equal(await read.text(), value);
      assert.equal(read.headers.get('kvs-revision'), revision, `${key} was written by the same revision`);
    }
  });

  it('accepts Authorization: Bearer instead of the auth field', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${passcode}` },
      body: new URLSearchParams({ bearer: 'yes' }),
    });
    assert.equal(response.status, 200);
    assert.equal(await (await fetch(`${server.url}/?k=bearer`)).text(), 'yes');
  });

  it('refuses a missing passcode with 401 and a wrong one with 403, saving nothing', async () => {
    const missing = curl('--data', 'nopass=1', server.url);
    assert.equal(missing.status, 401);
    assert.match(missing.body, /auth_required/);
    const wrong = curl('--data', 'wrongpass=1&auth=nope', server.url);
    assert.equal(wrong.status, 403);
    assert.match(wrong.body, /auth_invalid/);
    assert.equal(curl(`${server.url}/?k=nopass`).status, 404);
    assert.equal(curl(`${server.url}/?k=wrongpass`).status, 404);
  });

  it('answers 404 in plain text for an absent key', () => {
    const read = curl(`${server.url}/?k=never-written`);
    assert.equal(read.status, 404);
    assert.match(read.headers, /content-type: text\/plain/i);
  });

  it('?k=K1,K2 returns the most recently updated existing key, named in Kvs-Key', async () => {
    const post = (body: Record<string, string>) =>
      fetch(server.url, { method: 'POST', body: new URLSearchParams({ ...body, auth: passcode }) });
    await post({ first: 'one' });
    await post({ second: 'two' });
    let read = await fetch(`${server.url}/?k=first,second,missing`);
    assert.equal(await read.text(), 'two');
    assert.equal(read.headers.get('kvs-key'), 'second');
    await post({ first: 'one again' });
    read = await fetch(`${server.url}/?k=first,second,missing`);
    assert.equal(await read.text(), 'one again');
    assert.equal(read.headers.get('kvs-key'), 'first');
    assert.equal((await fetch(`${server.url}/?k=missing1,missing2`)).status, 404);
  });

  it('serves an index page with the key count, recent keys with relative times and curl examples for this server', async () => {
    await fetch(server.url, { method: 'POST', body: new URLSearchParams({ 'tv/position': '1234', auth: passcode }) });
    const response = await fetch(`${server.url}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /text\/html/);
    const html = await response.text();
    const count = Number(/id="key-count">(\d+)</.exec(html)![1]);
    const listed = (await (await fetch(`${server.url}/v1/kv?limit=1000`)).json()) as { items: unknown[] };
    assert.equal(count, listed.items.length);
    assert.match(html, /tv\/position/);
    assert.match(html, /(now|seconds? ago)/);
    assert.ok(
      html.includes(`curl --data "greeting=hello&amp;auth=$TOKEN" ${server.url}/`),
      'curl example names this server',
    );
  });
});
