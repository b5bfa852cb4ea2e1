// kvs token create|list|revoke and the typed client's createToken/listTokens/revokeToken
// against a real server (docs/tokens.md, docs/cli.md).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KvsClient, KvsClientError } from '../../src/client/index.js';
import { removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { runKvs } from './run-kvs.js';

describe('API tokens from the CLI and the client', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
    removeDir(server.dataDir);
  });

  it('kvs token create prints the secret once; list shows ids, never secrets; revoke ends it', async () => {
    const env = { KVS_URL: server.url, KVS_TOKEN: server.token };
    const created = await runKvs(
      ['token', 'create', '--scope', 'write', '--prefix', 'tv/', '--label', 'tv', '--ttl', '3600'],
      {
        env,
      },
    );
    assert.equal(created.code, 0, created.stderr);
    const secret = created.stdout.toString().trim();
    assert.match(secret, /^kvs_/);
    const id = /created write token (tok_[0-9a-f]+) limited to tv\//.exec(created.stderr)?.[1];
    assert.ok(id !== undefined, created.stderr);

    const use = { KVS_URL: server.url, KVS_TOKEN: secret };
    assert.equal((await runKvs(['set', 'tv/x', '1'], { env: use })).code, 0);
    assert.match((await runKvs(['set', 'other', '1'], { env: use })).stderr, /\(forbidden\)/);

    const listed = await runKvs(['token', 'list'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const line = listed.stdout
      .toString()
      .split('\n')
      .find((row) => row.startsWith(id));
    assert.ok(
      line !== undefined &&
        /^tok_\S+ {2}write {2}tv\/ {2}"tv" {2}created \S+ {2}expires 20\S+ {2}last used 20/.test(line),
      line,
    );
    assert.ok(!listed.stdout.toString().includes(secret));

    const revoked = await runKvs(['token', 'revoke', id], { env });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match((await runKvs(['set', 'tv/y', '1'], { env: use })).stderr, /\(auth_invalid\)/);
    const again = await runKvs(['token', 'revoke', id], { env });
    assert.match(again.stderr, /\(token_not_found\)/);
    assert.notEqual(again.code, 0);

    const refused = await runKvs(['token', 'create', '--scope', 'read'], {
      env: { KVS_URL: server.url, KVS_TOKEN: secret },
    });
    assert.notEqual(refused.code, 0);
  });

  it('the typed client mints, lists and revokes', async () => {
    const admin = new KvsClient({ url: server.url, token: server.token });
    const expires = new Date(Date.now() + 3600_000);
    const created = await admin.createToken({ scope: 'read', label: 'client', prefixes: ['a/', 'b/'], expires });
    assert.equal(created.scope, 'read');
    assert.deepEqual(created.prefixes, ['a/', 'b/']);
    assert.equal(created.expires?.getTime(), expires.getTime());
    const reader = new KvsClient({ url: server.url, token: created.token });
    assert.equal(await reader.get('a/none'), undefined);
    const listed = await admin.listTokens();
    const found = listed.find((token) => token.id === created.id);
    assert.ok(found !== undefined);
    assert.equal(found.label, 'client');
    assert.equal((found as { token?: string }).token, undefined);
    await admin.revokeToken(created.id);
    await assert.rejects(
      reader.put('a/x', '1'),
      (error: unknown) => error instanceof KvsClientError && error.code === 'auth_invalid',
    );
    await assert.rejects(
      admin.revokeToken(created.id),
      (error: unknown) => error instanceof KvsClientError && error.code === 'token_not_found',
    );
  });
});
