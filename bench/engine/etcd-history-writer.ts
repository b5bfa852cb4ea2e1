// What per-key history costs a writer on the etcd engine (docs/limits.md, "Per-key history"):
// one single-member etcd, then rounds of `--writers` concurrent single-key 100-byte puts over
// 10,000 keys straight through EtcdEngine, history on (the default retention) and off
// (`--history-versions 0`) taking turns, each on a fresh etcd prefix. Prints commits/s,
// latency and etcd transactions per commit (from etcd's grpc_server_handled_total).
//
//   npx tsc -p tsconfig.json
//   node dist/bench/engine/etcd-history-writer.js [--rounds 3] [--seconds 8] [--writers 50]

import { parseArgs } from 'node:util';
import { openEtcdEngine } from '../../src/storage/etcd/etcd-engine.js';
import { DEFAULT_HISTORY_RETENTION } from '../../src/storage/key-history.js';
import { startEtcdCluster } from '../../test/helpers/etcd-cluster.js';

const KEYS = 10_000;
const VALUE = Buffer.alloc(100, 118);

async function etcdTxns(endpoint: string): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^grpc_server_handled_total\{([^}]*)\} (\S+)$/gm))
    if (match[1]!.includes('grpc_method="Txn"')) total += Number(match[2]);
  return total;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string' }, seconds: { type: 'string' }, writers: { type: 'string' } },
  });
  const rounds = Number(values.rounds ?? 3);
  const seconds = Number(values.seconds ?? 8);
  const writers = Number(values.writers ?? 50);
  const cluster = await startEtcdCluster({ size: 1 });
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const versions of [DEFAULT_HISTORY_RETENTION.versions, 0]) {
        const engine = await openEtcdEngine(
          { kind: 'etcd', endpoints: [...cluster.endpoints], prefix: `bench-${round}-${versions}/` },
          { logValueMax: 1024, historyRetention: { ...DEFAULT_HISTORY_RETENTION, versions } },
        );
        const before = await etcdTxns(cluster.endpoints[0]!);
        const latencies: number[] = [];
        const end = Date.now() + seconds * 1000;
        await Promise.all(
          Array.from({ length: writers }, async (_, writer) => {
            for (let index = writer; Date.now() < end; index += writers) {
              const start = performance.now();
              const key = `key-${index % KEYS}`;
              await engine.commit(
                { conditions: [], operations: [{ type: 'put', key, value: VALUE, contentType: null, expires: null }] },
                Date.now(),
              );
              latencies.push(performance.now() - start);
            }
          }),
        );
        const txns = ((await etcdTxns(cluster.endpoints[0]!)) - before) / latencies.length;
        await engine.close();
        latencies.sort((a, b) => a - b);
        const at = (share: number) => latencies[Math.floor((latencies.length - 1) * share)]!.toFixed(0);
        console.log(
          `round ${round} history ${versions === 0 ? 'off' : 'on '}: ${(latencies.length / seconds).toFixed(0)} commits/s, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, etcd transactions per commit ${txns.toFixed(2)}`,
        );
      }
    }
  } finally {
    await cluster.stop();
  }
}

await main();
