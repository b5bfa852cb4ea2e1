// Differential test: the same command scripts run against a real redis-server 7.0 and against
// kvs's RESP listener; every reply must be identical (type, bytes, error text). Redis is the
// reference for replies, error strings and edge cases. Only deliberate differences
// (documented in docs/redis-compatibility.md) are left out of these scripts; they are tested in
// commands.test.ts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RespTestClient } from './resp-test-client.js';
import { skipUnlessTool, startRedisServer, type RedisServerProcess } from './external-tools.js';
import { startInProcessServer, tokens, type InProcessServer } from './in-process-server.js';

type Step = string | (string | Buffer)[] | { args: (string | Buffer)[]; sorted: true };

function argsOf(step: Step): (string | Buffer)[] {
  if (typeof step === 'string') return step.split(' ');
  if (Array.isArray(step)) return step;
  return step.args;
}

function normalise(step: Step, reply: unknown): unknown {
  if (typeof step === 'object' && !Array.isArray(step) && Array.isArray(reply)) return [...reply].sort();
  return reply;
}

const scripts: Record<string, Step[]> = {
  'GET and SET': ['GET k', 'SET k v', 'GET k', 'SET k v2', 'GET k', 'GET', 'SET k', 'set K x', 'get K', 'Get k'],
  'SET options': [
    'SET k v NX',
    'SET k v NX',
    'SET k w XX',
    'GET k',
    'SET nx v XX',
    'GET nx',
    'SET k a GET',
    'SET missing a GET',
    'SET k b NX GET',
    'SET k2 b XX GET',
    'GET k2',
    'SET k c xx get',
    'SET k v NX XX',
    'SET k v XX NX',
    'SET k v EX',
    'SET k v EX 0',
    'SET k v EX -1',
    'SET k v EX abc',
    'SET k v EX 1.5',
    'SET k v PX 0',
    'SET k v EX 10 PX 10',
    'SET k v EX 10 KEEPTTL',
    'SET k v KEEPTTL EX 10',
    'SET k v FOO',
    'SET k v GET GET',
    'SET k v EX 100',
    'TTL k',
    'SET k v2 KEEPTTL',
    'TTL k',
    'GET k',
    'SET k v3',
    'TTL k',
    'SET k v EX 10 EX 100',
    'TTL k',
    'SET k v EXAT 4000000000',
    'EXPIRETIME k',
    'SET k v PXAT 4000000000123',
    'PEXPIRETIME k',
    'SET k v PXAT 1',
    'GET k',
    'EXISTS k',
    'SET k v EX 9223372036854775807',
    'SET k v EX 9223372036854775',
    'SET k v PX 9223372036854775807',
    'SET k v EXAT 0',
    'SET k v ex 50 nx',
    'TTL k',
    'SET k v PERSIST',
  ],
  'SETNX SETEX PSETEX GETSET': [
    'SETNX k v',
    'SETNX k w',
    'GET k',
    'SETEX k 100 v',
    'TTL k',
    'SETEX k 0 v',
    'SETEX k -5 v',
    'SETEX k x v',
    'PSETEX k 100000 v',
    'TTL k',
    'PSETEX k 0 v',
    'SETEX k',
    'GETSET k new',
    'TTL k',
    'GETSET none v',
    'GET none',
  ],
  'GETEX GETDEL': [
    'GETEX k',
    'GETEX k EX -1',
    'GETEX k FOO',
    'SET k v',
    'GETEX k',
    'GETEX k EX 100',
    'TTL k',
    'GETEX k PERSIST',
    'TTL k',
    'GETEX k PX 100000 PERSIST',
    'GETEX k PERSIST EX 10',
    'GETEX k EX 0',
    'GETEX k EXAT 1',
    'EXISTS k',
    'SET k v',
    'GETEX k KEEPTTL',
    'GETDEL k',
    'GETDEL k',
    'EXISTS k',
  ],
  'MGET MSET MSETNX': [
    'MSET a 1 b 2 c 3',
    'MGET a b c d',
    'MSET a 1 b',
    'MSET a',
    'MSETNX a 1 x 2',
    'MGET x',
    'MSETNX x 1 y 2',
    'MGET x y',
    'MSETNX x',
    'MSETNX p 1 p 2',
    'GET p',
  ],
  'INCR family': [
    'INCR n',
    'INCR n',
    'DECR n',
    'INCRBY n 10',
    'DECRBY n 3',
    'INCRBY n -100',
    'GET n',
    'INCRBY n x',
    'INCRBY n 1.5',
    'INCRBY n 01',
    'INCRBY n +1',
    'SET s abc',
    'INCR s',
    'SET s " 1"',
    ['SET', 's', ' 1'],
    'INCR s',
    'SET s 01',
    'INCR s',
    'SET s -0',
    'INCR s',
    'SET s +1',
    'INCR s',
    'SET s 1.0',
    'INCR s',
    'SET m 9223372036854775807',
    'INCR m',
    'INCRBY m 0',
    'SET m -9223372036854775808',
    'DECR m',
    'DECRBY m -1',
    'DECRBY x -9223372036854775808',
    'DECRBY x 9223372036854775807',
    'DECRBY x 2',
    'INCRBY x 9223372036854775808',
    'SET big 99999999999999999999',
    'INCR big',
    'SET k v EX 100',
    'SET k 5 KEEPTTL',
    'INCR k',
    'TTL k',
  ],
  INCRBYFLOAT: [
    'SET f 10.50',
    'INCRBYFLOAT f 0.1',
    'INCRBYFLOAT f -5',
    'SET f 5.0e3',
    'INCRBYFLOAT f 2.0e2',
    'INCRBYFLOAT g 3.0e3',
    'INCRBYFLOAT h 0.1',
    'INCRBYFLOAT h 0.2',
    'INCRBYFLOAT h 1e-20',
    'INCRBYFLOAT i -0',
    'INCRBYFLOAT j 1.7976931348623157e308',
    'INCRBYFLOAT j 1.7976931348623157e308',
    'INCRBYFLOAT k inf',
    'INCRBYFLOAT k nan',
    'INCRBYFLOAT k abc',
    ['INCRBYFLOAT', 'k', ' 1'],
    'INCRBYFLOAT k 1e',
    'INCRBYFLOAT k .5',
    'INCRBYFLOAT k 5.',
    'INCRBYFLOAT k +3',
    'INCRBYFLOAT l 123456.789',
    'INCRBYFLOAT l 1000000.1',
    'INCRBYFLOAT m 1e30',
    'INCRBYFLOAT m 1',
    'INCRBYFLOAT n -1e-30',
    'INCRBYFLOAT o 0x10',
    'INCRBYFLOAT o 0x1.8p1',
    'SET p abc',
    'INCRBYFLOAT p 1',
    'SET q inf',
    'INCRBYFLOAT q 1',
    'INCRBYFLOAT r 1e5000',
    'INCRBYFLOAT r 1e-5000',
    'INCRBYFLOAT s 0.3333333333333333333333',
    'INCRBYFLOAT s 0.6666666666666666666667',
    'INCRBYFLOAT t 9007199254740993',
    'INCRBYFLOAT u 1.1',
    'INCRBYFLOAT u 2.2',
    'INCRBYFLOAT v 99.99',
    'INCRBYFLOAT v 0.01',
  ],
  'APPEND STRLEN GETRANGE SETRANGE': [
    'APPEND k Hello',
    'APPEND k " World"',
    ['APPEND', 'k', ' World'],
    'GET k',
    'STRLEN k',
    'STRLEN none',
    'GETRANGE k 0 3',
    'GETRANGE k -3 -1',
    'GETRANGE k 0 -1',
    'GETRANGE k 10 100',
    'GETRANGE k -100 2',
    'GETRANGE k 5 2',
    'GETRANGE k -1 -5',
    'GETRANGE k 0 9223372036854775807',
    'GETRANGE k -9223372036854775808 1',
    'GETRANGE none 0 -1',
    'GETRANGE k a 1',
    'SUBSTR k 1 3',
    'SETRANGE k 6 Redis',
    'GET k',
    'SETRANGE k -1 x',
    'SETRANGE none 0 ""',
    ['SETRANGE', 'none', '0', ''],
    'EXISTS none',
    'SETRANGE pad 5 x',
    'GET pad',
    ['SETRANGE', 'k', '2', ''],
    'SETRANGE k x y',
    'SET e ""',
    ['SET', 'e', ''],
    'GETRANGE e 0 -1',
    'STRLEN e',
  ],
  LCS: [
    'MSET a ohmytext b mynewtext',
    'LCS a b',
    'LCS a b LEN',
    'LCS a b IDX',
    'LCS a b IDX MINMATCHLEN 4',
    'LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN',
    'LCS a b IDX WITHMATCHLEN',
    'LCS a b LEN IDX',
    'LCS a missing',
    'LCS missing missing2 LEN',
    'LCS a b FOO',
    'LCS a b MINMATCHLEN',
    'LCS a b MINMATCHLEN x',
    'LCS a b IDX MINMATCHLEN -5',
    'MSET c abcabcabc d cbacbacba',
    'LCS c d IDX WITHMATCHLEN',
    'LCS c d',
  ],
  'bit commands': [
    'SETBIT b 7 1',
    'GET b',
    'SETBIT b 7 0',
    'SETBIT b 100 1',
    'STRLEN b',
    'GETBIT b 100',
    'GETBIT b 101',
    'GETBIT b 100000',
    'GETBIT none 1',
    'SETBIT b -1 1',
    'SETBIT b 1 2',
    'SETBIT b 1 x',
    'SETBIT b 4294967296 1',
    'GETBIT b -1',
    'GETBIT b x',
    'SET s foobar',
    'BITCOUNT s',
    'BITCOUNT s 0 0',
    'BITCOUNT s 1 1',
    'BITCOUNT s 1 1 BYTE',
    'BITCOUNT s 5 30 BIT',
    'BITCOUNT s -2 -1',
    'BITCOUNT s -1 -2',
    'BITCOUNT s 0',
    'BITCOUNT none 0',
    'BITCOUNT s 0 1 FOO',
    'BITCOUNT s a b',
    'BITCOUNT none',
    'BITCOUNT s 0 -1 BIT',
    'SET p \xff\xf0\x00',
    ['SET', 'p', Buffer.from([0xff, 0xf0, 0x00])],
    'BITPOS p 0',
    'BITPOS p 1',
    'BITPOS p 1 2',
    'BITPOS p 0 0 -1',
    'BITPOS p 1 7 15 BIT',
    'BITPOS p 0 8 -1 BIT',
    'BITPOS p 2',
    'BITPOS none 0',
    'BITPOS none 1',
    'BITPOS p 0 0 1 FOO',
    'BITPOS p 0 x',
    ['SET', 'full', Buffer.from([0xff, 0xff])],
    'BITPOS full 0',
    'BITPOS full 0 0',
    'BITPOS full 0 0 -1',
    'BITPOS full 0 0 -1 BIT',
    'BITPOS full 1 -1 -1',
    ['SET', 'zero', Buffer.from([0, 0])],
    'BITPOS zero 1',
    'BITPOS zero 0 5 9 BIT',
    'BITPOS zero 1 5 9 BIT',
    'BITCOUNT zero 3 2 BIT',
  ],
  'DEL EXISTS TOUCH TYPE UNLINK': [
    'MSET a 1 b 2',
    'EXISTS a b c a',
    'TOUCH a b c',
    'TYPE a',
    'TYPE c',
    'DEL a a c',
    'EXISTS a',
    'UNLINK b',
    'UNLINK b',
    'DEL',
    'EXISTS',
  ],
  'RENAME RENAMENX COPY': [
    'RENAME a b',
    'SET a 1',
    'RENAME a a',
    'RENAME a b',
    'GET b',
    'EXISTS a',
    'SET c 3',
    'RENAMENX b c',
    'RENAMENX b d',
    'RENAMENX d d',
    'RENAMENX zz d',
    'SET t v EX 100',
    'RENAME t t2',
    'TTL t2',
    'RENAME c t2',
    'TTL t2',
    'GET t2',
    'COPY t2 x',
    'COPY t2 x',
    'COPY t2 x REPLACE',
    'COPY t2 t2',
    'COPY none x',
    'COPY t2 y DB 0',
    'COPY t2 y DB abc',
    'COPY t2 y FOO',
    'COPY t2 y DB',
    'SET e v EX 100',
    'COPY e f',
    'TTL f',
  ],
  'EXPIRE family': [
    'EXPIRE k 100',
    'SET k v',
    'TTL k',
    'PTTL none',
    'EXPIRE k 100',
    'TTL k',
    'EXPIRE k 100 NX',
    'EXPIRE k 200 XX',
    'TTL k',
    'EXPIRE k 50 GT',
    'EXPIRE k 500 GT',
    'TTL k',
    'EXPIRE k 600 LT',
    'EXPIRE k 60 LT',
    'TTL k',
    'EXPIRE k 10 NX XX',
    'EXPIRE k 10 GT LT',
    'EXPIRE k 10 FOO',
    'EXPIRE k abc',
    'EXPIRE k abc FOO',
    'PERSIST k',
    'TTL k',
    'PERSIST k',
    'EXPIRE k 10 XX',
    'EXPIRE k 10 GT',
    'EXPIRE k 10 LT',
    'TTL k',
    'PERSIST none',
    'EXPIREAT k 4000000000',
    'EXPIRETIME k',
    'PEXPIRETIME k',
    'PEXPIREAT k 4000000000500',
    'EXPIRETIME k',
    'PEXPIRETIME k',
    'EXPIRETIME none',
    'SET p v',
    'EXPIRETIME p',
    'PEXPIRETIME p',
    'PEXPIRE p 100000',
    'TTL p',
    'EXPIRE p 0',
    'EXISTS p',
    'SET p v',
    'EXPIRE p -10',
    'GET p',
    'SET p v',
    'EXPIREAT p 100',
    'GET p',
    'EXPIRE p 9223372036854775807',
    'SET q v',
    'EXPIRE q 9223372036854775807',
    'EXPIRE q -9223372036854775808',
    'PEXPIRE q 9223372036854775807',
    'TTL q',
    'EXPIRE q 10 nx',
  ],
  'KEYS patterns': [
    'MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 hillo 6 h*llo 7 h?llo 8 "h[a]llo" 9',
    { args: ['KEYS', '*'], sorted: true },
    { args: ['KEYS', 'h?llo'], sorted: true },
    { args: ['KEYS', 'h*llo'], sorted: true },
    { args: ['KEYS', 'h[ae]llo'], sorted: true },
    { args: ['KEYS', 'h[^e]llo'], sorted: true },
    { args: ['KEYS', 'h[a-b]llo'], sorted: true },
    { args: ['KEYS', 'h[b-a]llo'], sorted: true },
    { args: ['KEYS', 'h\\*llo'], sorted: true },
    { args: ['KEYS', 'h\\?llo'], sorted: true },
    { args: ['KEYS', 'h[\\]]llo'], sorted: true },
    { args: ['KEYS', 'nomatch*'], sorted: true },
    { args: ['KEYS', 'hello'], sorted: true },
    { args: ['KEYS', 'h[a'], sorted: true },
    { args: ['KEYS', '*o'], sorted: true },
    { args: ['KEYS', '**'], sorted: true },
    { args: ['KEYS', '?'], sorted: true },
    { args: ['KEYS', '"h[a]llo"'], sorted: true },
    { args: ['KEYS', '*l*'], sorted: true },
    { args: ['KEYS', 'h\\'], sorted: true },
    'KEYS',
    'RANDOMKEY x',
  ],
  'MULTI EXEC DISCARD': [
    'EXEC',
    'DISCARD',
    'MULTI',
    'MULTI',
    'SET a 1',
    'INCR a',
    'GET a',
    'EXEC',
    'MULTI',
    'SET a 1',
    'SET b',
    'INCR a',
    'EXEC',
    'GET a',
    'MULTI',
    'SET s notanumber',
    'INCR s',
    'SET t ok',
    'EXEC',
    'GET t',
    'MULTI',
    'SET u 1',
    'DISCARD',
    'GET u',
    'MULTI',
    'EXEC',
    'MULTI',
    'WATCH a',
    'EXEC',
    'MULTI',
    'NOSUCHCOMMAND x',
    'EXEC',
    'MULTI',
    'PING',
    'ECHO hi',
    'SELECT 0',
    'DEL t',
    'EXEC',
    'MULTI',
    'INCRBYFLOAT f 1.5',
    'APPEND f x',
    'INCRBYFLOAT f 1',
    'GET f',
    'EXEC',
  ],
  'WATCH aborts on changes by this client': [
    'SET w 1',
    'WATCH w',
    'SET w 2',
    'MULTI',
    'INCR w',
    'EXEC',
    'GET w',
    'WATCH w',
    'MULTI',
    'INCR w',
    'EXEC',
    'GET w',
    'WATCH w',
    'UNWATCH',
    'SET w 10',
    'MULTI',
    'INCR w',
    'EXEC',
    'WATCH nokey',
    'SET nokey 1',
    'MULTI',
    'GET nokey',
    'EXEC',
    'WATCH nokey2',
    'MULTI',
    'SET nokey2 x',
    'EXEC',
    'WATCH w',
    'MULTI',
    'DISCARD',
    'SET w 0',
    'MULTI',
    'INCR w',
    'EXEC',
  ],
  'connection commands': [
    'PING',
    'PING hello',
    'PING a b',
    'ECHO',
    'ECHO x',
    'SELECT 0',
    'SELECT x',
    'SELECT 99999999999',
    'HELLO 4',
    'HELLO x',
    'HELLO 2 FOO',
    'HELLO 2 SETNAME',
    'CLIENT SETNAME',
    'CLIENT SETNAME "a b"',
    ['CLIENT', 'SETNAME', 'a b'],
    'CLIENT SETNAME conn1',
    'CLIENT GETNAME',
    'CLIENT SETNAME ""',
    ['CLIENT', 'SETNAME', ''],
    'CLIENT GETNAME',
    'CLIENT NOSUCH',
    'CLIENT',
    'CONFIG NOSUCH',
    'COMMAND NOSUCH',
    'CLIENT ID x',
  ],
  'unknown commands': ['NOSUCH', 'NOSUCH a b', ['nosuch', 'a'.repeat(200), 'b'], ['NO\r\nSUCH', 'x'], 'GET'],
};

const resp3Scripts: Record<string, Step[]> = {
  'RESP3 replies': [
    'GET missing',
    'SET a 1',
    'MGET a missing',
    'LCS a a IDX',
    'SET b x',
    'WATCH b',
    'SET b y',
    'MULTI',
    'GET b',
    'EXEC',
    'MULTI',
    'GET missing',
    'EXEC',
    'SET k v GET',
    'GETEX missing',
    'CLIENT GETNAME',
    'LCS a b IDX WITHMATCHLEN',
    'PING',
    'RANDOMKEY x',
  ],
};

/** mulberry32: a small deterministic generator, so a failure can be replayed. */
function seededRandom(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

async function runScript(client: RespTestClient, steps: readonly Step[]): Promise<unknown[]> {
  const replies: unknown[] = [];
  for (const step of steps) replies.push(normalise(step, await client.do(...argsOf(step))));
  return replies;
}

describe('kvs answers exactly as redis-server 7.0', { skip: skipUnlessTool('redis-server') }, () => {
  let redis: RedisServerProcess;
  let kvs: InProcessServer;

  before(async () => {
    redis = await startRedisServer();
    kvs = await startInProcessServer();
  });
  after(async () => {
    await redis?.stop();
    await kvs?.close();
  });

  async function compare(name: string, steps: readonly Step[], setup: Step[] = []): Promise<void> {
    const reference = await RespTestClient.connect(redis.port);
    const candidate = await RespTestClient.connect(kvs.port);
    try {
      assert.deepEqual(await reference.do('FLUSHALL'), '+OK');
      assert.deepEqual(await candidate.do('AUTH', tokens.admin), '+OK');
      assert.deepEqual(await candidate.do('FLUSHALL'), '+OK');
      await runScript(reference, setup);
      await runScript(candidate, setup);
      const expected = await runScript(reference, steps);
      const actual = await runScript(candidate, steps);
      steps.forEach((step, index) => {
        assert.deepEqual(
          actual[index],
          expected[index],
          `${name}: step ${index} ${JSON.stringify(argsOf(step).map(String))}`,
        );
      });
    } finally {
      reference.close();
      candidate.close();
    }
  }

  for (const [name, steps] of Object.entries(scripts)) {
    it(name, () => compare(name, steps));
  }
  for (const [name, steps] of Object.entries(resp3Scripts)) {
    it(name, () => compare(name, steps, ['HELLO 3']));
  }

  it('random GETRANGE, SETRANGE, BITCOUNT, BITPOS, GETBIT, SETBIT, LCS and INCRBYFLOAT arguments', async () => {
    const random = seededRandom(12345);
    const index = () => String(random(40) - 20);
    const steps: Step[] = [];
    for (let round = 0; round < 300; round++) {
      const bytes = Buffer.from(
        Array.from({ length: random(6) }, () => [0, 0xff, 0x0f, 0xf0, 0x81, random(256)][random(6)]!),
      );
      steps.push(['SET', 'r', bytes]);
      steps.push(['GETRANGE', 'r', index(), index()]);
      steps.push(['BITCOUNT', 'r', index(), index(), random(2) ? 'BIT' : 'BYTE']);
      steps.push(['BITCOUNT', 'r', index(), index()]);
      steps.push(['BITPOS', 'r', String(random(2)), index(), index(), random(2) ? 'BIT' : 'BYTE']);
      steps.push(['BITPOS', 'r', String(random(2)), index()]);
      steps.push(['BITPOS', 'r', String(random(2)), index(), index()]);
      steps.push(['GETBIT', 'r', String(random(60))]);
      steps.push(['SETBIT', 'r', String(random(60)), String(random(2))]);
      steps.push(['SETRANGE', 'r', String(random(8)), 'ab'.slice(0, random(3))]);
      steps.push(['GET', 'r']);
      const letters = () => Array.from({ length: random(8) }, () => 'abc'[random(3)]).join('');
      steps.push(['MSET', 'x', letters(), 'y', letters()]);
      steps.push(['LCS', 'x', 'y']);
      steps.push(['LCS', 'x', 'y', 'IDX', 'WITHMATCHLEN', 'MINMATCHLEN', String(random(3))]);
      const number = () =>
        `${random(2) ? '-' : ''}${random(100000)}.${random(1000)}${random(3) === 0 ? `e${random(30) - 15}` : ''}`;
      steps.push(['INCRBYFLOAT', 'f', number()]);
    }
    await compare('random arguments', steps);
  });

  it('random KEYS glob patterns (sorted: Redis answers in hash order, kvs in key order)', async () => {
    const random = seededRandom(777);
    const keyAlphabet = ['a', 'b', 'c', '-', '^', ']', '[', '*', '?', '\\', 'é'];
    const patternAlphabet = [
      'a',
      'b',
      'c',
      '-',
      '^',
      ']',
      '[',
      '*',
      '?',
      '\\',
      '*',
      '?',
      '[a-b]',
      '[^a]',
      '[\\]]',
      'é',
    ];
    const keys = new Set<string>();
    while (keys.size < 60)
      keys.add(Array.from({ length: 1 + random(4) }, () => keyAlphabet[random(keyAlphabet.length)]).join(''));
    const steps: Step[] = [['MSET', ...[...keys].flatMap((key) => [key, 'v'])]];
    for (let round = 0; round < 400; round++) {
      const pattern = Array.from({ length: 1 + random(5) }, () => patternAlphabet[random(patternAlphabet.length)]).join(
        '',
      );
      steps.push({ args: ['KEYS', pattern], sorted: true });
    }
    await compare('random globs', steps);
  });

  it('a full SCAN (COUNT, MATCH, TYPE) returns the same keys as Redis', async () => {
    const reference = await RespTestClient.connect(redis.port);
    const candidate = await RespTestClient.connect(kvs.port);
    try {
      await reference.do('FLUSHALL');
      await candidate.do('AUTH', tokens.admin);
      await candidate.do('FLUSHALL');
      const pairs = Array.from({ length: 500 }, (_, index) => [
        `${index % 3 === 0 ? 'user' : 'item'}:${index}`,
        String(index),
      ]).flat();
      await reference.do('MSET', ...pairs);
      await candidate.do('MSET', ...pairs);
      const scanAll = async (client: RespTestClient, options: string[]) => {
        const found: string[] = [];
        let cursor = '0';
        let calls = 0;
        do {
          const reply = (await client.do('SCAN', cursor, ...options)) as [string, string[]];
          cursor = reply[0];
          found.push(...reply[1]);
          assert.ok(++calls < 10_000, 'SCAN did not finish');
        } while (cursor !== '0');
        return [...new Set(found)].sort();
      };
      for (const options of [
        [],
        ['COUNT', '7'],
        ['MATCH', 'user:*', 'COUNT', '13'],
        ['MATCH', '*:1?'],
        ['TYPE', 'string'],
        ['TYPE', 'list'],
        ['MATCH', 'nothing*'],
      ]) {
        assert.deepEqual(
          await scanAll(candidate, options),
          await scanAll(reference, options),
          `SCAN ${options.join(' ')}`,
        );
      }
      for (const bad of [
        ['x'],
        ['1x'],
        ['0', 'COUNT', '0'],
        ['0', 'COUNT', 'x'],
        ['0', 'MATCH'],
        ['0', 'FOO', 'bar'],
      ]) {
        assert.deepEqual(
          await candidate.do('SCAN', ...bad),
          await reference.do('SCAN', ...bad),
          `SCAN ${bad.join(' ')}`,
        );
      }
    } finally {
      reference.close();
      candidate.close();
    }
  });
});
