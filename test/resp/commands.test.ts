// kvs's own RESP behaviour over real sockets (in-process listener on the memory engine): auth
// with kvs tokens, deliberate differences from Redis, transactions against the store, pipelining,
// protocol errors and connection limits. Behaviour shared with Redis is checked against a real
// redis-server in redis-compat.test.ts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { anonymous } from '../../src/core/service.js';
import { encodeCommand, RespTestClient, show } from './resp-test-client.js';
import { startInProcessServer, tokens, type InProcessServer } from './in-process-server.js';

async function connect(server: InProcessServer, token?: string): Promise<RespTestClient> {
  const client = await RespTestClient.connect(server.port);
  if (token !== undefined) assert.equal(await client.do('AUTH', token), '+OK');
  return client;
}

describe('RESP commands (kvs-specific behaviour)', () => {
  let server: InProcessServer;
  const clients: RespTestClient[] = [];
  const open = async (token?: string) => {
    const client = await connect(server, token);
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await startInProcessServer({ limits: { maxValueBytes: 64 * 1024, maxConnections: 64 } });
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  describe('authentication with kvs tokens', () => {
    it('serves reads without a token and answers writes with NOAUTH', async () => {
      const admin = await open(tokens.admin);
      assert.equal(await admin.do('SET', 'public', 'yes'), '+OK');
      const anonymousClient = await open();
      assert.equal(await anonymousClient.do('GET', 'public'), 'yes');
      assert.equal(await anonymousClient.do('SET', 'public', 'no'), '-NOAUTH Authentication required.');
      assert.equal(await anonymousClient.do('INCR', 'counter'), '-NOAUTH Authentication required.');
      assert.equal(await anonymousClient.do('DEL', 'public'), '-NOAUTH Authentication required.');
      assert.equal(await anonymousClient.do('GET', 'public'), 'yes');
    });

    it('accepts AUTH token and AUTH default token; anything else is WRONGPASS', async () => {
      const client = await open();
      const wrongPass = '-WRONGPASS invalid username-password pair or user is disabled.';
      assert.equal(await client.do('AUTH', 'nope'), wrongPass);
      assert.equal(await client.do('AUTH', 'someone', tokens.write), wrongPass);
      assert.equal(await client.do('AUTH', ''), wrongPass);
      assert.equal(await client.do('SET', 'k', 'v'), '-NOAUTH Authentication required.');
      assert.equal(await client.do('AUTH', 'default', tokens.write), '+OK');
      assert.equal(await client.do('SET', 'k', 'v'), '+OK');
      // A failed AUTH keeps the earlier identity, as in Redis.
      assert.equal(await client.do('AUTH', 'nope'), wrongPass);
      assert.equal(await client.do('SET', 'k', 'v2'), '+OK');
      assert.equal(await client.do('AUTH'), "-ERR wrong number of arguments for 'auth' command");
    });

    it('enforces token scopes and prefixes with NOPERM', async () => {
      const reader = await open(tokens.read);
      assert.equal(await reader.do('GET', 'k'), 'v2');
      assert.equal(await reader.do('SET', 'k', 'x'), "-NOPERM this user has no permissions to run the 'set' command");
      const appWriter = await open(tokens.appWriter);
      assert.equal(await appWriter.do('SET', 'app:one', '1'), '+OK');
      assert.equal(
        await appWriter.do('SET', 'other', '1'),
        '-NOPERM this user has no permissions to access one of the keys used as arguments',
      );
      assert.equal(
        await appWriter.do('MSET', 'app:a', '1', 'other', '2'),
        '-NOPERM this user has no permissions to access one of the keys used as arguments',
      );
      assert.equal(await appWriter.do('EXISTS', 'app:a'), 0);
      // COPY only reads its source: an app: token may copy a public key into app:.
      assert.equal(await appWriter.do('COPY', 'k', 'app:copy'), 1);
      assert.equal(
        await appWriter.do('COPY', 'app:copy', 'elsewhere'),
        '-NOPERM this user has no permissions to access one of the keys used as arguments',
      );
      assert.equal(await appWriter.do('FLUSHDB'), "-NOPERM this user has no permissions to run the 'flushdb' command");
      const writer = await open(tokens.write);
      assert.equal(await writer.do('FLUSHDB'), "-NOPERM this user has no permissions to run the 'flushdb' command");
    });

    it('rejects a write queued in MULTI without a token and aborts the transaction', async () => {
      const client = await open();
      assert.equal(await client.do('MULTI'), '+OK');
      assert.equal(await client.do('GET', 'k'), '+QUEUED');
      assert.equal(await client.do('SET', 'k', 'x'), '-NOAUTH Authentication required.');
      assert.equal(await client.do('EXEC'), '-EXECABORT Transaction discarded because of previous errors.');
    });

    it('HELLO 3 AUTH default TOKEN SETNAME authenticates, names and switches protocol at once', async () => {
      const client = await open();
      const reply = (await client.do('HELLO', '3', 'AUTH', 'default', tokens.write, 'SETNAME', 'worker-1')) as {
        map: [string, unknown][];
      };
      const fields = Object.fromEntries(reply.map);
      assert.equal(fields.proto, 3);
      assert.equal(fields.server, 'redis');
      assert.equal(fields.version, '7.0.15');
      assert.equal(await client.do('CLIENT', 'GETNAME'), 'worker-1');
      assert.equal(await client.do('SET', 'hello-key', '1'), '+OK');
      assert.equal(await client.do('GET', 'no-such-key'), '_nil');
      assert.equal(
        await client.do('HELLO', '2', 'AUTH', 'default', 'wrong'),
        '-WRONGPASS invalid username-password pair or user is disabled.',
      );
    });
  });

  describe('deliberate differences from Redis', () => {
    it('answers other data types with the unknown-command error', async () => {
      const client = await open(tokens.admin);
      for (const [name, ...args] of [
        ['LPUSH', 'l', 'a'],
        ['HSET', 'h', 'f', 'v'],
        ['SADD', 's', 'm'],
        ['ZADD', 'z', '1', 'm'],
        ['XADD', 'x', '*', 'f', 'v'],
        ['BITOP', 'AND', 'd', 'a'],
        ['OBJECT', 'ENCODING', 'k'],
      ] as const) {
        const quoted = args.map((arg) => `'${arg}' `).join('');
        assert.equal(
          await client.do(name, ...args),
          `-ERR unknown command '${name}', with args beginning with: ${quoted}`,
        );
      }
      assert.equal(await client.do('TYPE', 'l'), '+none');
    });

    it('refuses keys that are not valid UTF-8, empty, or too long', async () => {
      const client = await open(tokens.admin);
      assert.equal(await client.do('SET', Buffer.from([0x66, 0xff, 0xfe]), 'v'), '-ERR The key is not valid UTF-8.');
      assert.equal(await client.do('GET', Buffer.from([0xc3])), '-ERR The key is not valid UTF-8.');
      assert.equal(await client.do('SET', '', 'v'), '-ERR The key is empty.');
      assert.equal(await client.do('GET', 'k'.repeat(1025)), '-ERR The key is longer than the configured maximum.');
      assert.equal(await client.do('SET', 'clé-🔑', 'v'), '+OK');
      assert.equal((await server.service.get(anonymous, 'clé-🔑'))?.value.toString(), 'v');
    });

    it('has one database: SELECT 0 only, COPY ... DB 0 only', async () => {
      const client = await open(tokens.admin);
      assert.equal(await client.do('SELECT', '0'), '+OK');
      assert.equal(await client.do('SELECT', '1'), '-ERR DB index is out of range');
      await client.do('SET', 'src', 'v');
      assert.equal(await client.do('COPY', 'src', 'dst', 'DB', '1'), '-ERR DB index is out of range');
    });

    it('enforces the value size limit', async () => {
      const client = await open(tokens.admin);
      const limit = server.service.limits.maxValueBytes;
      const tooLarge = '-ERR The value is larger than the configured maximum.';
      assert.equal(await client.do('SET', 'big', Buffer.alloc(limit + 1)), tooLarge);
      assert.equal(await client.do('SET', 'big', Buffer.alloc(limit)), '+OK');
      assert.equal(await client.do('APPEND', 'big', 'x'), tooLarge);
      assert.equal(await client.do('SETRANGE', 'big', String(2 ** 40), 'x'), tooLarge);
      assert.equal(await client.do('SETBIT', 'big', String(limit * 8), '1'), tooLarge);
      assert.equal(await client.do('STRLEN', 'big'), limit);
    });

    it('refuses FLUSHDB inside MULTI (the transaction is discarded)', async () => {
      const client = await open(tokens.admin);
      await client.do('SET', 'survivor', '1');
      assert.equal(await client.do('MULTI'), '+OK');
      assert.equal(await client.do('FLUSHDB'), '-ERR FLUSHDB inside MULTI is not supported by kvs');
      assert.equal(await client.do('EXEC'), '-EXECABORT Transaction discarded because of previous errors.');
      assert.equal(await client.do('GET', 'survivor'), '1');
    });

    it('refuses a SCAN cursor it never issued', async () => {
      const client = await open();
      assert.equal(await client.do('SCAN', '987654321'), '-ERR invalid cursor');
    });

    it('accepts CLIENT SETINFO (Redis 7.2) and shows it in CLIENT INFO', async () => {
      const client = await open();
      assert.equal(await client.do('CLIENT', 'SETINFO', 'LIB-NAME', 'mylib'), '+OK');
      assert.equal(await client.do('CLIENT', 'SETINFO', 'LIB-VER', '1.2.3'), '+OK');
      const info = (await client.do('CLIENT', 'INFO')) as string;
      assert.match(info, /lib-name=mylib lib-ver=1\.2\.3/);
      const id = await client.do('CLIENT', 'ID');
      assert.match(info, new RegExp(`^id=${String(id)} `));
    });
  });

  describe('transactions and the store', () => {
    it('commits EXEC as one transaction (one revision)', async () => {
      const client = await open(tokens.admin);
      const before = await server.service.revision();
      await client.do('MULTI');
      for (const key of ['t1', 't2', 't3']) await client.do('SET', key, 'v');
      await client.do('INCR', 'tcount');
      assert.deepEqual(await client.do('EXEC'), ['+OK', '+OK', '+OK', 1]);
      assert.equal(await server.service.revision(), before + 1);
      const entries = await server.service.getMany(anonymous, ['t1', 't2', 't3', 'tcount']);
      assert.ok(entries.every((entry) => entry?.modRevision === before + 1));
    });

    it('aborts EXEC when a watched key is changed by another client or directly through the service (as HTTP does)', async () => {
      const client = await open(tokens.admin);
      const other = await open(tokens.admin);
      await client.do('SET', 'watched', '1');
      assert.equal(await client.do('WATCH', 'watched'), '+OK');
      await other.do('SET', 'watched', '2');
      await client.do('MULTI');
      await client.do('SET', 'watched', 'from-exec');
      assert.equal(await client.do('EXEC'), '*nil');
      assert.equal(await client.do('GET', 'watched'), '2');

      const caller = server.service.authenticate(tokens.admin, 'test');
      assert.equal(await client.do('WATCH', 'watched', 'absent-key'), '+OK');
      await server.service.put(caller, 'absent-key', Buffer.from('now present'));
      await client.do('MULTI');
      await client.do('INCR', 'watched');
      assert.equal(await client.do('EXEC'), '*nil');
      assert.equal(await client.do('GET', 'watched'), '2');

      // Unchanged watched keys let EXEC through.
      assert.equal(await client.do('WATCH', 'watched'), '+OK');
      await client.do('MULTI');
      await client.do('INCR', 'watched');
      assert.deepEqual(await client.do('EXEC'), [3]);
    });

    it('keeps INCR exact under concurrent clients (optimistic retries)', async () => {
      const writers = await Promise.all(Array.from({ length: 8 }, () => open(tokens.write)));
      await Promise.all(
        writers.map(async (client) => {
          for (let index = 0; index < 50; index++) client.send('INCR', 'contended');
          for (let index = 0; index < 50; index++) assert.equal((show(await client.read()) as number) > 0, true);
        }),
      );
      assert.equal(await writers[0]!.do('GET', 'contended'), '400');
    });

    it('runs concurrent single-key and multi-key transactions without losing or failing any', async () => {
      const clients = await Promise.all(Array.from({ length: 10 }, () => open(tokens.write)));
      await Promise.all(
        clients.map(async (client) => {
          for (let round = 0; round < 20; round++) {
            client.writeRaw(
              Buffer.concat([
                encodeCommand(['MULTI']),
                encodeCommand(['INCR', 'tx:single']),
                encodeCommand(['EXPIRE', 'tx:single', '100']),
                encodeCommand(['EXEC']),
                encodeCommand(['MULTI']),
                encodeCommand(['INCRBY', 'tx:a', '2']),
                encodeCommand(['DECRBY', 'tx:b', '2']),
                encodeCommand(['EXEC']),
                encodeCommand(['COPY', 'tx:a', 'tx:copy', 'REPLACE']),
                encodeCommand(['MGET', 'tx:a', 'tx:b']),
              ]),
            );
            for (const expected of ['+OK', '+QUEUED', '+QUEUED']) assert.equal(show(await client.read()), expected);
            const single = show(await client.read()) as [number, number];
            assert.equal(single[1], 1, 'EXPIRE inside EXEC');
            for (const expected of ['+OK', '+QUEUED', '+QUEUED']) assert.equal(show(await client.read()), expected);
            const pair = show(await client.read()) as [number, number];
            assert.equal(pair[0] + pair[1], 0, 'a and b move together');
            assert.equal(show(await client.read()), 1);
            const [a, b] = show(await client.read()) as [string, string];
            assert.equal(Number(a) + Number(b), 0, 'MGET never sees half a transaction');
          }
        }),
      );
      assert.deepEqual(await clients[0]!.do('MGET', 'tx:single', 'tx:a', 'tx:b'), ['200', '400', '-400']);
    });

    it('stores RESP TTLs as the key expiry the HTTP API shows, and versions count every write', async () => {
      const client = await open(tokens.admin);
      const before = Date.now();
      assert.equal(await client.do('SET', 'ttl-key', 'v', 'EX', '100'), '+OK');
      let entry = await server.service.get(anonymous, 'ttl-key');
      assert.ok(
        entry?.expires !== null && entry!.expires! >= before + 100_000 && entry!.expires! <= Date.now() + 100_000,
      );
      assert.equal(entry?.version, 1);
      await client.do('APPEND', 'ttl-key', 'w');
      await client.do('PERSIST', 'ttl-key');
      entry = await server.service.get(anonymous, 'ttl-key');
      assert.equal(entry?.expires, null);
      assert.equal(entry?.version, 3);
      assert.equal(entry?.value.toString(), 'vw');
    });

    it('keeps the content type of a value set over HTTP when RESP modifies it', async () => {
      const client = await open(tokens.admin);
      const caller = server.service.authenticate(tokens.admin, 'test');
      await server.service.put(caller, 'typed', Buffer.from('{"a":1'), { contentType: 'application/json' });
      await client.do('APPEND', 'typed', '}');
      const entry = await server.service.get(anonymous, 'typed');
      assert.equal(entry?.contentType, 'application/json');
      assert.equal(entry?.value.toString(), '{"a":1}');
    });

    it('returns every key present throughout a SCAN at least once while the store changes', async () => {
      const client = await open(tokens.admin);
      const writer = await open(tokens.admin);
      await client.do('FLUSHDB');
      const stable = Array.from({ length: 300 }, (_, index) => `scan:${String(index).padStart(3, '0')}`);
      await client.do('MSET', ...stable.flatMap((key) => [key, 'v']));
      const seen = new Set<string>();
      let cursor = '0';
      let round = 0;
      do {
        const [next, keys] = (await client.do('SCAN', cursor, 'COUNT', '17')) as [string, string[]];
        keys.forEach((key) => seen.add(key));
        cursor = next;
        // Meanwhile others add and remove keys everywhere in the key space.
        await writer.do('SET', `scan:${String((round * 7) % 300).padStart(3, '0')}-new`, 'x');
        await writer.do('DEL', `scan:${String((round * 11) % 300).padStart(3, '0')}-new`);
        round++;
      } while (cursor !== '0');
      for (const key of stable) assert.ok(seen.has(key), `SCAN missed ${key}`);
    });

    it('runs KEYS, DBSIZE and RANDOMKEY over the live store', async () => {
      const client = await open(tokens.admin);
      await client.do('FLUSHDB');
      assert.equal(await client.do('DBSIZE'), 0);
      assert.equal(await client.do('RANDOMKEY'), null);
      await client.do('MSET', 'b', '1', 'a', '2', 'c', '3');
      assert.equal(await client.do('DBSIZE'), 3);
      assert.deepEqual(await client.do('KEYS', '*'), ['a', 'b', 'c']);
      const random = await client.do('RANDOMKEY');
      assert.ok(['a', 'b', 'c'].includes(random as string));
      await client.do('MULTI');
      await client.do('SET', 'd', '4');
      await client.do('DEL', 'a');
      await client.do('DBSIZE');
      await client.do('KEYS', '*');
      assert.deepEqual(await client.do('EXEC'), ['+OK', 1, 3, ['b', 'c', 'd']]);
      assert.equal(await client.do('FLUSHALL', 'ASYNC'), '+OK');
      assert.equal(await client.do('DBSIZE'), 0);
      assert.equal(await client.do('FLUSHDB', 'NOW'), '-ERR syntax error');
    });
  });

  describe('pipelining', () => {
    it('answers many commands sent in one write, in order, each seeing the ones before', async () => {
      const client = await open(tokens.admin);
      const commands: string[][] = [
        ['DEL', 'p'],
        ['SET', 'p', '1'],
        ['INCR', 'p'],
        ['GET', 'p'],
        ['SET', 'p', '10'],
        ['SET', 'q', '1'],
        ['INCRBY', 'p', '5'],
        ['MGET', 'p', 'q'],
        ['PING'],
      ];
      client.writeRaw(Buffer.concat(commands.map((command) => encodeCommand(command))));
      const replies = [];
      for (let index = 0; index < commands.length; index++) replies.push(show(await client.read()));
      assert.deepEqual(replies, [0, '+OK', 2, '2', '+OK', '+OK', 15, ['15', '1'], '+PONG']);
    });

    it('answers a long pipeline of blind writes and reads in order', async () => {
      const client = await open(tokens.admin);
      const parts: Buffer[] = [];
      for (let index = 0; index < 2000; index++) {
        parts.push(encodeCommand(['SET', `pipe:${index % 10}`, String(index)]));
        if (index % 3 === 0) parts.push(encodeCommand(['GET', `pipe:${index % 10}`]));
      }
      client.writeRaw(Buffer.concat(parts));
      for (let index = 0; index < 2000; index++) {
        assert.equal(show(await client.read()), '+OK');
        if (index % 3 === 0) assert.equal(show(await client.read()), String(index));
      }
    });

    it('accepts inline commands', async () => {
      const client = await open();
      client.writeRaw(`PING\r\nECHO "a b"\r\nAUTH ${tokens.admin}\r\nSET inline 'x y'\r\nGET inline\n`);
      const replies = [];
      for (let index = 0; index < 5; index++) replies.push(show(await client.read()));
      assert.deepEqual(replies, ['+PONG', 'a b', '+OK', '+OK', 'x y']);
    });

    it('round-trips a large binary value byte for byte', async () => {
      const client = await open(tokens.admin);
      const value = Buffer.alloc(64 * 1024);
      for (let index = 0; index < value.length; index++) value[index] = (index * 7) % 256;
      assert.equal(await client.do('SET', 'binary', value), '+OK');
      const reply = await client.call('GET', 'binary');
      assert.ok(reply.type === 'bulk' && reply.value?.equals(value));
    });
  });

  describe('connection handling', () => {
    it('answers a protocol error, closes the connection, and runs nothing of the malformed command', async () => {
      const client = await open(tokens.admin);
      client.writeRaw(
        Buffer.concat([
          encodeCommand(['SET', 'before-error', '1']),
          Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$abc\r\n'),
          encodeCommand(['SET', 'after-error', '1']),
        ]),
      );
      assert.equal(show(await client.read()), '+OK');
      assert.equal(show(await client.read()), '-ERR Protocol error: invalid bulk length');
      await client.waitClosed();
      const check = await open();
      assert.equal(await check.do('EXISTS', 'before-error', 'x', 'after-error'), 1);
      assert.equal(await check.do('PING'), '+PONG');
    });

    it('closes on garbage and on an oversized bulk announcement', async () => {
      const garbage = await open();
      garbage.writeRaw('*2\r\n$3\r\nGET\r\n!!!!\r\n');
      assert.equal(show(await garbage.read()), "-ERR Protocol error: expected '$', got '!'");
      await garbage.waitClosed();
      const huge = await open();
      huge.writeRaw(`*2\r\n$3\r\nGET\r\n$${server.service.limits.maxRespRequestBytes + 1}\r\n`);
      assert.equal(show(await huge.read()), '-ERR Protocol error: invalid bulk length');
      await huge.waitClosed();
    });

    it('QUIT answers OK and closes; RESET drops auth, name, MULTI and RESP3', async () => {
      const quitter = await open();
      assert.equal(await quitter.do('QUIT'), '+OK');
      await quitter.waitClosed();
      const client = await open();
      await client.do('HELLO', '3', 'AUTH', 'default', tokens.admin, 'SETNAME', 'x');
      await client.do('MULTI');
      assert.equal(await client.do('RESET'), '+RESET');
      assert.equal(await client.do('GET', 'nothing-here'), null);
      assert.equal(await client.do('CLIENT', 'GETNAME'), null);
      assert.equal(await client.do('SET', 'k', 'v'), '-NOAUTH Authentication required.');
      assert.equal(await client.do('EXEC'), '-ERR EXEC without MULTI');
    });

    it('TIME answers the wall clock in seconds and microseconds, never going back', async () => {
      const client = await open();
      let previous = 0n;
      for (let index = 0; index < 300; index++) {
        const [seconds, micros] = (await client.do('TIME')) as [string, string];
        assert.match(seconds, /^\d+$/);
        assert.match(micros, /^\d{1,6}$/);
        const now = BigInt(seconds) * 1_000_000n + BigInt(micros);
        assert.ok(now >= previous, `TIME went back: ${previous} then ${now}`);
        previous = now;
      }
      const offsetMs = Number(previous / 1000n) - Date.now();
      assert.ok(Math.abs(offsetMs) < 60_000, `TIME is ${offsetMs} ms away from the wall clock`);
    });

    it('answers INFO, COMMAND and CONFIG GET for clients that probe them', async () => {
      const client = await open();
      const info = (await client.do('INFO')) as string;
      assert.match(info, /^# Server\r\nredis_version:7\.0\.15\r\n/);
      assert.match(info, /\r\nloading:0\r\n/);
      assert.match((await client.do('INFO', 'keyspace')) as string, /^# Keyspace\r\n/);
      const count = (await client.do('COMMAND', 'COUNT')) as number;
      assert.ok(count >= 60);
      const [getInfo] = (await client.do('COMMAND', 'INFO', 'get')) as unknown[][];
      assert.deepEqual(getInfo!.slice(0, 6), ['get', 2, ['+readonly', '+fast'], 1, 1, 1]);
      const docs = (await client.do('COMMAND', 'DOCS', 'set')) as unknown[];
      assert.equal(docs[0], 'set');
      assert.deepEqual(await client.do('CONFIG', 'GET', 'save'), ['save', '']);
      assert.deepEqual(await client.do('CONFIG', 'GET', 'appendonly'), ['appendonly', 'yes']);
      assert.deepEqual(await client.do('CONFIG', 'GET', 'port'), ['port', String(server.port)]);
      assert.deepEqual(await client.do('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2'), ['a', 'b']);
      assert.equal(((await client.do('COMMAND')) as unknown[]).length, count);
      assert.equal(await client.do('CLIENT', 'LIST'), '-NOAUTH Authentication required.');
      const admin = await open(tokens.admin);
      const list = (await admin.do('CLIENT', 'LIST')) as string;
      assert.ok(list.split('\n').filter((line) => line !== '').length >= 2);
    });

    it('CLIENT LIST and CONFIG RESETSTAT need an admin token', async () => {
      // Closed at the end: this describe's server allows few connections at once.
      const anonymousClient = await connect(server);
      const writer = await connect(server, tokens.write);
      const admin = await connect(server, tokens.admin);
      for (const command of [
        ['CLIENT', 'LIST'],
        ['CONFIG', 'RESETSTAT'],
      ]) {
        assert.equal(await anonymousClient.do(...command), '-NOAUTH Authentication required.', command.join(' '));
        const name = command.join('|').toLowerCase();
        assert.equal(await writer.do(...command), `-NOPERM this user has no permissions to run the '${name}' command`);
      }
      assert.match(String(await admin.do('CLIENT', 'LIST')), /id=\d+ addr=/);
      assert.equal(await admin.do('CONFIG', 'RESETSTAT'), '+OK');
      // What concerns only the caller's own connection stays open to everyone.
      assert.equal(typeof (await anonymousClient.do('CLIENT', 'ID')), 'number');
      assert.match(String(await anonymousClient.do('CLIENT', 'INFO')), /id=\d+ addr=/);
      for (const client of [anonymousClient, writer, admin]) client.close();
    });
  });
});

describe('RESP CONFIG GET bind', () => {
  it('names the address the listener is bound to', async () => {
    // Any 127.x.y.z address is loopback on Linux: one other than 127.0.0.1 shows the value is real.
    const server = await startInProcessServer({ host: '127.0.0.2' });
    const client = await RespTestClient.connect(server.port, '127.0.0.2');
    try {
      assert.deepEqual(await client.do('CONFIG', 'GET', 'bind'), ['bind', '127.0.0.2']);
    } finally {
      client.close();
      await server.close();
    }
  });
});

describe('RESP on a --private server', () => {
  let server: InProcessServer;
  const clients: RespTestClient[] = [];
  before(async () => {
    server = await startInProcessServer({ privateReads: true });
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  it('lets a connection that has not authenticated only AUTH, HELLO with AUTH, QUIT and RESET', async () => {
    const client = await connect(server);
    clients.push(client);
    const noAuth = '-NOAUTH Authentication required.';
    for (const command of [
      ['PING'],
      ['GET', 'k'],
      ['CLIENT', 'ID'],
      ['CLIENT', 'LIST'],
      ['COMMAND', 'COUNT'],
      ['CONFIG', 'GET', 'save'],
      ['INFO'],
      ['DBSIZE'],
      ['ECHO', 'x'],
      ['SELECT', '0'],
    ]) {
      assert.equal(await client.do(...command), noAuth, command.join(' '));
    }
    assert.match(
      String(await client.do('HELLO', '3')),
      /^-NOAUTH HELLO must be called with the client already authenticated/,
    );
    assert.equal(await client.do('RESET'), '+RESET');
    assert.equal(await client.do('AUTH', tokens.read), '+OK');
    assert.equal(await client.do('PING'), '+PONG');
    assert.equal(await client.do('GET', 'k'), null);
    const hello = await connect(server);
    clients.push(hello);
    const greeting = (await hello.do('HELLO', '2', 'AUTH', 'default', tokens.read)) as unknown[];
    assert.equal(greeting[0], 'server');
    assert.equal(await hello.do('PING'), '+PONG');
    const quitter = await connect(server);
    assert.equal(await quitter.do('QUIT'), '+OK');
    await quitter.waitClosed();
  });
});

describe('RESP listener limits', () => {
  it('applies maxBatch to the keys one command touches, and saves nothing past it', async () => {
    const server = await startInProcessServer({ limits: { maxBatch: 10 } });
    const client = await connect(server, tokens.admin);
    try {
      const tooMany = '-ERR Too many keys or operations in one request.';
      const keys = (count: number, from = 0) => Array.from({ length: count }, (_, index) => `batch:${from + index}`);
      const pairs = (list: string[]) => list.flatMap((key) => [key, `v-${key}`]);
      assert.equal(await client.do('MSET', ...pairs(keys(10))), '+OK');
      assert.equal(await client.do('MSET', ...pairs(keys(11, 100))), tooMany);
      assert.equal(await client.do('EXISTS', ...keys(10, 100)), 0, 'nothing of the refused MSET was saved');
      assert.equal(await client.do('MSETNX', ...pairs(keys(11, 200))), tooMany);
      assert.equal(((await client.do('MGET', ...keys(10))) as unknown[]).length, 10);
      assert.equal(await client.do('MGET', ...keys(11)), tooMany);
      // DEL reads each key it deletes (to count them): 10 existing keys are 10, not 20.
      assert.equal(await client.do('DEL', ...keys(11)), tooMany);
      assert.equal(await client.do('EXISTS', ...keys(10)), 10, 'nothing of the refused DEL was deleted');
      assert.equal(await client.do('DEL', ...keys(10)), 10);
      assert.equal(await client.do('EXISTS', ...keys(10)), 0);
    } finally {
      client.close();
      await server.close();
    }
  });

  it("refuses connections beyond maxConnections with Redis's error", async () => {
    const server = await startInProcessServer({ limits: { maxConnections: 2 } });
    const clients: RespTestClient[] = [];
    try {
      for (let index = 0; index < 2; index++) {
        const client = await RespTestClient.connect(server.port);
        clients.push(client);
        assert.equal(await client.do('PING'), '+PONG');
      }
      const third = await RespTestClient.connect(server.port);
      clients.push(third);
      assert.equal(show(await third.read()), '-ERR max number of clients reached');
      await third.waitClosed();
      clients[0]!.close();
      await clients[0]!.waitClosed();
      // A freed slot is usable again (the close reaches the server asynchronously: retry briefly).
      let reply: unknown;
      for (let attempt = 0; attempt < 50 && reply !== '+PONG'; attempt++) {
        const next = await RespTestClient.connect(server.port);
        clients.push(next);
        next.send('PING');
        reply = show(await next.read());
        if (reply !== '+PONG') await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(reply, '+PONG');
    } finally {
      for (const client of clients) client.close();
      await server.close();
    }
  });

  it('closes a connection whose request does not complete in time, and keeps serving others', async () => {
    const server = await startInProcessServer({ limits: { requestTimeoutMs: 300 } });
    try {
      const slow = await RespTestClient.connect(server.port);
      slow.writeRaw('*2\r\n$3\r\nGET\r\n$10\r\nabc');
      assert.equal(show(await slow.read()), '-ERR The request was not received in time.');
      await slow.waitClosed();
      const idle = await RespTestClient.connect(server.port);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(await idle.do('PING'), '+PONG', 'an idle connection between commands is not timed out');
      idle.close();
    } finally {
      await server.close();
    }
  });

  it('keeps serving others while a client pipelines large replies without reading them', async () => {
    const server = await startInProcessServer({ limits: { maxValueBytes: 1024 * 1024 } });
    const clients: RespTestClient[] = [];
    try {
      const writer = await connect(server, tokens.admin);
      clients.push(writer);
      assert.equal(await writer.do('SET', 'large', Buffer.alloc(512 * 1024, 'z')), '+OK');
      const greedy = await RespTestClient.connect(server.port);
      clients.push(greedy);
      const rssBefore = process.memoryUsage().rss;
      // 2000 GETs would need 1 GB of replies; the server must stop reading this client instead.
      const request = encodeCommand(['GET', 'large']);
      greedy.writeRaw(Buffer.concat(Array.from({ length: 2000 }, () => request)));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const other = await RespTestClient.connect(server.port);
      clients.push(other);
      assert.equal(await other.do('PING'), '+PONG');
      assert.equal(await other.do('STRLEN', 'large'), 512 * 1024);
      const grown = process.memoryUsage().rss - rssBefore;
      assert.ok(grown < 400 * 1024 * 1024, `server memory grew by ${grown} bytes`);
    } finally {
      for (const client of clients) client.close();
      await server.close();
    }
  });
});
