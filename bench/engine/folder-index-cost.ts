// What the folder-count index (src/storage/folder-index.ts) costs a write: W concurrent writers
// create N new keys through the lmdb engine with its write-ahead log (strict durability, as the
// server runs it), once with keys in no folder (no index update) and once per folder depth (one
// counter update per level), the shapes taking turns each round on fresh stores in one process.
// An overwrite changes no count, so it costs the index nothing; creates are the worst case.
// Prints one line per round and shape: commits per second and process CPU per commit.
//
//   node dist/bench/engine/folder-index-cost.js [--creates 20000] [--writers 50] [--rounds 3]

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';

const { values } = parseArgs({
  options: {
    creates: { type: 'string', default: '20000' },
    writers: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
  },
});
const creates = Number(values.creates);
const writers = Number(values.writers);
const rounds = Number(values.rounds);

const shapes: Record<string, (index: number) => string> = {
  'no folder': (index) => `k${index}`,
  'depth 1': (index) => `users/k${index}`,
  'depth 2': (index) => `app/users/k${index}`,
  'depth 4': (index) => `a/b/c/d/k${index}`,
};

async function createAll(keyOf: (index: number) => string): Promise<{ perSecond: number; cpuMicros: number }> {
  const directory = mkdtempSync(join(tmpdir(), 'kvs-folder-cost-'));
  const engine = await LmdbEngine.open({
    path: join(directory, 'kvs.mdb'),
    durability: 'strict',
    logLength: 100_000,
    logValueMax: 4096,
    walDirectory: join(directory, 'wal'),
  });
  const value = Buffer.alloc(100, 0x61);
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < creates) {
        const key = keyOf(next++);
        const operation = { type: 'put' as const, key, value, contentType: null, expires: null };
        await engine.commit({ conditions: [], operations: [operation] }, Date.now());
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await engine.close();
  rmSync(directory, { recursive: true, force: true });
  return { perSecond: Math.round(creates / seconds), cpuMicros: (cpu.user + cpu.system) / creates };
}

console.log(
  `${creates} creates, ${writers} writers, load average ${loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')}`,
);
for (let round = 1; round <= rounds; round++) {
  for (const [shape, keyOf] of Object.entries(shapes)) {
    const { perSecond, cpuMicros } = await createAll(keyOf);
    console.log(`round ${round} | ${shape} | ${perSecond} creates/s | ${cpuMicros.toFixed(1)} us CPU per create`);
  }
}
