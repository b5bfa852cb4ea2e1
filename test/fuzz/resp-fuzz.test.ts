// The RESP fuzzer (resp-fuzzer.ts) against the real server on the lmdb engine, with a fixed seed
// (KVS_FUZZ_SEED replays another) and small limits so that the bounds are reached often. Every
// finding fails the test with the input that caused it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { fuzzSeed } from './fuzz-options.js';
import { fuzzResp } from './resp-fuzzer.js';

const MiB = 1024 * 1024;

describe('RESP fuzzer (real server, lmdb)', () => {
  let server: ServerProcess;

  before(async () => {
    server = await startServer({
      args: [
        '--resp-port', '0',
        '--max-value-bytes', String(64 * 1024),
        '--max-batch', '100',
        '--max-resp-request-bytes', String(MiB),
        '--max-resp-output-bytes', String(8 * MiB),
        '--max-resp-clients-bytes', String(32 * MiB),
        '--request-timeout-ms', '2000',
        // Wrong tokens are part of the input; the fuzzer's own AUTH must keep working.
        '--auth-failures', '1000000',
        '--auth-failures-global', '1000000',
      ],
    });
  });

  after(async () => {
    await server.stop();
    removeDir(server.dataDir);
  });

  it('finds no invalid reply, internal error, crash, hang, memory growth or partial write', async () => {
    const seed = fuzzSeed(20_261_129);
    const report = await fuzzResp(
      { respPort: server.respPort!, pid: server.pid, token: server.token, rssGrowthLimitBytes: 32 * MiB + 128 * MiB },
      { seed, cases: 3000, durationMs: 70_000 },
    );
    assert.deepEqual(report.findings, [], `seed ${seed}: ${JSON.stringify(report.findings, null, 2)}`);
    assert.ok(report.casesRun > 0);
  });
});
