// GET's fast path (session.ts, readValueAtOnce) answers from the engine's synchronous read
// without the command runner; MGET of one key still takes the full path. Generated sequences of
// writes, expiries, deletes and clock steps check that both answer the same for every key,
// valid or not, on both engines with synchronous reads. fast-check from a fixed seed;
// KVS_FUZZ_SEED replays another.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzSeed } from '../fuzz/fuzz-options.js';
import { startInProcessServer, tokens, type InProcessServer } from './in-process-server.js';
import { encodeCommand, RespTestClient, show } from './resp-test-client.js';

const SEED = fuzzSeed(20261201);
const RUNS = 60;
const MAX_KEY_BYTES = 64;

type Step =
  | { kind: 'set'; key: string; value: string }
  | { kind: 'psetex'; key: string; ms: number; value: string }
  | { kind: 'del'; key: string }
  | { kind: 'advance'; ms: number }
  | { kind: 'read'; key: string };

// A few live keys, and keys the server refuses: empty, over maxKeyBytes, invalid UTF-8 bytes.
const validKey = fc.constantFrom('a', 'b', 'tv/pos', 'ключ');
const anyKey = fc.oneof(
  { weight: 4, arbitrary: validKey },
  { weight: 1, arbitrary: fc.constantFrom('', 'k'.repeat(MAX_KEY_BYTES + 1), '\udc80') },
);
const value = fc.oneof(fc.constant(''), fc.string({ maxLength: 40 }), fc.constant('x'.repeat(300)));
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: validKey, value }),
  fc.record({ kind: fc.constant('psetex' as const), key: validKey, ms: fc.integer({ min: 1, max: 50 }), value }),
  fc.record({ kind: fc.constant('del' as const), key: validKey }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
  fc.record({ kind: fc.constant('read' as const), key: anyKey }),
);

for (const engine of ['memory', 'lmdb'] as const) {
  describe(`RESP GET's fast path answers as the full path does (${engine})`, () => {
    let server: InProcessServer;
    let now = Date.parse('2026-12-01T00:00:00Z');
    let writer: RespTestClient;
    let readers: RespTestClient[];

    before(async () => {
      server = await startInProcessServer({
        engine,
        clock: () => now,
        limits: { maxKeyBytes: MAX_KEY_BYTES },
      });
      writer = await RespTestClient.connect(server.port);
      assert.equal(await writer.do('AUTH', tokens.admin), '+OK');
      const anonymousReader = await RespTestClient.connect(server.port);
      const tokenReader = await RespTestClient.connect(server.port);
      assert.equal(await tokenReader.do('AUTH', tokens.read), '+OK');
      readers = [anonymousReader, tokenReader];
    });
    after(async () => {
      for (const client of [writer, ...readers]) client.close();
      await server.close();
    });

    it('GET k and MGET k agree after any sequence of writes, expiries and clock steps', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
          assert.equal(await writer.do('FLUSHALL'), '+OK');
          for (const current of steps) {
            switch (current.kind) {
              case 'set':
                assert.equal(await writer.do('SET', current.key, current.value), '+OK');
                break;
              case 'psetex':
                assert.equal(await writer.do('PSETEX', current.key, String(current.ms), current.value), '+OK');
                break;
              case 'del':
                await writer.do('DEL', current.key);
                break;
              case 'advance':
                now += current.ms;
                break;
              case 'read':
                for (const reader of readers) {
                  const single = await reader.do('GET', current.key);
                  const many = await reader.do('MGET', current.key);
                  const expected = Array.isArray(many) ? many[0] : many;
                  assert.deepEqual(single, expected, `GET ${JSON.stringify(current.key)}`);
                }
                break;
            }
          }
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it('answers a GET pipelined behind a write with the written value', async () => {
      const client = await RespTestClient.connect(server.port);
      try {
        assert.equal(await client.do('AUTH', tokens.write), '+OK');
        // One write of four commands: the GETs must wait for the writes before them.
        client.writeRaw(
          Buffer.concat([
            encodeCommand(['SET', 'piped', 'one']),
            encodeCommand(['GET', 'piped']),
            encodeCommand(['SET', 'piped', 'two']),
            encodeCommand(['GET', 'piped']),
          ]),
        );
        const replies = [];
        for (let index = 0; index < 4; index++) replies.push(show(await client.read()));
        assert.deepEqual(replies, ['+OK', 'one', '+OK', 'two']);
      } finally {
        client.close();
      }
    });
  });
}
