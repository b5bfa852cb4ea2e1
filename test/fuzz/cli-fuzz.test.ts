// The CLI fuzzer (test/fuzz/cli-fuzzer.ts): a few hundred generated command lines for every
// `kvs` command, run as the real binary against a real server, with a fixed seed (KVS_FUZZ_SEED
// replays another; KVS_FUZZ_CASES changes the count). Every finding fails the test with the
// command line that caused it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { removeDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { Random } from '../helpers/random.js';
import { commandSpecs, fuzzCli, generateCase } from './cli-fuzzer.js';
import { fuzzSeed } from './fuzz-options.js';

const CASES = Number(process.env.KVS_FUZZ_CASES ?? 200);
/** Bounds the campaign in time too (the cases usually finish well before). */
const DURATION_MS = 150_000;

describe('CLI fuzzing (real binary, real server)', () => {
  let server: ServerProcess;
  let template: ServerProcess | undefined;

  before(async () => {
    server = await startServer();
    // A data directory with a store in it, copied into the cases that name an existing store.
    template = await startServer();
    await template.stop();
  });

  after(async () => {
    await server.stop();
    removeDir(server.dataDir);
    if (template !== undefined) removeDir(template.dataDir);
  });

  it('generates every command and every option of the program (read from commander, so new flags are included)', async () => {
    const specs = await commandSpecs();
    const names = specs.map((spec) => spec.path.join(' '));
    for (const name of [
      'serve',
      'get',
      'set',
      'del',
      'ls',
      'watch',
      'export',
      'import',
      'token add',
      'token list',
      'check',
    ])
      assert.ok(names.includes(name), `${name} is fuzzed`);
    const random = new Random(fuzzSeed(20_261_130));
    const target = { url: 'http://127.0.0.1:9', token: 't', busyPort: 9 };
    const seen = new Set<string>();
    for (let index = 0; index < 3000; index++) {
      const { argv, env } = generateCase(random, target, index, specs);
      const spec = specs.find((one) => one.path.every((name, at) => argv[at] === name));
      if (spec === undefined) continue;
      const name = spec.path.join(' ');
      for (const arg of argv) seen.add(`${name} ${arg.split('=')[0]}`);
      for (const variable of Object.keys(env)) seen.add(`${name} $${variable}`);
    }
    for (const spec of specs)
      for (const option of spec.options)
        assert.ok(
          seen.has(`${spec.path.join(' ')} ${option.long ?? option.short}`),
          `${spec.path.join(' ')} ${option.flags}`,
        );
  });

  it(
    'every command line ends in time with 0, 1 or 2, a short coded error, and nothing written on failure',
    { timeout: 240_000 },
    async () => {
      const seed = fuzzSeed(20_261_130);
      console.log(`cli fuzz: seed ${seed} (replay: KVS_FUZZ_SEED=${seed})`);
      const report = await fuzzCli(
        { url: server.url, token: server.token, busyPort: server.port, storeTemplate: template!.dataDir },
        { seed, cases: CASES, durationMs: DURATION_MS },
      );
      assert.ok(report.casesRun > 0);
      assert.deepEqual(report.findings, [], `seed ${seed}: ${JSON.stringify(report.findings, null, 1).slice(0, 6000)}`);
    },
  );
});
