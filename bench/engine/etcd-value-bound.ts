// How close the derived --max-value-bytes on etcd with per-key history is to what a commit can
// really carry (docs/limits.md, "On etcd with per-key history"): one single-member etcd, the
// engine with the default retention, and for each kind of 1024-byte key (ASCII, control
// characters, U+0000) and 255-byte content type (plain, escaped quotes) a binary search for the
// largest value one put commits. Prints the derived bound, the largest value committed, and what
// refused the next byte (the engine's own count, or etcd).
//
//   npx tsc -p tsconfig.json
//   node dist/bench/engine/etcd-value-bound.js

import { openEtcdEngine } from '../../src/storage/etcd/etcd-engine.js';
import { etcdWriteBounds } from '../../src/storage/index.js';
import { startEtcdCluster } from '../../test/helpers/etcd-cluster.js';

const KEY_BYTES = 1024;
const CONTENT_TYPE_BYTES = 255;

const keys: Record<string, string> = {
  ascii: 'x'.repeat(KEY_BYTES),
  control: '\u0001'.repeat(KEY_BYTES),
  nul: '\u0000'.repeat(KEY_BYTES),
};
const contentTypes: Record<string, string> = {
  plain: `a/${'b'.repeat(CONTENT_TYPE_BYTES - 2)}`,
  escaped: `text/plain; p="a${'\\"'.repeat((CONTENT_TYPE_BYTES - 17) / 2)}"`,
};

async function main(): Promise<void> {
  const cluster = await startEtcdCluster({ size: 1 });
  try {
    let round = 0;
    for (const [keyName, key] of Object.entries(keys)) {
      for (const [typeName, contentType] of Object.entries(contentTypes)) {
        const prefix = `bound-${round++}/`;
        const engine = await openEtcdEngine(
          { kind: 'etcd', endpoints: [...cluster.endpoints], prefix },
          { logValueMax: 1024, log: () => undefined },
        );
        const bound = etcdWriteBounds({
          prefix,
          withHistory: true,
          maxKeyBytes: KEY_BYTES,
          maxContentTypeBytes: CONTENT_TYPE_BYTES,
        }).maxValueBytes;
        /** undefined when the put committed, else what refused it. */
        const put = async (size: number): Promise<string | undefined> => {
          try {
            await engine.commit(
              {
                conditions: [],
                operations: [{ type: 'put', key, value: Buffer.alloc(size, 97), contentType, expires: null }],
              },
              Date.now(),
            );
            return undefined;
          } catch (error) {
            return (error as Error).message;
          }
        };
        const atBound = await put(bound);
        // At most 20 probes: 2^20 bytes covers the search window.
        let low = bound - 50_000;
        let high = bound + 50_000;
        for (let probe = 0; probe < 20 && high - low > 1; probe++) {
          const middle = Math.floor((low + high) / 2);
          if ((await put(middle)) === undefined) low = middle;
          else high = middle;
        }
        const refusal = (await put(high)) ?? 'committed';
        await engine.close();
        console.log(
          `${`${keyName} key, ${typeName} type`.padEnd(28)} bound ${bound} (${atBound === undefined ? 'committed' : `refused: ${atBound}`}); largest committed ${low} (bound ${low - bound >= 0 ? '+' : ''}${low - bound}); next byte: ${refusal.startsWith('etcd refused') ? 'etcd refused it' : "the engine's count refused it"}`,
        );
      }
    }
  } finally {
    await cluster.stop();
  }
}

await main();
