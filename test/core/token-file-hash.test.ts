// `kvs token hash` (docs/tokens.md): the token file with every clear-text token replaced by its
// SHA-256. Generated token files (fast-check, seed printed; KVS_FUZZ_SEED replays) must keep
// every token's grant and lose every secret; then the CLI rewrites a real file and a real server
// started on it accepts the old tokens with their scopes.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { hashTokenFileText, parseTokenFile, TokenStore } from '../../src/core/tokens.js';
import { fuzzSeed } from '../fuzz/fuzz-options.js';
import { kvsBin, removeDir, startServer, tempDir } from '../helpers/server-process.js';

const seed = fuzzSeed(20261130);
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeDir(dir);
});

const tokenText = fc.stringMatching(/^[A-Za-z0-9_.~+\-=#]{1,40}$/).filter((token) => !token.startsWith('#'));
const line = fc.oneof(
  fc.record({
    token: tokenText,
    scope: fc.constantFrom(undefined, 'read', 'write', 'admin'),
    prefixes: fc.array(fc.stringMatching(/^[a-z0-9/]{1,6}$/), { maxLength: 3 }),
  }),
  fc.constantFrom('# a comment', '', '   ', '#another comment naming nothing'),
);

function render(entry: { token: string; scope: string | undefined; prefixes: string[] }): string {
  if (entry.scope === undefined) return entry.token;
  return `${entry.token} ${entry.scope}${entry.prefixes.length > 0 ? ` ${entry.prefixes.join(',')}` : ''}`;
}

describe(`kvs token hash (seed ${seed})`, () => {
  it('keeps every grant and no secret, for generated token files', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), (lines) => {
        const text = lines.map((each) => (typeof each === 'string' ? each : render(each))).join('\n');
        const before = parseTokenFile(text);
        if (before.length === 0) return;
        const { text: hashedText, hashed } = hashTokenFileText(text);
        assert.equal(hashed, before.length);
        const store = new TokenStore(parseTokenFile(hashedText));
        for (const { token } of before) {
          // Two lines with one token: the first one's grant wins, before as after.
          const first = before.find((entry) => entry.token === token)!.grant;
          const principal = store.authenticate(token);
          assert.ok(principal, `token ${token} still authenticates`);
          assert.equal(principal.grant.scope, first.scope);
          assert.deepEqual(principal.grant.prefixes, first.prefixes);
        }
        for (const stored of parseTokenFile(hashedText))
          assert.match(stored.token, /^sha256:[0-9a-f]{64}$/, 'only digests are left');
        assert.deepEqual(
          hashTokenFileText(hashedText),
          { text: hashedText, hashed: 0 },
          'hashing twice changes nothing',
        );
      }),
      { seed, numRuns: 300 },
    );
  });

  it('a one-line passphrase file (the seed auth.txt), with spaces or a #, stays one write token', () => {
    for (const passphrase of ['correct horse battery staple', 'pass#word']) {
      const { text } = hashTokenFileText(`${passphrase}\n`);
      assert.ok(!text.includes(passphrase));
      const principal = new TokenStore(parseTokenFile(text)).authenticate(passphrase);
      assert.equal(principal?.grant.scope, 'write');
      assert.deepEqual(principal?.grant.prefixes, []);
    }
  });

  it('the CLI rewrites a real file (0600), and a server started on it accepts the old tokens with their scopes', async () => {
    const dir = tempDir('kvs-token-hash');
    dirs.push(dir);
    const file = join(dir, 'tokens');
    const admin = 'admin-token-0123456789';
    const reader = 'reader-token-0123456789';
    writeFileSync(file, `# kvs tokens\n${admin} admin\n${reader} read public/\n`, { mode: 0o600 });
    const run = spawnSync(process.execPath, [kvsBin, 'token', 'hash', '--file', file], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /hashed 2 tokens/);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(admin) && !text.includes(reader), text);
    assert.ok(text.startsWith('# kvs tokens\n'));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const server = await startServer({ args: ['--store', 'memory', '--token-file', file] });
    dirs.push(server.dataDir);
    try {
      const put = (token: string, key: string) =>
        fetch(`${server.url}/v1/kv/${key}`, {
          method: 'PUT',
          body: 'x',
          headers: { authorization: `Bearer ${token}` },
        });
      assert.equal((await put(admin, 'any/key')).status, 201);
      assert.equal((await put(reader, 'public/key')).status, 403, 'a read token cannot write');
      const read = await fetch(`${server.url}/v1/kv/any/key`, { headers: { authorization: `Bearer ${reader}` } });
      assert.equal(read.status, 200);
      assert.equal((await put('wrong-token', 'any/key')).status, 403);
    } finally {
      await server.stop();
    }
  });
});
