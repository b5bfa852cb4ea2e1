// Compare-and-swap over HTTP against the real server: If-Match on PUT and DELETE, If-None-Match: *
// for create-only, and races where many clients try the same conditional write at once.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { KvHttp } from '../consistency/kv-http.js';
import { useServer } from '../helpers/use-server.js';

describe('compare-and-swap over HTTP', () => {
  let kv: KvHttp;

  const server = useServer();
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  it('PUT If-Match with the current version writes and bumps the version; a stale one gets 412 with the current version and ETag', async () => {
    const created = await kv.put('cas/a', 'one');
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('etag'), '"1"');

    const updated = await kv.put('cas/a', 'two', { ifMatch: '"1"' });
    assert.equal(updated.status, 200);
    assert.equal(updated.json.version, 2);
    assert.equal(updated.headers.get('etag'), '"2"');

    const stale = await kv.put('cas/a', 'three', { ifMatch: '"1"' });
    assert.equal(stale.status, 412);
    assert.equal(stale.json.error.code, 'version_mismatch');
    assert.equal(stale.json.error.currentVersion, 2);
    assert.equal(stale.headers.get('etag'), '"2"');

    const read = await kv.get('cas/a');
    assert.equal(read.text, 'two', 'a refused CAS must not write');
    assert.equal(read.headers.get('etag'), '"2"');
  });

  it('accepts the weak and the bare forms of a version in If-Match and refuses garbage with 400', async () => {
    await kv.put('cas/forms', 'v1');
    assert.equal((await kv.put('cas/forms', 'v2', { ifMatch: 'W/"1"' })).status, 200);
    assert.equal((await kv.put('cas/forms', 'v3', { ifMatch: '2' })).status, 200);
    const bad = await kv.put('cas/forms', 'v4', { ifMatch: '"abc"' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_version');
    assert.equal((await kv.get('cas/forms')).text, 'v3');
  });

  it('If-Match "0" means "the key must be absent"', async () => {
    const first = await kv.put('cas/zero', 'x', { ifMatch: '"0"' });
    assert.equal(first.status, 201);
    const second = await kv.put('cas/zero', 'y', { ifMatch: '"0"' });
    assert.equal(second.status, 412);
    assert.equal(second.json.error.currentVersion, 1);
  });

  it('If-Match on an absent key answers 412 with currentVersion 0 and no ETag', async () => {
    const answer = await kv.put('cas/missing', 'x', { ifMatch: '"3"' });
    assert.equal(answer.status, 412);
    assert.equal(answer.json.error.code, 'version_mismatch');
    assert.equal(answer.json.error.currentVersion, 0);
    assert.equal(answer.headers.get('etag'), null);
    assert.equal((await kv.get('cas/missing')).status, 404);
  });

  it('If-None-Match: * creates only: 201 the first time, then 412 key_exists with the current version', async () => {
    const created = await kv.put('cas/create', 'first', { ifNoneMatch: '*' });
    assert.equal(created.status, 201);
    assert.equal(created.json.version, 1);
    const again = await kv.put('cas/create', 'second', { ifNoneMatch: '*' });
    assert.equal(again.status, 412);
    assert.equal(again.json.error.code, 'key_exists');
    assert.equal(again.json.error.currentVersion, 1);
    assert.equal(again.headers.get('etag'), '"1"');
    assert.equal((await kv.get('cas/create')).text, 'first');
    // Only `*` is meaningful for a write.
    const other = await kv.put('cas/create', 'third', { ifNoneMatch: '"1"' });
    assert.equal(other.status, 400);
  });

  it('a deleted key can be created again with If-None-Match: *, starting a new incarnation at version 1', async () => {
    await kv.put('cas/reborn', 'a');
    await kv.put('cas/reborn', 'b');
    assert.equal((await kv.delete('cas/reborn')).status, 200);
    const created = await kv.put('cas/reborn', 'c', { ifNoneMatch: '*' });
    assert.equal(created.status, 201);
    assert.equal(created.json.version, 1);
    assert.equal(created.json.createRevision, created.json.modRevision);
  });

  it('DELETE If-Match deletes only at the given version; a mismatch answers 412 and keeps the key', async () => {
    await kv.put('cas/del', 'a');
    await kv.put('cas/del', 'b');
    const stale = await kv.delete('cas/del', '"1"');
    assert.equal(stale.status, 412);
    assert.equal(stale.json.error.code, 'version_mismatch');
    assert.equal(stale.json.error.currentVersion, 2);
    assert.equal(stale.headers.get('etag'), '"2"');
    assert.equal((await kv.get('cas/del')).status, 200);

    const deleted = await kv.delete('cas/del', '"2"');
    assert.equal(deleted.status, 200);
    assert.equal(deleted.json.deleted, true);
    assert.equal((await kv.get('cas/del')).status, 404);

    const gone = await kv.delete('cas/del', '"2"');
    assert.equal(gone.status, 412);
    assert.equal(gone.json.error.currentVersion, 0);
  });

  it('DELETE answers the revision of the delete itself', async () => {
    const put = await kv.put('cas/delrev', 'a');
    const deleted = await kv.delete('cas/delrev');
    assert.equal(deleted.status, 200);
    assert.equal(deleted.json.revision, put.json.modRevision + 1);
  });

  it('N concurrent create-only PUTs of one key: exactly one 201, every other answer 412 key_exists', async () => {
    const contenders = 24;
    for (let round = 0; round < 5; round++) {
      const key = `cas/race-create-${round}`;
      const answers = await Promise.all(
        Array.from({ length: contenders }, (_, index) => kv.put(key, `client-${index}`, { ifNoneMatch: '*' })),
      );
      const winners = answers.flatMap((answer, index) => (answer.status === 201 ? [index] : []));
      assert.equal(winners.length, 1, `statuses: ${answers.map((answer) => answer.status).join(',')}`);
      for (const answer of answers) {
        if (answer.status !== 201) {
          assert.equal(answer.status, 412);
          assert.equal(answer.json.error.code, 'key_exists');
          assert.equal(answer.json.error.currentVersion, 1);
        }
      }
      const stored = await kv.get(key);
      assert.equal(stored.text, `client-${winners[0]}`, 'the stored value is the winner’s');
      assert.equal(stored.headers.get('etag'), '"1"');
    }
  });

  it('N concurrent PUTs with the same If-Match: exactly one succeeds', async () => {
    const contenders = 24;
    const key = 'cas/race-match';
    await kv.put(key, 'start');
    for (let version = 1; version <= 5; version++) {
      const answers = await Promise.all(
        Array.from({ length: contenders }, (_, index) =>
          kv.put(key, `v${version}-client-${index}`, { ifMatch: `"${version}"` }),
        ),
      );
      const winners = answers.flatMap((answer, index) => (answer.status === 200 ? [index] : []));
      assert.equal(winners.length, 1, `statuses: ${answers.map((answer) => answer.status).join(',')}`);
      for (const answer of answers) {
        if (answer.status !== 200) {
          assert.equal(answer.status, 412);
          assert.equal(answer.json.error.currentVersion, version + 1);
        }
      }
      const stored = await kv.get(key);
      assert.equal(stored.text, `v${version}-client-${winners[0]}`);
      assert.equal(stored.headers.get('etag'), `"${version + 1}"`);
    }
  });
});
