// What the etcd change feed receives (docs/history.md, "How the engines store it"): one
// single-member etcd, one engine with per-key history (the default retention) writing `--writes`
// single-key puts of `--value-bytes` over `--keys` keys, and two raw etcd watches taking them in
// at the same time: the whole namespace (what the feed watched before) and KeySpace.changeRange
// (what it watches now). Prints the events and bytes (keys and values) each received.
//
//   npx tsc -p tsconfig.json
//   node dist/bench/engine/etcd-feed-traffic.js [--writes 500] [--value-bytes 1000] [--keys 50]

import { parseArgs } from 'node:util';
import type { IWatchResponse } from 'etcd3';
import { createEtcdClient } from '../../src/storage/etcd/etcd-client.js';
import { openEtcdEngine } from '../../src/storage/etcd/etcd-engine.js';
import { KeySpace, type KeyRange } from '../../src/storage/etcd/key-space.js';
import { openWatch } from '../../src/storage/etcd/watch-streams.js';
import { startEtcdCluster } from '../../test/helpers/etcd-cluster.js';

interface Received {
  events: number;
  bytes: number;
  /** Newest revision received. */
  revision: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { writes: { type: 'string' }, 'value-bytes': { type: 'string' }, keys: { type: 'string' } },
  });
  const writes = Number(values.writes ?? 500);
  const valueBytes = Number(values['value-bytes'] ?? 1000);
  const keys = Number(values.keys ?? 50);
  const cluster = await startEtcdCluster({ size: 1 });
  const store = { kind: 'etcd' as const, endpoints: [...cluster.endpoints], prefix: 'feed/' };
  const client = createEtcdClient(store);
  const engine = await openEtcdEngine(store, { logValueMax: 4096, log: () => undefined });
  try {
    const space = new KeySpace(store.prefix);
    const from = Number((await client.kv.range({ key: space.commitKey })).header.revision) + 1;
    const watches: [string, KeyRange][] = [
      ['whole namespace (before)', space.whole()],
      ['kvs keys and commit record (now)', space.changeRange()],
    ];
    const received = watches.map((): Received => ({ events: 0, bytes: 0, revision: 0 }));
    const handles = watches.map(([, range], index) =>
      openWatch(
        client.watchClient,
        { key: range.start, range_end: range.end, start_revision: from },
        {
          onResponse: (response: IWatchResponse) => {
            const into = received[index]!;
            for (const event of response.events) {
              into.events++;
              into.bytes += event.kv.key.length + event.kv.value.length;
              into.revision = Math.max(into.revision, Number(event.kv.mod_revision));
            }
          },
          onEnd: (error) => console.error(`watch ${index} ended: ${error.message}`),
        },
      ),
    );
    const value = Buffer.alloc(valueBytes, 118);
    let last = 0;
    for (let index = 0; index < writes; index++) {
      const result = await engine.commit(
        {
          conditions: [],
          operations: [{ type: 'put', key: `key-${index % keys}`, value, contentType: null, expires: null }],
        },
        Date.now(),
      );
      if (result.ok) last = result.revision;
    }
    // Both watches have the last commit (its record is in both ranges); bounded wait.
    const deadline = Date.now() + 30_000;
    while (received.some((watch) => watch.revision < last) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    for (const handle of handles) handle.cancel();
    console.log(`${writes} puts of ${valueBytes} bytes over ${keys} keys, per-key history on (default retention)`);
    watches.forEach(([name], index) => {
      const { events, bytes } = received[index]!;
      console.log(
        `${name.padEnd(34)} ${String(events).padStart(7)} events ${String(bytes).padStart(11)} bytes  ${(events / writes).toFixed(2)} events, ${Math.round(bytes / writes)} bytes per put`,
      );
    });
  } finally {
    await engine.close();
    client.close();
    await cluster.stop();
  }
}

await main();
