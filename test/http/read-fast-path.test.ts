// The HTTP read fast path (src/http/read-fast-path.ts), including its own `/?k=` matching and key
// decoding, answers byte for byte what the Fastify routes answer: the same generated GET and HEAD
// requests go to a server with the fast paths on and to one with `--fast-paths off`, in public
// and in private mode, and status, headers and body must agree. The requests name stored and
// missing keys in many encodings (%-escapes upper and lower case, '+' for space, raw bytes,
// broken escapes, lone surrogates, `?k=` lists joined by ',' or '%2C', extra parameters) with
// every kind of token. Generated with fast-check from a fixed seed; KVS_FUZZ_SEED replays another.

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzSeed } from '../fuzz/fuzz-options.js';
import { newToken, removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';

const SEED = fuzzSeed(20261129);
const RUNS = 1000;
const MAX_KEY_BYTES = 48;
const MAX_URL_BYTES = 400;

const admin = newToken();
const reader = newToken();
const limited = newToken();
const tokenFileText = `${admin} admin\n${reader} read\n${limited} read app/\n`;
const serverArgs = [
  '--max-key-bytes',
  String(MAX_KEY_BYTES),
  '--max-url-bytes',
  String(MAX_URL_BYTES),
  // Wrong tokens are part of the mix: keep the failure lock out of the comparison (its
  // Retry-After counts seconds, which may tick between the two servers).
  '--auth-failures',
  '1000000',
];

/** Keys stored on both servers, each with the content type it is written with ('' = none). */
const STORED: readonly (readonly [string, string])[] = [
  ['plain', 'text/plain; charset=utf-8'],
  ['with space', ''],
  ['with+space', 'text/csv'],
  ['plus+sign', 'application/json'],
  ['a,b', 'text/html'],
  ['a', 'image/svg+xml'],
  ['b', ''],
  ['percent%41', 'Application/XML'],
  ['q?x=1&y', ''],
  ['hash#frag', 'application/octet-stream'],
  ['app/inside', 'TEXT/HTML ; charset=utf-8'],
  ['app/ünï', ''],
  ['dir/sub/leaf', 'image/png'],
  ['café ☕', 'text/plain'],
  ['emoji 😀', ''],
  ['auth', ''],
  ['k'.repeat(MAX_KEY_BYTES), ''],
];

const storedKey = fc.constantFrom(...STORED.map(([key]) => key));
const anyKey = fc.oneof(
  { weight: 5, arbitrary: storedKey },
  { weight: 1, arbitrary: fc.string({ maxLength: 12, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ minLength: MAX_KEY_BYTES - 2, maxLength: MAX_KEY_BYTES + 4 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'missing', 'app/missing', ' ', '+', ',', '%') },
);

const utf8Escapes = (text: string, lower: boolean) =>
  [...Buffer.from(text, 'utf8')].map((byte) => {
    const hex = byte.toString(16).padStart(2, '0');
    return `%${lower ? hex : hex.toUpperCase()}`;
  });

/** Ways to write a key into a URL; some are wrong on purpose. */
const ENCODINGS: Record<string, (key: string) => string> = {
  component: (key) => encodeURIComponent(key),
  everyByteUpper: (key) => utf8Escapes(key, false).join(''),
  everyByteLower: (key) => utf8Escapes(key, true).join(''),
  plusForSpace: (key) => encodeURIComponent(key).replace(/%20/g, '+'),
  // Printable ASCII left as is (so ',', '&', '?', '#', '+' and '/' keep their URL meaning).
  minimal: (key) => key.replace(/[^\x21-\x7e]|%/gu, (char) => encodeURIComponent(char)),
  // The UTF-8 bytes sent raw (node:http sends the path as latin1): not URL text.
  rawBytes: (key) =>
    Buffer.from(key, 'utf8')
      .toString('latin1')
      .replace(/[\x00-\x20\x7f]/g, '_'),
};
const BROKEN_ESCAPES = ['%', '%2', '%ZZ', '%FF', '%C3', '%ED%A0%80', '%C0%AF', '%E2%82'];

const encodedKey = fc
  .tuple(
    anyKey,
    fc.constantFrom(...Object.keys(ENCODINGS)),
    fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...BROKEN_ESCAPES) }),
  )
  .map(([key, encoding, broken]) => {
    const encoded = ENCODINGS[encoding]!(key);
    return broken === null ? encoded : `${encoded}${broken}`;
  });

const tokenParam = fc.constantFrom(admin, reader, limited, 'wrong-token', '');

/** The URL of a read: REST /v1/kv/{key} or the seed's /?k= in its forms. */
const url = fc.oneof(
  { weight: 4, arbitrary: encodedKey.map((key) => `/v1/kv/${key}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(encodedKey, fc.constantFrom('', 'x=1', 'k=a')).map(([key, query]) => `/v1/kv/${key}?${query}`),
  },
  { weight: 4, arbitrary: encodedKey.map((key) => `/?k=${key}`) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.array(encodedKey, { minLength: 2, maxLength: 4 }), fc.constantFrom(',', '%2C', '%2c'))
      .map(([keys, separator]) => `/?k=${keys.join(separator)}`),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(encodedKey, tokenParam).map(([key, token]) => `/?k=${key}&auth=${token}`),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(encodedKey, tokenParam).map(([key, token]) => `/?auth=${token}&k=${key}`),
  },
  { weight: 1, arbitrary: fc.tuple(encodedKey, encodedKey).map(([one, two]) => `/?k=${one}&k=${two}`) },
  { weight: 1, arbitrary: encodedKey.map((key) => `/?k=${key}&`) },
);

/** The Authorization header, when any. */
const authorization = fc.constantFrom(
  undefined,
  `Bearer ${admin}`,
  `Bearer ${reader}`,
  `Bearer ${limited}`,
  'Bearer wrong-token',
  admin,
  `bearer   ${reader}  `,
  '',
);

const read = fc.record({ method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD'), url, authorization });
type Read = { method: string; url: string; authorization: string | undefined };

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/**
 * One request over a raw node:http request: the path and headers go out exactly as given. An
 * answer node:http cannot parse (a 400 with a body to a HEAD the server could not read) is
 * compared by the client's error.
 */
function send(port: number, { method, url: path, authorization: auth }: Read): Promise<Answer> {
  return new Promise((resolve) => {
    const reject = (error: NodeJS.ErrnoException) =>
      resolve({ status: -1, headers: {}, body: Buffer.from(`${error.code}: ${error.message}`) });
    const headers: Record<string, string> = auth === undefined ? {} : { authorization: auth };
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const received: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) received[name] = value;
        resolve({ status: response.statusCode!, headers: received, body: Buffer.concat(chunks) });
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/**
 * One request written byte for byte on a socket, for header lists node:http's client will not
 * send (names in any case, a header twice); the answer is read to the end (Connection: close).
 */
function sendRaw(port: number, path: string, headerLines: readonly string[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks);
      const headEnd = raw.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: raw.subarray(headEnd + 4) });
    });
    socket.end(
      `GET ${path} HTTP/1.1\r\nHost: kvs\r\n${headerLines.map((line) => `${line}\r\n`).join('')}Connection: close\r\n\r\n`,
    );
  });
}

/**
 * What must be equal: status, body bytes and every header, but the connection's and the clock's
 * (Date; Last-Modified is the write time, which differs between the two servers, so only its
 * presence counts; RateLimit-Reset and Retry-After count seconds left in a window).
 */
function comparable(answer: Answer): unknown {
  const headers: Record<string, string | string[]> = { ...answer.headers };
  for (const name of ['date', 'connection', 'keep-alive']) delete headers[name];
  if (headers['last-modified'] !== undefined) headers['last-modified'] = '(present)';
  // Seconds until the auth-failure window ends: the clock's too (each server has its own window).
  for (const name of ['ratelimit-reset', 'retry-after'])
    if (typeof headers[name] === 'string' && /^\d+$/.test(headers[name] as string)) headers[name] = '(seconds)';
  return { status: answer.status, headers, body: answer.body.toString('latin1') };
}

async function store(server: ServerProcess): Promise<void> {
  const value = (key: string) => (key === 'b' ? Buffer.alloc(0) : Buffer.from(`value of ${key}\u0000\u00ff`, 'utf8'));
  for (const [key, contentType] of STORED) {
    const headers: Record<string, string> = { authorization: `Bearer ${admin}` };
    if (contentType !== '') headers['content-type'] = contentType;
    const answer = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
      method: 'PUT',
      headers,
      body: value(key),
    });
    assert.equal(answer.status, 201, `store ${key}: ${await answer.text()}`);
  }
}

for (const mode of ['public', 'private'] as const) {
  describe(`read fast path answers exactly as the Fastify routes (${mode} reads)`, () => {
    let fast: ServerProcess;
    let routed: ServerProcess;
    before(async () => {
      const args = [...serverArgs, ...(mode === 'private' ? ['--private'] : [])];
      [fast, routed] = await Promise.all([
        startServer({ tokenFileText, args }),
        startServer({ tokenFileText, args: [...args, '--fast-paths', 'off'] }),
      ]);
      // The same writes in the same order: the same versions and revisions on both.
      await store(fast);
      await store(routed);
    });
    after(async () => {
      // Both are stopped even when one fails to stop cleanly (a crash shows there, see stop()).
      const stopped = await Promise.allSettled(
        [fast, routed].map(async (server) => {
          if (server === undefined) return;
          await server.stop();
          removeDir(server.dataDir);
        }),
      );
      for (const result of stopped) if (result.status === 'rejected') throw result.reason;
    });

    it('hand-picked reads the fast path takes and declines', async () => {
      const cases: Read[] = [
        { method: 'GET', url: '/v1/kv/plain', authorization: undefined },
        { method: 'GET', url: '/v1/kv/plain', authorization: `Bearer ${reader}` },
        { method: 'GET', url: '/?k=plain', authorization: `Bearer ${reader}` },
        { method: 'GET', url: '/?k=with+space', authorization: `Bearer ${admin}` },
        { method: 'GET', url: '/?k=plus+sign', authorization: `Bearer ${admin}` },
        { method: 'GET', url: '/v1/kv/with+space', authorization: `Bearer ${admin}` },
        { method: 'GET', url: '/?k=a,b', authorization: `Bearer ${admin}` },
        { method: 'GET', url: '/?k=a%2Cb', authorization: `Bearer ${admin}` },
        { method: 'GET', url: '/v1/kv/a%2Cb', authorization: `Bearer ${admin}` },
        { method: 'GET', url: '/v1/kv/app%2Finside', authorization: `Bearer ${limited}` },
        { method: 'GET', url: '/v1/kv/plain', authorization: `Bearer ${limited}` },
        { method: 'GET', url: '/v1/kv/missing', authorization: `Bearer ${admin}` },
        { method: 'GET', url: '/?k=missing', authorization: `Bearer ${admin}` },
        { method: 'GET', url: '/v1/kv/%FF', authorization: undefined },
        { method: 'GET', url: '/?k=%ED%A0%80', authorization: undefined },
        { method: 'GET', url: '/v1/kv/plain', authorization: 'Bearer wrong-token' },
        { method: 'HEAD', url: '/v1/kv/plain', authorization: `Bearer ${admin}` },
        { method: 'HEAD', url: '/?k=plain', authorization: `Bearer ${admin}` },
        { method: 'GET', url: `/v1/kv/${'k'.repeat(MAX_KEY_BYTES + 1)}`, authorization: `Bearer ${admin}` },
        { method: 'GET', url: `/v1/kv/${'k'.repeat(MAX_URL_BYTES)}`, authorization: `Bearer ${admin}` },
      ];
      for (const request of cases) {
        const [viaFastPath, viaRoute] = [await send(fast.port, request), await send(routed.port, request)];
        assert.deepEqual(comparable(viaFastPath), comparable(viaRoute), JSON.stringify(request));
      }
    });

    it('the Authorization header in any case, and twice (the first counts)', async () => {
      const cases: (readonly string[])[] = [
        [`AUTHORIZATION: Bearer ${reader}`],
        [`Authorization: Bearer ${limited}`],
        [`aUtHoRiZaTiOn: Bearer ${admin}`],
        // Wrong and too narrow tokens in other cases: read as anonymous, these would be answered.
        ['AUTHORIZATION: Bearer wrong-token'],
        [`AUTHORIZATION: Bearer ${limited}`],
        [`authorization: Bearer ${limited}`],
        [`Authorization: Bearer ${limited}`, `authorization: Bearer ${admin}`],
        [`authorization: Bearer ${admin}`, `Authorization: Bearer ${limited}`],
        ['Authorization: Bearer wrong-token', `Authorization: Bearer ${admin}`],
        [`Authorization: Bearer ${admin}`, 'Authorization: Bearer wrong-token'],
        ['X-Authorization: Bearer wrong-token', `Authorizatio: Bearer ${admin}`],
      ];
      for (const headerLines of cases) {
        for (const path of ['/v1/kv/plain', '/v1/kv/app%2Finside', '/?k=a']) {
          const [viaFastPath, viaRoute] = [
            await sendRaw(fast.port, path, headerLines),
            await sendRaw(routed.port, path, headerLines),
          ];
          assert.deepEqual(comparable(viaFastPath), comparable(viaRoute), JSON.stringify({ path, headerLines }));
        }
      }
    });

    it(`${RUNS} generated reads (seed ${SEED})`, async () => {
      await fc.assert(
        fc.asyncProperty(read, async (request) => {
          const [viaFastPath, viaRoute] = [await send(fast.port, request), await send(routed.port, request)];
          assert.deepEqual(comparable(viaFastPath), comparable(viaRoute), JSON.stringify(request));
        }),
        { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
      );
    });
  });
}
