// The HTTP fuzzer (test/fuzz/http-fuzzer.ts) against real servers with fixed seeds: the lmdb
// engine with an admin token, and a --private one where the fuzzer's token is limited to `fz/`.
// KVS_FUZZ_SEED replays a campaign; KVS_FUZZ_CASES changes its size.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { newToken, removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { fuzzSeed } from './fuzz-options.js';
import { fuzzHttp } from './http-fuzzer.js';
import { HTTP_FUZZ_ARGS } from './fuzz-servers.js';

const CASES = Number(process.env.KVS_FUZZ_CASES ?? 6000);
/** Bounds the campaign in time too (the cases usually finish well before). */
const DURATION_MS = 40_000;

describe('HTTP fuzzing against a real server', () => {
  const servers: ServerProcess[] = [];
  after(async () => {
    for (const server of servers) {
      await server.stop();
      removeDir(server.dataDir);
    }
  });

  it(
    'lmdb engine, admin token: no 5xx, no crash, no hang, bounded RSS, model intact',
    { timeout: 120_000 },
    async () => {
      const server = await startServer({ args: [...HTTP_FUZZ_ARGS] });
      servers.push(server);
      const report = await fuzzHttp(
        { url: server.url, pid: server.pid, token: server.token },
        { seed: fuzzSeed(20261129), cases: CASES, durationMs: DURATION_MS },
      );
      assert.ok(report.casesRun > 0);
      assert.deepEqual(
        report.findings,
        [],
        `seed ${report.seed}: ${JSON.stringify(report.findings, null, 1).slice(0, 4000)}`,
      );
    },
  );

  it('--private, token limited to fz/: same invariants', { timeout: 120_000 }, async () => {
    const token = newToken();
    const server = await startServer({
      args: [...HTTP_FUZZ_ARGS, '--private'],
      tokenFileText: `${newToken()} admin\n${token} write fz/\n`,
    });
    servers.push(server);
    const report = await fuzzHttp(
      { url: server.url, pid: server.pid, token },
      { seed: fuzzSeed(424242), cases: CASES, durationMs: DURATION_MS },
    );
    assert.ok(report.casesRun > 0);
    assert.deepEqual(
      report.findings,
      [],
      `seed ${report.seed}: ${JSON.stringify(report.findings, null, 1).slice(0, 4000)}`,
    );
  });
});
