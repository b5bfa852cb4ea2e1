// The server's log (docs/observability.md) over a whole session with --access-log: every line kvs
// prints is JSON (besides the `kvs ready:` lines meant for scripts), the start-up summary and the
// shutdown lines are there, the access log has its fields for HTTP and RESP, and no token secret
// (right, limited or wrong, sent as a header, a query, a form field or a RESP AUTH) appears on
// any line of stdout or stderr.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { newToken, repoRoot, startServer } from '../helpers/server-process.js';
import { openSse } from '../helpers/sse-client.js';
import { RespTestClient } from '../resp/resp-test-client.js';

const packageVersion = (JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string }).version;

type LogRecord = Record<string, unknown> & { msg?: string; level?: string; time?: string };

describe('the log of a session with --access-log', () => {
  it('is JSON lines with a start-up summary and a shutdown line, and never holds a token secret', async () => {
    const admin = newToken();
    const limited = newToken();
    const wrong = newToken();
    const server = await startServer({
      tokenFileText: `${admin} admin\n${limited} write app/\n`,
      args: ['--resp-port', '0', '--access-log'],
    });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    let stopped = false;
    try {
      const url = server.url;
      const statuses: number[] = [];
      const call = async (path: string, init: RequestInit = {}) => {
        const answer = await fetch(`${url}${path}`, init);
        await answer.arrayBuffer();
        statuses.push(answer.status);
      };
      // HTTP: both fast paths, the Fastify routes, the seed API's token in a query and a form,
      // a watch with ?auth=, a limited token inside and outside its prefix, a wrong token.
      await call('/v1/kv/app/a', { method: 'PUT', headers: bearer(admin), body: 'v' });
      await call('/v1/kv/app/a', { method: 'PUT', headers: { ...bearer(admin), 'if-match': '"1"' }, body: 'w' });
      await call('/v1/kv/app/a', { headers: bearer(limited) });
      await call('/v1/kv/app/b', { method: 'PUT', headers: bearer(limited), body: 'v' });
      await call('/v1/kv/other', { method: 'PUT', headers: bearer(limited), body: 'v' });
      await call(`/?k=app/a&auth=${admin}`);
      await call('/', { method: 'POST', body: new URLSearchParams({ 'app/c': '1', auth: limited }) });
      await call(`/v1/kv?prefix=app/`, { headers: bearer(limited) });
      await call('/v1/kv/app/a', { method: 'DELETE', headers: bearer(admin) });
      await call('/v1/kv/app/a', { headers: bearer(wrong) });
      await call(`/?k=app/b&auth=${wrong}`);
      const watch = await openSse(`${url}/v1/watch?prefix=app/&auth=${admin}`);
      watch.close();
      assert.deepEqual(statuses, [201, 200, 200, 201, 403, 200, 200, 200, 200, 403, 403]);

      // RESP: AUTH with each token, HELLO with AUTH, a few commands.
      const resp = await RespTestClient.connect(server.respPort!);
      try {
        for (const args of [
          ['AUTH', wrong],
          ['AUTH', limited],
          ['SET', 'app/r', '1'],
          ['HELLO', '3', 'AUTH', 'default', admin],
          ['GET', 'app/r'],
          ['CLIENT', 'SETNAME', 'log-test'],
        ]) {
          resp.send(...args);
          await resp.read();
        }
      } finally {
        resp.close();
      }
      // Fastify writes its access-log line from onResponse, which may run after the client has
      // the answer: wait (bounded) for the 11 requests' lines before stopping.
      const deadline = Date.now() + 10_000;
      while ((server.output().match(/"frontEnd":"http"/g) ?? []).length < 11 && Date.now() < deadline)
        await new Promise((done) => setTimeout(done, 20));
    } finally {
      await server.stop();
      stopped = true;
    }
    assert.ok(stopped);

    const output = server.output();
    for (const [name, secret] of Object.entries({ admin, limited, wrong }))
      assert.ok(!output.includes(secret), `the ${name} token's secret is on no line`);

    const lines = output.split('\n').filter((line) => line !== '');
    const records: LogRecord[] = [];
    for (const line of lines) {
      if (/^kvs (resp )?ready: /.test(line)) continue;
      assert.doesNotThrow(() => records.push(JSON.parse(line) as LogRecord), `a JSON line: ${line}`);
    }
    for (const record of records) {
      assert.equal(typeof record.time, 'string', 'every record has a time');
      assert.ok(!Number.isNaN(Date.parse(record.time!)), 'an ISO time');
      assert.equal(typeof record.level, 'string');
    }

    const started = records.find((record) => record.msg === 'kvs started');
    assert.ok(started, 'a start-up summary');
    assert.equal(started.http, server.url);
    assert.equal(started.resp, `127.0.0.1:${server.respPort}`);
    assert.equal(started.engine, 'lmdb');
    assert.equal(started.durability, 'strict');
    assert.equal(started.dataDir, resolve(server.dataDir));
    assert.equal(started.workers, 1);
    assert.equal(started.version, packageVersion);
    const stopping = records.findIndex((record) => record.msg === 'kvs stopping');
    const stoppedAt = records.findIndex((record) => record.msg === 'kvs stopped');
    assert.ok(stopping > 0 && stoppedAt > stopping, 'shutdown lines, in order, after the rest');
    assert.equal(records[stoppedAt]!.signal, 'SIGTERM');

    const http = records.filter((record) => record.frontEnd === 'http');
    assert.ok(http.length >= 11, `every HTTP request logged (${http.length})`);
    for (const record of http) {
      for (const field of ['method', 'path', 'status', 'durationMs', 'client'])
        assert.ok(record[field] !== undefined && record[field] !== null, `${field} in ${JSON.stringify(record)}`);
      assert.ok('route' in record && 'bytes' in record && 'token' in record);
    }
    const find = (method: string, path: string, status: number) =>
      http.find((record) => record.method === method && record.path === path && record.status === status);
    assert.deepEqual(
      [find('PUT', '/v1/kv/app/a', 201)?.token, find('PUT', '/v1/kv/app/a', 201)?.route],
      ['token#1(admin)', '/v1/kv/*'],
    );
    assert.equal(find('PUT', '/v1/kv/app/a', 201)?.bytes !== null, true, 'the size of the answer');
    assert.equal(find('PUT', '/v1/kv/app/b', 201)?.token, 'token#2(write)');
    assert.equal(find('PUT', '/v1/kv/other', 403)?.token, 'token#2(write)');
    assert.equal(find('GET', '/', 200)?.token, 'token#1(admin)', 'the token from ?auth= named by label');
    assert.equal(find('POST', '/', 200)?.token, 'token#2(write)', 'the token from the form named by label');
    assert.equal(find('GET', '/v1/kv/app/a', 403)?.token, null, 'a wrong token has no label');

    const resp = records.filter((record) => record.frontEnd === 'resp');
    const byCommand = (command: string) => resp.find((record) => record.command === command);
    assert.deepEqual(
      resp.map((record) => record.command),
      ['auth', 'auth', 'set', 'hello', 'get', 'client|setname'],
    );
    assert.equal(resp[0]!.status, 'WRONGPASS');
    assert.equal(resp[1]!.token, 'token#2(write)');
    assert.equal(byCommand('get')?.token, 'token#1(admin)');
    assert.equal(typeof byCommand('get')?.durationMs, 'number');
  });
});
