// `npm run fuzz -- [--target http|resp|cli|all] [--duration SECONDS] [--seed N] [--cases N]`: long
// fuzz campaigns against a freshly started real server, with the same fuzzers and servers as
// the test suite's short fixed-seed runs (test/fuzz/*.test.ts). Prints the seed of each campaign
// (KVS_FUZZ_SEED or --seed replays it), every finding with the input that caused it, and exits 1
// when anything was found. Each finding should become a regression test.

import { Command, InvalidArgumentError } from 'commander';
import { randomInt } from 'node:crypto';
import { newToken, removeDir, startServer } from '../helpers/server-process.js';
import type { FuzzReport } from './fuzz-options.js';
import { HTTP_FUZZ_ARGS, RESP_FUZZ_ARGS, RESP_FUZZ_RSS_GROWTH_BYTES } from './fuzz-servers.js';
import { fuzzHttp } from './http-fuzzer.js';
import { fuzzResp } from './resp-fuzzer.js';
import { fuzzCli } from './cli-fuzzer.js';

function whole(name: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(text);
  };
}

const program = new Command('fuzz')
  .option('--target <target>', 'http, resp, cli or all', 'all')
  .option('--duration <seconds>', 'total length of the campaign, split between the targets', whole('--duration'), 600)
  .option('--seed <n>', 'seed (default: KVS_FUZZ_SEED, else random)', whole('--seed'))
  .option('--cases <n>', 'most cases per target', whole('--cases'), 10_000_000)
  .parse();
const options = program.opts<{ target: string; duration: number; seed?: number; cases: number }>();
const targets = options.target === 'all' ? ['http', 'resp', 'cli'] : [options.target];
if (!targets.every((target) => target === 'http' || target === 'resp' || target === 'cli')) {
  console.error(`fuzz: --target must be http, resp, cli or all (got ${options.target})`);
  process.exit(2);
}
const envSeed = process.env.KVS_FUZZ_SEED;
const seed = options.seed ?? (envSeed !== undefined && envSeed !== '' ? Number(envSeed) : randomInt(2 ** 31));
const durationMs = (options.duration * 1000) / targets.length;

const reports: FuzzReport[] = [];
for (const target of targets) {
  console.log(
    `fuzz: ${target} campaign, seed ${seed}, up to ${Math.round(durationMs / 1000)} s and ${options.cases} cases (replay: KVS_FUZZ_SEED=${seed} npm run fuzz -- --target ${target})`,
  );
  if (target === 'http') {
    // The fuzzer's token is limited to fz/ on a --private server: the harder case for auth and listing.
    const token = newToken();
    const server = await startServer({
      args: [...HTTP_FUZZ_ARGS, '--private'],
      tokenFileText: `${newToken()} admin\n${token} write fz/\n`,
    });
    try {
      reports.push(
        await fuzzHttp({ url: server.url, pid: server.pid, token }, { seed, cases: options.cases, durationMs }),
      );
    } finally {
      await server.stop().catch((error: unknown) => console.error(`fuzz: ${String(error)}`));
      removeDir(server.dataDir);
    }
  } else if (target === 'cli') {
    // The client commands' server, and a stopped server's data directory: the cases' existing store.
    const server = await startServer();
    const template = await startServer();
    await template.stop();
    try {
      reports.push(
        await fuzzCli(
          { url: server.url, token: server.token, busyPort: server.port, storeTemplate: template.dataDir },
          { seed, cases: options.cases, durationMs },
        ),
      );
    } finally {
      await server.stop().catch((error: unknown) => console.error(`fuzz: ${String(error)}`));
      removeDir(server.dataDir);
      removeDir(template.dataDir);
    }
  } else {
    const server = await startServer({ args: [...RESP_FUZZ_ARGS] });
    try {
      reports.push(
        await fuzzResp(
          {
            respPort: server.respPort!,
            pid: server.pid,
            token: server.token,
            rssGrowthLimitBytes: RESP_FUZZ_RSS_GROWTH_BYTES,
          },
          { seed, cases: options.cases, durationMs },
        ),
      );
    } finally {
      await server.stop().catch((error: unknown) => console.error(`fuzz: ${String(error)}`));
      removeDir(server.dataDir);
    }
  }
}

let found = 0;
for (const report of reports) {
  console.log(
    `fuzz: ${report.target}: ${report.casesRun} cases, seed ${report.seed}, memory peak ${(report.rssPeakBytes / 2 ** 20).toFixed(1)} MiB, ${report.findings.length} findings`,
  );
  for (const finding of report.findings)
    console.log(`  [${finding.invariant}] ${finding.detail}\n    input: ${finding.input}`);
  found += report.findings.length;
}
process.exit(found === 0 ? 0 : 1);
