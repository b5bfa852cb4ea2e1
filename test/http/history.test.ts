// Per-key history over HTTP against the real server (docs/history.md), on lmdb and memory:
// ?history paging, ?version= and ?revision= reads, ?diff (text, binary, too large), POST ?revert=
// (a normal write: If-Match, the audit trail, watch), GET /v1/deleted, a prefix token refused
// outside its prefix on every route, and bad parameters answered invalid_history_query.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzSeed } from '../fuzz/fuzz-options.js';
import { newToken } from '../helpers/server-process.js';
import { openSse } from '../helpers/sse-client.js';
import { useServer } from '../helpers/use-server.js';

const SEED = fuzzSeed(20261130);
const WAIT_MS = 10_000;

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON the route answered
  json: any;
}

for (const store of ['lmdb', 'memory']) {
  describe(`per-key history over HTTP (${store})`, () => {
    const admin = newToken();
    const limited = newToken();
    const server = useServer({
      // Values over the 1 MiB diff bound must be writable.
      args: ['--store', store, '--private', '--max-value-bytes', String(2 * 1024 * 1024)],
      tokenFileText: `${admin} admin\n${limited} write p/\n`,
      token: admin,
    });

    const call = async (
      method: string,
      path: string,
      options: { body?: string | Buffer; token?: string; headers?: Record<string, string> } = {},
    ): Promise<Answer> => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        body: options.body,
        headers: { authorization: `Bearer ${options.token ?? admin}`, ...options.headers },
      });
      const body = Buffer.from(await response.arrayBuffer());
      let json: unknown;
      if ((response.headers.get('content-type') ?? '').startsWith('application/json'))
        json = JSON.parse(body.toString('utf8'));
      return { status: response.status, headers: response.headers, body, json };
    };
    const put = async (key: string, value: string | Buffer, headers: Record<string, string> = {}) => {
      const answer = await call('PUT', `/v1/kv/${key}`, { body: value, headers });
      assert.ok(answer.status === 200 || answer.status === 201, JSON.stringify(answer.json));
      return answer.json as { version: number; modRevision: number };
    };
    const del = async (key: string) => {
      const answer = await call('DELETE', `/v1/kv/${key}`);
      assert.equal(answer.status, 200);
      return answer.json.revision as number;
    };

    it('?history pages newest first with who wrote each entry; values=1 carries the values', async () => {
      const r1 = (await put('h/a', 'one', { 'content-type': 'text/plain' })).modRevision;
      const r2 = (await put('h/a', 'two')).modRevision;
      const r3 = await del('h/a');
      const r4 = (await put('h/a', 'three')).modRevision;
      const first = await call('GET', '/v1/kv/h/a?history&limit=2');
      assert.equal(first.status, 200);
      assert.equal(first.json.key, 'h/a');
      assert.deepEqual(
        first.json.versions.map((entry: { revision: number; version: number; type: string }) => [
          entry.revision,
          entry.version,
          entry.type,
        ]),
        [
          [r4, 1, 'put'],
          [r3, 0, 'delete'],
        ],
      );
      assert.equal(first.json.next, r3);
      const newest = first.json.versions[0];
      assert.equal(newest.size, 5);
      assert.equal(newest.value, undefined);
      assert.match(newest.time, /^\d{4}-\d{2}-\d{2}T/);
      assert.equal(newest.who.via, 'v1');
      assert.match(newest.who.token, /^file:/);
      const second = await call('GET', `/v1/kv/h/a?history&limit=2&before=${first.json.next}&values=1`);
      assert.deepEqual(
        second.json.versions.map((entry: { revision: number; value: string }) => [
          entry.revision,
          Buffer.from(entry.value, 'base64').toString(),
        ]),
        [
          [r2, 'two'],
          [r1, 'one'],
        ],
      );
      assert.equal(second.json.versions[1].contentType, 'text/plain');
      assert.equal(second.json.next, null);
      const none = await call('GET', '/v1/kv/h/never-written?history');
      assert.equal(none.status, 200);
      assert.deepEqual(none.json, { key: 'h/never-written', versions: [], next: null });
    });

    it('?version= and ?revision= serve a kept value like a GET, with that entry’s headers', async () => {
      const first = await put('v/a', '{"n":1}', { 'content-type': 'application/json' });
      await put('v/a', 'second');
      const gone = await del('v/a');
      await put('v/a', 'reborn');
      // Version 1 now names two entries: the newest one is served.
      const byVersion = await call('GET', '/v1/kv/v/a?version=1');
      assert.equal(byVersion.status, 200);
      assert.equal(byVersion.body.toString(), 'reborn');
      assert.equal(byVersion.headers.get('etag'), '"1"');
      assert.equal(byVersion.headers.get('x-kvs-version'), '1');
      const byRevision = await call('GET', `/v1/kv/v/a?revision=${first.modRevision}`);
      assert.equal(byRevision.status, 200);
      assert.equal(byRevision.body.toString(), '{"n":1}');
      assert.equal(byRevision.headers.get('content-type'), 'application/json');
      assert.equal(byRevision.headers.get('x-kvs-revision'), String(first.modRevision));
      assert.equal(byRevision.headers.get('kvs-revision'), String(first.modRevision));
      for (const path of [`/v1/kv/v/a?revision=${gone}`, '/v1/kv/v/a?version=9', '/v1/kv/v/none?version=1']) {
        const missing = await call('GET', path);
        assert.equal(missing.status, 404, path);
        assert.equal(missing.json.error.code, 'version_not_kept', path);
      }
    });

    it('?diff answers a unified diff of text, a verdict for binary, and refuses values over 1 MiB', async () => {
      await put('d/text', 'a\nb\nc\n');
      await put('d/text', 'a\nB\nc\nd\n');
      const text = await call('GET', '/v1/kv/d/text?diff&from=1');
      assert.equal(text.status, 200);
      assert.deepEqual(text.json.from.version, 1);
      assert.deepEqual(text.json.to.version, 2);
      assert.equal(text.json.binary, false);
      assert.equal(text.json.added, 2);
      assert.equal(text.json.removed, 1);
      assert.match(text.json.patch, /^-b$/m);
      assert.match(text.json.patch, /^\+B$/m);
      assert.match(text.json.patch, /^\+d$/m);
      const explicit = await call('GET', `/v1/kv/d/text?diff&fromRevision=${text.json.from.revision}&to=1`);
      assert.equal(explicit.json.added, 0);
      assert.equal(explicit.json.removed, 0);

      await put('d/bin', Buffer.from([0xff, 0xfe, 0x00]));
      await put('d/bin', Buffer.from([0xff, 0xfe, 0x01]));
      const binary = await call('GET', '/v1/kv/d/bin?diff&from=1&to=2');
      assert.equal(binary.status, 200);
      assert.equal(binary.json.binary, true);
      assert.equal(binary.json.message, 'binary values differ');
      assert.equal(binary.json.patch, undefined);
      const same = await call('GET', '/v1/kv/d/bin?diff&from=1&to=1');
      assert.equal(same.json.message, 'binary values are identical');

      // Over 64 KiB: diffed in a worker thread (src/core/diff-runner.ts), same answer.
      const lines = Array.from({ length: 20_000 }, (_, index) => `line ${index}`);
      await put('d/long', `${lines.join('\n')}\n`);
      lines[10_000] = 'changed';
      await put('d/long', `${lines.join('\n')}\n`);
      const long = await call('GET', '/v1/kv/d/long?diff&from=1');
      assert.equal(long.status, 200);
      assert.equal(long.json.added, 1);
      assert.equal(long.json.removed, 1);
      assert.match(long.json.patch, /^-line 10000$/m);

      const big = Buffer.alloc(1024 * 1024 + 1, 'x');
      await put('d/big', 'small');
      await put('d/big', big);
      const tooLarge = await call('GET', '/v1/kv/d/big?diff&from=1');
      assert.equal(tooLarge.status, 200);
      assert.equal(tooLarge.json.binary, false);
      assert.equal(tooLarge.json.tooLarge, true);
      assert.equal(tooLarge.json.patch, undefined);
      assert.match(tooLarge.json.message, /limit 1 MiB/);
    });

    it('POST ?revert= writes a kept value back as a new version: CAS with If-Match, audited as revert, watched', async () => {
      await put('r/a', 'first', { 'content-type': 'text/x-first' });
      await put('r/a', 'second');
      let revertRevision = 0;
      const stream = await openSse(`${server.url}/v1/watch?prefix=r/`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      try {
        const stale = await call('POST', '/v1/kv/r/a?revert=1', { headers: { 'if-match': '"1"' } });
        assert.equal(stale.status, 412);
        assert.equal(stale.json.error.code, 'version_mismatch');
        const reverted = await call('POST', '/v1/kv/r/a?revert=1', { headers: { 'if-match': '"2"' } });
        assert.equal(reverted.status, 200);
        assert.equal(reverted.json.version, 3);
        revertRevision = reverted.json.modRevision;
        const read = await call('GET', '/v1/kv/r/a');
        assert.equal(read.body.toString(), 'first');
        assert.equal(read.headers.get('content-type'), 'text/x-first');
        await stream.waitFor(() => stream.changes(['put']).length >= 1, WAIT_MS, 'the revert in the watch stream');
        const event = JSON.parse(stream.changes(['put'])[0]!.data) as { key: string; revision: number };
        assert.equal(event.key, 'r/a');
        assert.equal(event.revision, reverted.json.modRevision);
      } finally {
        stream.close();
      }
      const audit = await call('GET', `/v1/audit?key=r/a&limit=1`);
      assert.equal(audit.json.entries[0].revision, revertRevision);
      assert.equal(audit.json.entries[0].via, 'revert');
      const history = await call('GET', '/v1/kv/r/a?history&limit=1');
      assert.equal(history.json.versions[0].who.via, 'revert');
    });

    it('reverting a deleted key restores it; GET /v1/deleted lists it until then', async () => {
      const written = await put('gone/a', 'keep me');
      await put('gone/b', 'b');
      const removed = await del('gone/a');
      await del('gone/b');
      const listed = await call('GET', '/v1/deleted?prefix=gone/');
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.json.keys.map((entry: { key: string }) => entry.key),
        ['gone/a', 'gone/b'],
      );
      assert.deepEqual(listed.json.keys[0].lastPut, { revision: written.modRevision, version: 1, size: 7 });
      assert.equal(listed.json.keys[0].revision, removed);
      assert.equal(listed.json.keys[0].type, 'delete');
      const paged = await call('GET', '/v1/deleted?prefix=gone/&limit=1');
      assert.equal(paged.json.next, 'gone/a');
      const rest = await call('GET', '/v1/deleted?prefix=gone/&limit=1&after=gone/a');
      assert.deepEqual(
        rest.json.keys.map((entry: { key: string }) => entry.key),
        ['gone/b'],
      );
      const restored = await call('POST', `/v1/kv/gone/a?revertRevision=${written.modRevision}`);
      assert.equal(restored.status, 201);
      assert.equal(restored.json.version, 1);
      assert.equal((await call('GET', '/v1/kv/gone/a')).body.toString(), 'keep me');
      const after = await call('GET', '/v1/deleted?prefix=gone/');
      assert.deepEqual(
        after.json.keys.map((entry: { key: string }) => entry.key),
        ['gone/b'],
      );
      const absent = await call('POST', '/v1/kv/gone/a?revert=7');
      assert.equal(absent.status, 404);
      assert.equal(absent.json.error.code, 'version_not_kept');
    });

    it('a prefix token is refused outside its prefix on every history route, and sees only its deleted keys', async () => {
      await put('p/mine', 'm');
      await put('q/theirs', 't');
      await del('p/mine');
      await del('q/theirs');
      await put('q/live', '1');
      await put('q/live', '2');
      const outside: [string, string][] = [
        ['GET', '/v1/kv/q/live?history'],
        ['GET', '/v1/kv/q/live?version=1'],
        ['GET', '/v1/kv/q/live?revision=1'],
        ['GET', '/v1/kv/q/live?diff&from=1'],
        ['POST', '/v1/kv/q/live?revert=1'],
      ];
      for (const [method, path] of outside) {
        const refused = await call(method, path, { token: limited });
        assert.equal(refused.status, 403, `${method} ${path}`);
        assert.equal(refused.json.error.code, 'forbidden', `${method} ${path}`);
      }
      const anonymous = await fetch(`${server.url}/v1/kv/q/live?history`);
      assert.equal(anonymous.status, 401);
      await anonymous.arrayBuffer();
      const mine = await call('GET', '/v1/kv/p/mine?history', { token: limited });
      assert.equal(mine.status, 200);
      const deleted = await call('GET', '/v1/deleted', { token: limited });
      assert.equal(deleted.status, 200);
      assert.ok(
        deleted.json.keys.every((entry: { key: string }) => entry.key.startsWith('p/')),
        JSON.stringify(deleted.json),
      );
      assert.ok(deleted.json.keys.some((entry: { key: string }) => entry.key === 'p/mine'));
      const all = await call('GET', '/v1/deleted');
      assert.ok(all.json.keys.some((entry: { key: string }) => entry.key === 'q/theirs'));
    });

    it('OpenAPI describes the history parameters, the revert and /v1/deleted', async () => {
      const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
      };
      const keyPath = openapi.paths['/v1/kv/{*}'] ?? openapi.paths['/v1/kv/*'];
      assert.ok(keyPath !== undefined, Object.keys(openapi.paths).join(', '));
      const names = (method: string) => (keyPath[method]?.parameters ?? []).map((parameter) => parameter.name);
      for (const name of ['history', 'version', 'revision', 'diff', 'from', 'to'])
        assert.ok(names('get').includes(name), name);
      assert.ok(names('post').includes('revert'));
      assert.ok('/v1/deleted' in openapi.paths);
    });

    it('bad parameters answer invalid_history_query naming the field', async () => {
      await put('bad/a', 'x');
      const cases: [string, string][] = [
        ['/v1/kv/bad/a?history&limit=0', 'limit'],
        ['/v1/kv/bad/a?history&limit=1001', 'limit'],
        ['/v1/kv/bad/a?history&before=x', 'before'],
        ['/v1/kv/bad/a?history&values=maybe', 'values'],
        ['/v1/kv/bad/a?history&limit=1&limit=2', 'limit'],
        ['/v1/kv/bad/a?version=0', 'version'],
        ['/v1/kv/bad/a?revision=-1', 'revision'],
        ['/v1/kv/bad/a?history&version=1', 'version'],
        ['/v1/kv/bad/a?diff', 'from'],
        ['/v1/kv/bad/a?diff&from=1&fromRevision=1', 'fromRevision'],
        ['/v1/deleted?limit=5000', 'limit'],
      ];
      for (const [path, field] of cases) {
        const answer = await call('GET', path);
        assert.equal(answer.status, 400, path);
        assert.equal(answer.json.error.code, 'invalid_history_query', path);
        assert.equal(answer.json.error.field, field, path);
      }
      const revert = await call('POST', '/v1/kv/bad/a?revert=x');
      assert.equal(revert.json.error.code, 'invalid_history_query');
    });

    it(`generated history query strings never get a 5xx (seed ${SEED})`, async () => {
      await put('gen/a', 'one');
      await put('gen/a', 'two');
      const name = fc.constantFrom(
        'history',
        'before',
        'limit',
        'values',
        'version',
        'revision',
        'diff',
        'from',
        'to',
        'fromRevision',
        'toRevision',
      );
      const value = fc.oneof(
        fc.constantFrom('', '0', '1', '2', '-1', '1000', '1001', '1e3', '9007199254740993', 'x', '%00', '%FF'),
        fc.nat({ max: 50 }).map(String),
      );
      const pair = fc.tuple(name, fc.option(value, { nil: undefined }));
      await fc.assert(
        fc.asyncProperty(fc.array(pair, { minLength: 1, maxLength: 5 }), async (pairs) => {
          const query = pairs.map(([key, text]) => (text === undefined ? key : `${key}=${text}`)).join('&');
          for (const [method, path] of [
            ['GET', `/v1/kv/gen/a?${query}`],
            ['GET', `/v1/deleted?${query}`],
          ] as const) {
            const answer = await call(method, path);
            assert.ok(answer.status < 500, `${method} ${path}: ${answer.status} ${answer.body.toString()}`);
            if (answer.status === 400)
              assert.ok(
                // bad_request: a parameter that is not valid percent-encoded UTF-8, refused before any route.
                ['invalid_history_query', 'bad_request'].includes(answer.json.error.code),
                `${path}: ${answer.body.toString()}`,
              );
          }
        }),
        { seed: SEED, numRuns: 60, includeErrorInReport: true },
      );
    });
  });
}
