// Every RESP command's reply and work stay bounded by its request and the documented limits
// (docs/limits.md): names per COMMAND INFO/DOCS and patterns per CONFIG GET (maxBatch), KEYS and
// MGET replies (maxRespOutputBytes), values SETRANGE/SETBIT would create (maxValueBytes), the MULTI
// queue (maxRespRequestBytes) and WATCHed keys (maxBatch). In-process listener, real sockets.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_EXPIRES_MS } from '../../src/model/time.js';
import { startInProcessServer, tokens, type InProcessServer } from './in-process-server.js';
import { encodeCommand, RespTestClient, show } from './resp-test-client.js';

const batchTooLarge = '-ERR Too many keys or operations in one request.';
const valueTooLarge = '-ERR The value is larger than the configured maximum.';

describe('RESP reply and work bounds', () => {
  let server: InProcessServer;
  const clients: RespTestClient[] = [];
  const open = async (token?: string) => {
    const client = await RespTestClient.connect(server.port);
    clients.push(client);
    if (token !== undefined) assert.equal(await client.do('AUTH', token), '+OK');
    return client;
  };

  before(async () => {
    server = await startInProcessServer({
      limits: { maxBatch: 100, maxRespOutputBytes: 64 * 1024, maxRespRequestBytes: 256 * 1024 },
    });
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  // Hostile trial: COMMAND INFO with 200,000 names (1.8 MB) answered 45.8 MB and stalled 3.6 s.
  it('answers COMMAND INFO and DOCS for at most maxBatch names, CONFIG GET for at most maxBatch patterns', async () => {
    const client = await open();
    const names = (count: number) => Array.from({ length: count }, () => 'get');
    assert.equal(((await client.do('COMMAND', 'INFO', ...names(100))) as unknown[]).length, 100);
    assert.equal(await client.do('COMMAND', 'INFO', ...names(101)), batchTooLarge);
    assert.equal(await client.do('COMMAND', 'DOCS', ...names(101)), batchTooLarge);
    assert.equal(await client.do('CONFIG', 'GET', ...Array.from({ length: 101 }, () => '*')), batchTooLarge);
    assert.equal(await client.do('PING'), '+PONG');
  });

  it('refuses KEYS and MGET replies larger than maxRespOutputBytes', async () => {
    const admin = await open(tokens.admin);
    const pairs: string[] = [];
    for (let index = 0; index < 100; index++)
      pairs.push(`bounded:${String(index).padStart(3, '0')}:${'k'.repeat(700)}`, 'v');
    assert.equal(await admin.do('MSET', ...pairs), '+OK');
    const tooLarge = '-ERR reply larger than 65536 bytes (maxRespOutputBytes); ask for less';
    assert.equal(await admin.do('KEYS', 'bounded:*'), tooLarge);
    assert.equal(((await admin.do('KEYS', 'bounded:00*')) as unknown[]).length, 10);
    assert.equal(await admin.do('SET', 'ten-kib', 'x'.repeat(10 * 1024)), '+OK');
    // Duplicates count once against maxBatch, but each is in the reply.
    assert.equal(await admin.do('MGET', ...Array.from({ length: 7 }, () => 'ten-kib')), tooLarge);
    assert.equal(((await admin.do('MGET', ...Array.from({ length: 6 }, () => 'ten-kib'))) as unknown[]).length, 6);
  });

  it('refuses SETRANGE and SETBIT that would create a value over maxValueBytes (offset 2^29 and more)', async () => {
    const admin = await open(tokens.admin);
    assert.equal(await admin.do('SETRANGE', 'range', String(2 ** 29), 'x'), valueTooLarge);
    assert.equal(await admin.do('SETRANGE', 'range', '9223372036854775807', 'x'), valueTooLarge);
    assert.equal(await admin.do('SETRANGE', 'range', String(2 ** 29), ''), 0);
    assert.equal(await admin.do('SETBIT', 'bits', String(2 ** 32 - 1), '1'), valueTooLarge);
    assert.equal(await admin.do('EXISTS', 'range', 'bits'), 0);
    assert.equal(await admin.do('SET', 'small', 'abc'), '+OK');
    assert.equal(await admin.do('GETRANGE', 'small', '-9223372036854775808', '9223372036854775807'), 'abc');
    assert.equal(await admin.do('BITCOUNT', 'small', '-9223372036854775808', '9223372036854775807', 'BIT'), 10);
    assert.equal(await admin.do('BITPOS', 'small', '0', '0', '9223372036854775807', 'BIT'), 0);
  });

  it('bounds the MULTI queue by maxRespRequestBytes: past it the transaction is discarded', async () => {
    const admin = await open(tokens.admin);
    assert.equal(await admin.do('MULTI'), '+OK');
    const value = 'q'.repeat(60 * 1024);
    for (let index = 0; index < 4; index++) assert.equal(await admin.do('SET', `queued-${index}`, value), '+QUEUED');
    assert.equal(
      await admin.do('SET', 'queued-4', value),
      '-ERR MULTI queue larger than 262144 bytes (maxRespRequestBytes); the transaction is discarded',
    );
    assert.equal(await admin.do('EXEC'), '-EXECABORT Transaction discarded because of previous errors.');
    assert.equal(await admin.do('EXISTS', 'queued-0'), 0);
    assert.equal(await admin.do('MULTI'), '+OK');
    assert.equal(await admin.do('SET', 'queued-0', value), '+QUEUED');
    assert.deepEqual(await admin.do('EXEC'), ['+OK']);
  });

  it('bounds the WATCHed keys of a connection by maxBatch', async () => {
    const client = await open();
    const keys = (from: number) => Array.from({ length: 60 }, (_, index) => `watched-${from + index}`);
    assert.equal(await client.do('WATCH', ...keys(0)), '+OK');
    assert.equal(await client.do('WATCH', ...keys(30)), '+OK'); // 90 distinct keys
    assert.equal(await client.do('WATCH', ...keys(60)), batchTooLarge);
    assert.equal(await client.do('UNWATCH'), '+OK');
    assert.equal(await client.do('WATCH', ...keys(60)), '+OK');
  });

  it('answers a pipeline of bounded commands in order', async () => {
    const client = await open();
    client.writeRaw(
      Buffer.concat([
        encodeCommand(['COMMAND', 'INFO', ...Array.from({ length: 101 }, () => 'x')]),
        encodeCommand(['PING']),
      ]),
    );
    assert.equal((await client.read()).type, 'error');
    assert.deepEqual(await client.read(), { type: 'simple', value: 'PONG' });
  });

  // Hostile trial: `ttl: 1e308` over HTTP made PTTL answer `:Infinity`. Whatever expiry another
  // front end stored (written here straight to the engine, past any validation), the TTL
  // commands answer integers within MAX_EXPIRES_MS.
  it('answers TTL, PTTL, EXPIRETIME and PEXPIRETIME with integers for any stored expiry', async () => {
    const now = Date.now();
    const stored: [string, number][] = [
      ['expires-infinity', Infinity],
      ['expires-1e300', 1e300],
      ['expires-fraction', now + 100_000.5],
      ['expires-nan', Number.NaN],
    ];
    for (const [key, expires] of stored) {
      await server.engine.commit(
        { conditions: [], operations: [{ type: 'put', key, value: Buffer.from('v'), contentType: null, expires }] },
        now,
      );
    }
    const client = await open();
    for (const [key] of stored) {
      for (const command of ['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME']) {
        const reply = await client.call(command, key);
        assert.equal(reply.type, 'integer', `${command} ${key}: ${String(show(reply))}`);
      }
    }
    assert.equal(await client.do('PEXPIRETIME', 'expires-infinity'), MAX_EXPIRES_MS);
    assert.equal(await client.do('PEXPIRETIME', 'expires-fraction'), now + 100_001);
    assert.equal(server.logged.filter((line) => line.includes('internal error')).length, 0);
  });
});
