// The real kvs server driven by ioredis, a maintained Redis client library: connect (with its
// INFO ready check), HELLO, pipelines, MULTI/EXEC, WATCH broken by an HTTP write, SCAN
// iteration with scanStream, and reconnecting after the server restarts on the same data.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { useServer } from '../helpers/use-server.js';
import { freePort } from './external-tools.js';

describe('ioredis against kvs', () => {
  let respPort: number;
  const clients: Redis[] = [];
  const client = (options: { password?: string; name?: string } = {}) => {
    const redis = new Redis({
      host: '127.0.0.1',
      port: respPort,
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.name !== undefined ? { connectionName: options.name } : {}),
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 500),
      maxRetriesPerRequest: 50,
    });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };

  after(() => {
    for (const redis of clients) redis.disconnect();
  });
  const server = useServer(async () => {
    respPort = await freePort();
    return { args: ['--resp-port', String(respPort)] };
  });

  it('connects (AUTH, CLIENT SETNAME, INFO ready check) and runs commands', async () => {
    const redis = client({ password: server.token, name: 'ioredis-test' });
    assert.equal(await redis.ping(), 'PONG');
    assert.equal(await redis.client('GETNAME'), 'ioredis-test');
    assert.equal(await redis.set('user:1', 'alice', 'EX', 100), 'OK');
    assert.equal(await redis.get('user:1'), 'alice');
    assert.equal(await redis.ttl('user:1'), 100);
    assert.equal(await redis.incrby('hits', 5), 5);
    assert.equal(await redis.incrbyfloat('ratio', '0.1'), '0.1');
    assert.deepEqual(await redis.mget('user:1', 'hits', 'missing'), ['alice', '5', null]);
    const binary = Buffer.from([0, 1, 2, 255, 13, 10]);
    await redis.set('binary', binary);
    assert.ok((await redis.getBuffer('binary'))?.equals(binary));
    assert.equal(await redis.exists('user:1', 'missing'), 1);
    assert.equal(await redis.del('user:1', 'missing'), 1);
  });

  it('answers HELLO 2 with the handshake fields', async () => {
    const redis = client({ password: server.token });
    const reply = (await redis.call('HELLO', '2', 'SETNAME', 'hello-test')) as unknown[];
    const fields = new Map<unknown, unknown>();
    for (let index = 0; index < reply.length; index += 2) fields.set(reply[index], reply[index + 1]);
    assert.equal(fields.get('server'), 'redis');
    assert.equal(fields.get('proto'), 2);
    assert.equal(fields.get('mode'), 'standalone');
    assert.equal(await redis.client('GETNAME'), 'hello-test');
  });

  it('reports NOAUTH for writes without a token and reads without one', async () => {
    const writer = client({ password: server.token });
    await writer.set('public', 'v');
    const anonymousClient = client();
    assert.equal(await anonymousClient.get('public'), 'v');
    await assert.rejects(anonymousClient.set('public', 'x'), /NOAUTH Authentication required\./);
  });

  it('runs a pipeline: replies in order, each command seeing the earlier ones', async () => {
    const redis = client({ password: server.token });
    const pipeline = redis.pipeline();
    pipeline.del('p');
    for (let index = 0; index < 500; index++) pipeline.incr('p');
    pipeline.get('p');
    pipeline.set('p2', 'x');
    pipeline.append('p2', 'y');
    pipeline.lpush('list', 'x');
    const results = (await pipeline.exec())!;
    assert.equal(results.length, 505);
    for (let index = 1; index <= 500; index++) assert.deepEqual(results[index], [null, index]);
    assert.deepEqual(results[501], [null, '500']);
    assert.deepEqual(results[502], [null, 'OK']);
    assert.deepEqual(results[503], [null, 2]);
    assert.match(String(results[504]![0]), /unknown command 'lpush'/);
  });

  it('runs MULTI/EXEC atomically and aborts on a queued error', async () => {
    const redis = client({ password: server.token });
    const results = await redis.multi().set('m1', '1').incr('m1').get('m1').exec();
    assert.deepEqual(results, [
      [null, 'OK'],
      [null, 2],
      [null, '2'],
    ]);
    await assert.rejects(redis.multi().set('m1', '5').call('SET', 'onlykey').exec(), /EXECABORT/);
    assert.equal(await redis.get('m1'), '2');
  });

  it('aborts EXEC when an HTTP PUT changed a WATCHed key', async () => {
    const redis = client({ password: server.token });
    await redis.set('balance', '100');
    assert.equal(await redis.watch('balance'), 'OK');
    const put = await fetch(`${server.url}/v1/kv/balance`, {
      method: 'PUT',
      body: '70',
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(put.status, 200);
    assert.equal(await redis.multi().decrby('balance', 10).exec(), null);
    assert.equal(await redis.get('balance'), '70');
    // Without interference the same transaction commits.
    await redis.watch('balance');
    assert.deepEqual(await redis.multi().decrby('balance', 10).exec(), [[null, 60]]);
    const http = await fetch(`${server.url}/v1/kv/balance`);
    assert.equal(await http.text(), '60');
  });

  it('iterates every key with scanStream', async () => {
    const redis = client({ password: server.token });
    const keys = Array.from({ length: 1234 }, (_, index) => `stream:${index}`);
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.set(key, 'v');
    await pipeline.exec();
    const found = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const stream = redis.scanStream({ match: 'stream:*', count: 100 });
      stream.on('data', (batch: string[]) => batch.forEach((key) => found.add(key)));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    assert.deepEqual([...found].sort(), [...keys].sort());
  });

  it('reconnects after the server restarts, and finds its data again', async () => {
    const redis = client({ password: server.token });
    assert.equal(await redis.set('durable', 'before-restart'), 'OK');
    const reconnecting = new Promise<void>((resolve) => redis.once('reconnecting', () => resolve()));
    await server.stop();
    await reconnecting;
    await server.restart();
    assert.equal(await redis.get('durable'), 'before-restart');
    assert.equal(await redis.set('durable', 'after-restart'), 'OK');
    assert.equal(await redis.get('durable'), 'after-restart');
  });
});
