// Tokens, scopes, private reads, the first-start token, the failure rate limit and TLS
// (docs/architecture.md, "Tokens"; docs/limits.md).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
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

const put = (server: ServerProcess, key: string, token: string | undefined, body = 'v') =>
  fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
    method: 'PUT',
    body,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });

describe('auth', () => {
  it('scopes: read tokens cannot write, prefix tokens only write their prefixes, writes without a token get 401', async () => {
    const [admin, reader, limited] = [newToken(), newToken(), newToken()];
    const server = await start({
      tokenFileText: `# comment\n${admin} admin\n${reader} read\n${limited} write app/,tv/\n`,
    });
    assert.equal((await put(server, 'open', undefined)).status, 401);
    const readOnly = await put(server, 'x', reader);
    assert.equal(readOnly.status, 403);
    assert.equal(((await readOnly.json()) as { error: { code: string } }).error.code, 'forbidden');
    assert.equal((await put(server, 'app/name', limited)).status, 201);
    assert.equal((await put(server, 'tv/pos', limited)).status, 201);
    assert.equal((await put(server, 'other', limited)).status, 403);
    assert.equal((await put(server, 'other', admin)).status, 201);
    // Reads are public by default.
    assert.equal((await fetch(`${server.url}/v1/kv/other`)).status, 200);
    // A txn touching a key outside the prefix writes nothing at all.
    const txn = await fetch(`${server.url}/v1/txn`, {
      method: 'POST',
      headers: { authorization: `Bearer ${limited}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        operations: [
          { op: 'put', key: 'app/ok', value: '1' },
          { op: 'put', key: 'nope', value: '1' },
        ],
      }),
    });
    assert.equal(txn.status, 403);
    assert.equal((await fetch(`${server.url}/v1/kv/app/ok`)).status, 404);
  });

  it('--private makes reads need a token too', async () => {
    const token = newToken();
    const server = await start({ tokenFileText: `${token} read\n`, args: ['--private'] });
    assert.equal((await fetch(`${server.url}/v1/kv/a`)).status, 401);
    assert.equal((await fetch(`${server.url}/?k=a`)).status, 401);
    assert.equal((await fetch(`${server.url}/v1/kv?prefix=`)).status, 401);
    assert.equal((await fetch(`${server.url}/v1/kv/a`, { headers: { authorization: `Bearer ${token}` } })).status, 404);
    assert.equal((await fetch(`${server.url}/?k=a&auth=${token}`)).status, 404);
    const index = await (await fetch(`${server.url}/`)).text();
    assert.match(index, /Reads are private/);
  });

  it('repeated failures from one client are answered 429 with Retry-After, and the right token then waits too', async () => {
    const token = newToken();
    const server = await start({ tokenFileText: `${token}\n`, args: ['--auth-failures', '3'] });
    for (let attempt = 0; attempt < 3; attempt++) assert.equal((await put(server, 'k', 'wrong')).status, 403);
    const limited = await put(server, 'k', 'wrong');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'too_many_auth_failures');
    assert.equal((await put(server, 'k', token)).status, 429);
  });

  it('counts a refused token on a read once, on both read routes', async () => {
    const token = newToken();
    const server = await start({ tokenFileText: `${token}\n`, args: ['--auth-failures', '4'] });
    assert.equal((await put(server, 'k', token)).status, 201);
    const wrong = { headers: { authorization: 'Bearer wrong-token' } };
    assert.equal((await fetch(`${server.url}/v1/kv/k`, wrong)).status, 403);
    assert.equal((await fetch(`${server.url}/v1/kv/k`, wrong)).status, 403);
    assert.equal((await fetch(`${server.url}/?k=k`, wrong)).status, 403);
    assert.equal((await fetch(`${server.url}/?k=k`, wrong)).status, 403);
    assert.equal((await fetch(`${server.url}/v1/kv/k`, wrong)).status, 429);
  });

  it('at first start without a token file, creates one (0600) in the data dir and prints the token once, never again', async () => {
    const dataDir = tempDir();
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [kvsBin, 'serve', '--port', '0', '--data', dataDir], { cwd: repoRoot });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('kvs ready:')) child.kill('SIGTERM');
        });
        child.stderr.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        child.on('exit', () => resolve(output));
        child.on('error', reject);
      });
    try {
      const first = await run();
      const file = join(dataDir, 'tokens');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const token = /^ {4}(\S+)$/m.exec(first)![1]!;
      assert.ok(readFileSync(file, 'utf8').includes(`${token} admin`));
      const second = await run();
      assert.ok(!second.includes(token), 'the token is printed only at creation');
    } finally {
      removeDir(dataDir);
    }
  });

  it('tokens never appear in the access log', async () => {
    const token = newToken();
    const server = await start({ tokenFileText: `${token}\n`, args: ['--access-log'] });
    await put(server, 'logged', token);
    await fetch(`${server.url}/?k=logged&auth=${token}`);
    await fetch(server.url, { method: 'POST', body: new URLSearchParams({ a: '1', auth: token }) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const logged = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { method?: string; path?: string; status?: number });
    assert.ok(
      logged.some((record) => record.method === 'PUT' && record.path === '/v1/kv/logged' && record.status === 201),
      'the PUT is in the access log',
    );
    assert.ok(!server.output().includes(token));
  });

  it('serves HTTPS with --tls-cert/--tls-key (self-signed certificate made with openssl)', async () => {
    const dir = tempDir('kvs-tls');
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(made.status, 0, made.stderr);
    const token = newToken();
    const server = await start({
      tokenFileText: `${token}\n`,
      args: ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')],
    });
    assert.match(server.url, /^https:/);
    const ca = readFileSync(join(dir, 'cert.pem'));
    const call = (method: string, body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpsRequest(
          `${server.url}/v1/kv/secure`,
          { method, ca, headers: { authorization: `Bearer ${token}` } },
          (response) => {
            let text = '';
            response.on('data', (chunk: Buffer) => (text += chunk.toString()));
            response.on('end', () => resolve({ status: response.statusCode!, body: text }));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    assert.equal((await call('PUT', 'over tls')).status, 201);
    assert.deepEqual(await call('GET'), { status: 200, body: 'over tls' });
    removeDir(dir);
  });
});
