// Authentication under attack, against the real server: guesses spread over many loopback
// source addresses meet the store-wide bound; a lock does not shut out a token that worked from
// that address before; the token file reads seed passcodes as they are written (`#` inside a
// passcode, a passphrase with spaces), and a malformed token file stops start-up with one line.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import {
  kvsBin,
  newToken,
  removeDir,
  repoRoot,
  startServer,
  tempDir,
  type ServerProcess,
} from '../helpers/server-process.js';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';

const started: ServerProcess[] = [];
after(async () => {
  for (const server of started) {
    await server.stop();
    removeDir(server.dataDir);
  }
});

async function start(options: Parameters<typeof startServer>[0]): Promise<ServerProcess> {
  const server = await startServer(options);
  started.push(server);
  return server;
}

let written = 0;

/** Status of a PUT (of a new key each time) from a chosen loopback source address (all of 127/8 reaches lo on Linux). */
function putFrom(server: ServerProcess, localAddress: string, token: string, key: string): Promise<number> {
  const url = new URL(`${server.url}/v1/kv/${key}-${written++}`);
  return new Promise((resolve, reject) => {
    const sent = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'PUT',
        localAddress,
        headers: { authorization: `Bearer ${token}`, 'content-length': '1' },
        agent: false,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    sent.on('error', reject);
    sent.end('v');
  });
}

function seedPost(server: ServerProcess, body: string): Promise<Response> {
  return fetch(`${server.url}/`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

describe('auth hardening', () => {
  it('wrong tokens spread over many source addresses meet the store-wide limit; a token that worked from an address keeps working there', async () => {
    const token = newToken();
    const server = await start({
      tokenFileText: `${token} write\n`,
      args: ['--auth-failures-global', '40', '--auth-failures', '10'],
    });
    assert.equal(await putFrom(server, '127.0.0.2', token, 'known'), 201);
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++)
      statuses.push(await putFrom(server, `127.0.${10 + (i >> 8)}.${(i & 255) + 1}`, 'wrong-guess', 'x'));
    assert.ok(
      statuses.slice(0, 40).every((status) => status === 403),
      `first 40 guesses answered 403: ${statuses.join(',')}`,
    );
    assert.ok(
      statuses.slice(40).every((status) => status === 429),
      `guesses past the store-wide bound answered 429: ${statuses.join(',')}`,
    );
    // The right token, from the address it worked from before: still served.
    assert.equal(await putFrom(server, '127.0.0.2', token, 'known'), 201);
    // The right token from an address it never worked from is refused like a guess (no oracle).
    assert.equal(await putFrom(server, '127.0.0.3', token, 'known'), 429);
  });

  it('one client typing a wrong token again and again locks only unknown tokens at that address', async () => {
    const token = newToken();
    const server = await start({ tokenFileText: `${token} write\n`, args: ['--auth-failures', '5'] });
    assert.equal(await putFrom(server, '127.0.0.7', token, 'a'), 201);
    for (let i = 0; i < 5; i++) assert.equal(await putFrom(server, '127.0.0.7', 'typo', 'a'), 403);
    assert.equal(await putFrom(server, '127.0.0.7', 'typo', 'a'), 429);
    assert.equal(
      await putFrom(server, '127.0.0.7', token, 'a'),
      201,
      'the neighbour with the right token is not locked out',
    );
    assert.equal(await putFrom(server, '127.0.0.8', token, 'a'), 201, 'other addresses are unaffected');
  });

  it('a seed passcode may contain # (a comment only starts a line)', async () => {
    const server = await start({ tokenFileText: '# the seed passcode\npass#word\n' });
    assert.equal((await seedPost(server, 'k=v&auth=pass')).status, 403);
    assert.equal((await seedPost(server, `k=v&auth=${encodeURIComponent('pass#word')}`)).status, 200);
    assert.equal(await (await fetch(`${server.url}/?k=k`)).text(), 'v');
  });

  it('a one-line token file holding a passphrase with spaces is that passphrase, as in the seed', async () => {
    const server = await start({ tokenFileText: 'correct horse battery staple\n' });
    assert.equal((await seedPost(server, 'k=v&auth=correct')).status, 403);
    assert.equal(
      (await seedPost(server, `k=v&auth=${encodeURIComponent('correct horse battery staple')}`)).status,
      200,
    );
  });

  it('a token file with a malformed line among others stops start-up with one line naming the line', () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'tokens');
      writeFileSync(file, `${newToken()} admin\nsome pass phrase\n`, { mode: 0o600 });
      const run = spawnSync(process.execPath, [kvsBin, 'serve', '--port', '0', '--data', dir, '--token-file', file], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.notEqual(run.status, 0);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, /^kvs: .*tokens: token file line 2: the scope must be read, write or admin/);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      removeDir(dir);
    }
  });
});
