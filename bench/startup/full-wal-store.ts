// Makes a data directory whose write-ahead log holds the most a start-up can have to replay: a
// full segment (64 MiB) of commits that lmdb does not hold, as after a crash right before lmdb's
// checkpoint of them. Run on the directory of a server that was started once and stopped (so the
// store and its marker exist), with no server running:
//   node dist/bench/startup/full-wal-store.js --data DIR [--bytes 67108864] [--writers 200]
// It copies lmdb's store file first, commits 100-byte puts over 10,000 keys through the WAL
// path (the log keeps every segment: deletions are held back), and then puts the copy back.
// Then time `kvs serve --data DIR` until its ready line: that start-up replays the whole log.

import { copyFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';
import { nodeWalFiles } from '../../src/storage/wal/wal-files.js';
import { benchKeys, benchValue } from '../lib/request-set.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    bytes: { type: 'string', default: String(64 * 1024 * 1024) },
    writers: { type: 'string', default: '200' },
  },
});
if (values.data === undefined) throw new Error('--data is required');
const data = values.data;
const store = join(data, 'kvs.mdb');
const walDirectory = join(data, 'wal');
const target = Number(values.bytes);
copyFileSync(store, `${store}.before-wal`);

const engine = await LmdbEngine.open({
  path: store,
  durability: 'strict',
  logLength: 100_000,
  logValueMax: 4096,
  walDirectory,
  walFiles: { ...nodeWalFiles, remove: async () => undefined },
});
const keys = benchKeys(10_000, 'wal-');
const value = Buffer.from(benchValue(100));
const walBytes = (): number =>
  readdirSync(walDirectory)
    .filter((name) => name.endsWith('.wal'))
    .reduce((sum, name) => sum + statSync(join(walDirectory, name)).size, 0);
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
    if (commits % 10_000 === 0 && walBytes() >= target) done = true;
  }
};
await Promise.all(Array.from({ length: Number(values.writers) }, writer));
await engine.close();
copyFileSync(`${store}.before-wal`, store);
process.stdout.write(`${JSON.stringify({ commits, walBytes: walBytes() })}\n`);
