// Makes a data directory whose write-ahead log is the most a start-up can have to read and replay
// (docs/durability.md, "Bounds"): one full segment that lmdb has checkpointed but not yet
// released, then a full segment of commits lmdb does not hold (the unapplied bound,
// UNAPPLIED_BYTES_MAX, equals the segment size), as after a crash while lmdb was that far behind.
// Run on the directory of a server that was started once and stopped (so the store and its
// marker exist), with no server running:
//   node dist/bench/startup/full-wal-store.js --data DIR [--writers 200]
// Phase 1 commits 100-byte puts over 10,000 keys until the first segment is full, and closes
// (lmdb holds them); lmdb's store file is copied. Phase 2 commits until the second segment is
// full too (segment deletions are held back in both phases); then the copy is put back, so lmdb
// is at the end of phase 1. Then time `kvs serve --data DIR` until its ready line (time-to-ready.ts).

import { copyFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';
import { nodeWalFiles } from '../../src/storage/wal/wal-files.js';
import { benchKeys, benchValue } from '../lib/request-set.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    writers: { type: 'string', default: '200' },
  },
});
if (values.data === undefined) throw new Error('--data is required');
const data = values.data;
const store = join(data, 'kvs.mdb');
const walDirectory = join(data, 'wal');
const keys = benchKeys(10_000, 'wal-');
const value = Buffer.from(benchValue(100));
const segments = (): string[] => readdirSync(walDirectory).filter((name) => name.endsWith('.wal'));

/** Commits until the WAL has `count` segments (the ones before the last are full), then closes. */
async function commitUntil(count: number): Promise<number> {
  const engine = await LmdbEngine.open({
    path: store,
    durability: 'strict',
    logLength: 100_000,
    logValueMax: 4096,
    walDirectory,
    walFiles: { ...nodeWalFiles, remove: async () => undefined },
  });
  let commits = 0;
  let done = false;
  const writer = async (): Promise<void> => {
    while (!done) {
      const key = keys[Math.floor(Math.random() * keys.length)]!;
      await engine.commit(
        { conditions: [], operations: [{ type: 'put', key, value, contentType: null, expires: null }] },
        Date.now(),
      );
      commits++;
      if (commits % 1_000 === 0 && segments().length >= count) done = true;
    }
  };
  await Promise.all(Array.from({ length: Number(values.writers) }, writer));
  await engine.close();
  return commits;
}

const checkpointed = await commitUntil(2);
copyFileSync(store, `${store}.before-wal`);
const unapplied = await commitUntil(3);
copyFileSync(`${store}.before-wal`, store);
const sizes = Object.fromEntries(segments().map((name) => [name, statSync(join(walDirectory, name)).size]));
process.stdout.write(`${JSON.stringify({ checkpointed, unapplied, segments: sizes })}\n`);
