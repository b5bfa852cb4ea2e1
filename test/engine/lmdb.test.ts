// The engine conformance suite on the lmdb engine, each test in a fresh store directory, in both
// durability modes (relaxed skips the flush before acknowledging, and must mean nothing else) and
// both writer modes (exclusive: one process; shared: --workers N), and with a record cache small
// enough that it evicts all the time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbEngine, type LmdbEngineOptions } from '../../src/storage/lmdb/lmdb-engine.js';
import { runEngineConformance, type OpenEngine } from './conformance.js';

function lmdbFactory(durability: LmdbEngineOptions['durability'], exclusive = true, cacheBytes?: number): OpenEngine {
  return async (options) => {
    const path = mkdtempSync(join(tmpdir(), 'kvs-lmdb-conformance-'));
    const engineOptions: LmdbEngineOptions = {
      path,
      durability,
      logLength: options.logLength,
      logValueMax: options.logValueMax,
      exclusive,
      cacheBytes,
    };
    const opened: LmdbEngine[] = [new LmdbEngine(engineOptions)];
    return {
      engine: opened[0]!,
      reopen: async () => {
        const engine = new LmdbEngine(engineOptions);
        opened.push(engine);
        return engine;
      },
      cleanup: async () => {
        for (const engine of opened) await engine.close();
        rmSync(path, { recursive: true, force: true });
      },
    };
  };
}

runEngineConformance('lmdb', lmdbFactory('strict'));
runEngineConformance('lmdb (relaxed durability)', lmdbFactory('relaxed'));
// The cross-process writer used by --workers N: same contract, other code path.
runEngineConformance('lmdb (shared writer)', lmdbFactory('strict', false));
// A record cache of a few entries: every read path also runs through eviction and re-reads.
runEngineConformance('lmdb (tiny record cache)', lmdbFactory('strict', true, 2048));
