// The real kvs server (bin/kvs.js serve --resp-port 0) driven by redis-cli from Debian's
// redis-tools: commands, RESP3 mode, --scan, --pipe mass insertion, and the same data over HTTP.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { useServer } from '../helpers/use-server.js';
import { skipUnlessTool } from './external-tools.js';

describe('redis-cli against kvs', { skip: skipUnlessTool('redis-cli') }, () => {
  const server = useServer({ args: ['--resp-port', '0'] });

  function cli(
    args: readonly string[],
    options: { auth?: boolean; input?: string | Buffer } = {},
  ): { stdout: string; stderr: string; status: number | null } {
    const auth = options.auth === false ? [] : ['-a', server.token, '--no-auth-warning'];
    const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(server.respPort), ...auth, ...args], {
      input: options.input,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (result.error) throw result.error;
    return { stdout: result.stdout, stderr: result.stderr, status: result.status };
  }
  const run = (...args: string[]) => cli(args).stdout.trimEnd();

  it('runs commands and prints replies as it does for Redis', () => {
    assert.equal(cli(['PING'], { auth: false }).stdout, 'PONG\n');
    assert.equal(run('SET', 'greeting', 'hello world'), 'OK');
    assert.equal(run('GET', 'greeting'), 'hello world');
    assert.equal(run('--no-raw', 'GET', 'greeting'), '"hello world"');
    assert.equal(run('INCR', 'counter'), '1');
    assert.equal(run('INCRBYFLOAT', 'float', '10.5'), '10.5');
    assert.equal(run('INCRBYFLOAT', 'float', '0.1'), '10.6');
    assert.equal(run('MSET', 'a', '1', 'b', '2'), 'OK');
    assert.equal(cli(['MGET', 'a', 'b', 'missing']).stdout, '1\n2\n\n');
    assert.equal(run('--no-raw', 'MGET', 'a', 'missing'), '1) "1"\n2) (nil)');
    assert.equal(run('STRLEN', 'greeting'), '11');
  });

  it('prints kvs errors the way redis-cli prints Redis errors', () => {
    assert.equal(
      cli(['--no-raw', 'SET', 'k', 'v'], { auth: false }).stdout.trim(),
      '(error) NOAUTH Authentication required.',
    );
    assert.equal(
      cli(['--no-raw', 'LPUSH', 'list', 'x']).stdout,
      "(error) ERR unknown command 'LPUSH', with args beginning with: 'list' 'x' \n",
    );
    assert.equal(run('--no-raw', 'GET'), "(error) ERR wrong number of arguments for 'get' command");
    const wrong = cli(['-a', 'wrong-token', '--no-auth-warning', 'SET', 'k', 'v'], { auth: false });
    assert.match(wrong.stdout + wrong.stderr, /WRONGPASS invalid username-password pair or user is disabled\./);
  });

  it('shows a TTL set with SET EX as Kvs-Expires over HTTP, with the same version', async () => {
    assert.equal(run('SET', 'session:1', 'data', 'EX', '100'), 'OK');
    assert.equal(run('TTL', 'session:1'), '100');
    const response = await fetch(`${server.url}/v1/kv/session:1`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'data');
    const expires = Date.parse(response.headers.get('kvs-expires') ?? '');
    assert.ok(
      Math.abs(expires - (Date.now() + 100_000)) < 10_000,
      `Kvs-Expires ${response.headers.get('kvs-expires')}`,
    );
    assert.equal(response.headers.get('kvs-version'), '1');
    assert.equal(run('APPEND', 'session:1', '!'), '5');
    const updated = await fetch(`${server.url}/v1/kv/session:1`);
    assert.equal(updated.headers.get('kvs-version'), '2');
    assert.equal(updated.headers.get('kvs-expires'), response.headers.get('kvs-expires'));
    // And the other way round: a value written over HTTP is read over RESP.
    const put = await fetch(`${server.url}/v1/kv/from-http`, {
      method: 'PUT',
      body: 'hi',
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(put.status, 201);
    assert.equal(run('GET', 'from-http'), 'hi');
    assert.equal(run('TTL', 'from-http'), '-1');
  });

  it('speaks RESP3 with -3', () => {
    const hello = cli(['-3', 'HELLO', '3']).stdout;
    assert.match(hello, /^server redis\nversion 7\.0\.15\nproto 3\n/);
    assert.equal(cli(['-3', '--no-raw', 'GET', 'no-such-key']).stdout.trim(), '(nil)');
    assert.equal(cli(['-3', '--no-raw', 'INCR', 'counter3']).stdout.trim(), '(integer) 1');
  });

  it('iterates keys with --scan and --pattern', () => {
    const keys = Array.from({ length: 250 }, (_, index) => `scan:${index}`);
    assert.equal(run('MSET', ...keys.flatMap((key) => [key, 'x'])), 'OK');
    const scanned = run('--scan', '--pattern', 'scan:*')
      .split('\n')
      .filter((line) => line !== '')
      .sort();
    assert.deepEqual(scanned, [...keys].sort());
    assert.equal(run('--scan', '--pattern', 'nothing:*'), '');
  });

  it('mass-inserts with --pipe (one stream of pipelined commands)', () => {
    const count = 5000;
    const lines: string[] = [`AUTH ${server.token}`];
    for (let index = 0; index < count; index++) lines.push(`SET pipe:${index} value-${index}`);
    const result = cli(['--pipe'], { auth: false, input: `${lines.join('\r\n')}\r\n` });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`errors: 0, replies: ${count + 1}`));
    assert.equal(run('GET', `pipe:${count - 1}`), `value-${count - 1}`);
    assert.equal(run('DBSIZE') >= String(count), true);
  });

  it('reads its input line by line from stdin (-x and inline commands)', () => {
    assert.equal(cli(['-x', 'SET', 'from-stdin'], { input: 'piped value' }).stdout.trim(), 'OK');
    assert.equal(run('GET', 'from-stdin'), 'piped value');
    const multi = cli([], { input: 'MULTI\nINCR tx\nINCR tx\nEXEC\n' }).stdout.trim().split('\n');
    assert.deepEqual(multi, ['OK', 'QUEUED', 'QUEUED', '1', '2']);
  });
});
