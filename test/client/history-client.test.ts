// The typed client's per-key history methods against a real server (docs/history.md): history
// pages, getVersion/getRevision, diff, revert (with ifMatch) and deleted, and their errors as
// KvsClientError with the server's code.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { KvsClient, KvsClientError } from '../../src/client/index.js';
import { useServer } from '../helpers/use-server.js';

describe('KvsClient per-key history', () => {
  const server = useServer({ args: ['--store', 'memory'] });
  let client: KvsClient;
  before(() => {
    client = new KvsClient({ url: server.url, token: server.token });
  });

  it('history pages newest first, with who and values', async () => {
    const first = await client.put('c/a', 'one', { contentType: 'text/plain' });
    await client.put('c/a', 'two');
    const page = await client.history('c/a', { limit: 1, values: true });
    assert.equal(page.versions.length, 1);
    assert.equal(page.versions[0]!.version, 2);
    assert.equal(page.versions[0]!.value?.toString(), 'two');
    assert.equal(page.versions[0]!.who?.via, 'v1');
    assert.ok(page.versions[0]!.time instanceof Date);
    assert.notEqual(page.next, null);
    const older = await client.history('c/a', { before: page.next!, limit: 10 });
    assert.deepEqual(
      older.versions.map((entry) => [entry.revision, entry.type, entry.contentType, entry.value]),
      [[first.modRevision, 'put', 'text/plain', undefined]],
    );
    assert.equal(older.next, null);
  });

  it('getVersion, getRevision and diff', async () => {
    const first = await client.put('c/d', 'a\nb\n');
    await client.put('c/d', 'a\nc\n');
    const byVersion = await client.getVersion('c/d', 1);
    assert.equal(byVersion.value.toString(), 'a\nb\n');
    assert.equal(byVersion.revision, first.modRevision);
    const byRevision = await client.getRevision('c/d', first.modRevision);
    assert.equal(byRevision.version, 1);
    const diff = await client.diff('c/d', { from: 1 });
    assert.equal(diff.binary, false);
    assert.equal(diff.tooLarge, false);
    assert.equal(diff.added, 1);
    assert.equal(diff.removed, 1);
    assert.match(diff.patch!, /^\+c$/m);
    assert.equal(diff.to.version, 2);
    const byRevisions = await client.diff('c/d', { from: { revision: first.modRevision }, to: 1 });
    assert.equal(byRevisions.added, 0);
    await assert.rejects(
      client.getVersion('c/d', 9),
      (error) => error instanceof KvsClientError && error.status === 404 && error.code === 'version_not_kept',
    );
  });

  it('revert with ifMatch, and deleted keys restored by revert', async () => {
    await client.put('c/r', 'old');
    await client.put('c/r', 'new');
    await assert.rejects(
      client.revert('c/r', 1, { ifMatch: 1 }),
      (error) => error instanceof KvsClientError && error.code === 'version_mismatch',
    );
    const reverted = await client.revert('c/r', 1, { ifMatch: 2 });
    assert.equal(reverted.version, 3);
    assert.equal(await client.getText('c/r'), 'old');
    await client.delete('c/r');
    const deleted = await client.deleted({ prefix: 'c/' });
    assert.deepEqual(
      deleted.keys.map((entry) => [entry.key, entry.type, entry.lastPut?.version]),
      [['c/r', 'delete', 3]],
    );
    assert.equal(deleted.next, null);
    const restored = await client.revert('c/r', { revision: deleted.keys[0]!.lastPut!.revision });
    assert.equal(restored.version, 1);
    assert.equal(await client.getText('c/r'), 'old');
    assert.deepEqual((await client.deleted({ prefix: 'c/' })).keys, []);
  });
});
