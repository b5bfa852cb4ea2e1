// The engine conformance suite on the lmdb engine, each test in a fresh store directory.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbEngine, type LmdbEngineOptions } from '../../src/storage/lmdb/lmdb-engine.js';
import { runEngineConformance } from './conformance.js';

runEngineConformance('lmdb', async (options) => {
  const path = mkdtempSync(join(tmpdir(), 'kvs-lmdb-conformance-'));
  const engineOptions: LmdbEngineOptions = {
    path,
    durability: 'strict',
    logLength: options.logLength,
    logValueMax: options.logValueMax,
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
});
