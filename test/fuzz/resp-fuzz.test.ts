// The RESP fuzzer (resp-fuzzer.ts) against the real server on the lmdb engine, with a fixed seed
// (KVS_FUZZ_SEED replays another) and small limits so that the bounds are reached often. Every
// finding fails the test with the input that caused it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useServer } from '../helpers/use-server.js';
import { fuzzSeed } from './fuzz-options.js';
import { fuzzResp } from './resp-fuzzer.js';
import { RESP_FUZZ_ARGS, RESP_FUZZ_RSS_GROWTH_BYTES } from './fuzz-servers.js';

describe('RESP fuzzer (real server, lmdb)', () => {
  const server = useServer({
    args: [...RESP_FUZZ_ARGS],
  });

  it('finds no invalid reply, internal error, crash, hang, memory growth or partial write', async () => {
    const seed = fuzzSeed(20_261_129);
    const report = await fuzzResp(
      {
        respPort: server.respPort!,
        pid: server.pid,
        token: server.token,
        rssGrowthLimitBytes: RESP_FUZZ_RSS_GROWTH_BYTES,
      },
      { seed, cases: 3000, durationMs: 70_000 },
    );
    assert.deepEqual(report.findings, [], `seed ${seed}: ${JSON.stringify(report.findings, null, 2)}`);
    assert.ok(report.casesRun > 0);
  });
});
