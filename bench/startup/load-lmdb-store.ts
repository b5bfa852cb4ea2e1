// Fills a kvs lmdb store with many keys quickly, through kvs's own LmdbEngine (so the records
// are exactly what the server writes), many puts per transaction. Run as its own process while
// no server has the store open:
//   node dist/bench/startup/load-lmdb-store.js --path STORE --keys 1000000 --prefix startup- --value-bytes 100
// With --expires-in-ms N every key expires N ms after the load starts (the stall suite's
// expired-but-not-yet-swept keys); it may be run again on the same store to add more keys.

import { parseArgs } from 'node:util';
import type { Operation } from '../../src/model/txn.js';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';
import { benchKeys, benchValue } from '../lib/request-set.js';

const { values } = parseArgs({
  options: {
    path: { type: 'string' },
    keys: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '10000' },
    prefix: { type: 'string', default: 'startup-' },
    'value-bytes': { type: 'string', default: '100' },
    'expires-in-ms': { type: 'string' },
  },
});
if (values.path === undefined) throw new Error('--path is required');

const keyCount = Number(values.keys);
const batch = Number(values.batch);
const value = Buffer.from(benchValue(Number(values['value-bytes'])));
const keys = benchKeys(keyCount, values.prefix);
const started = Date.now();
const expires = values['expires-in-ms'] === undefined ? null : started + Number(values['expires-in-ms']);
// relaxed: one flush at close() instead of one per batch; close() awaits the flush.
const engine = new LmdbEngine({ path: values.path, durability: 'relaxed', logLength: 1000, logValueMax: 0 });
for (let start = 0; start < keys.length; start += batch) {
  const operations: Operation[] = keys
    .slice(start, start + batch)
    .map((key) => ({ type: 'put', key, value, contentType: null, expires }));
  // Committed as of the load's start, so that keys which expire during the load are still written.
  const result = await engine.commit({ conditions: [], operations }, expires === null ? Date.now() : started);
  if (!result.ok) throw new Error(`batch at ${start} failed its (empty) conditions`);
  if ((start / batch) % 10 === 0) process.stderr.write(`load-lmdb-store: ${start + operations.length} keys\n`);
}
const count = await engine.count();
await engine.close();
process.stdout.write(
  `loaded ${keyCount} keys in ${((Date.now() - started) / 1000).toFixed(1)} s; store holds ${count} keys\n`,
);
