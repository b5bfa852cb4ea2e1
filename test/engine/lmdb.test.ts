// The engine conformance suite on the lmdb engine, each test in a fresh store directory, in both
// durability modes (relaxed skips the flush before acknowledging, and must mean nothing else),
// all three write paths (exclusive with the write-ahead log, the default; exclusive lmdb-only;
// shared: --workers N), and with a record cache small enough that it evicts all the time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbEngine, type LmdbEngineOptions } from '../../src/storage/lmdb/lmdb-engine.js';
import { runEngineConformance, type OpenEngine } from './conformance.js';

function lmdbFactory(
  durability: LmdbEngineOptions['durability'],
  { exclusive = true, cacheBytes, wal = exclusive }: { exclusive?: boolean; cacheBytes?: number; wal?: boolean } = {},
): OpenEngine {
  return async (options) => {
    const path = mkdtempSync(join(tmpdir(), 'kvs-lmdb-conformance-'));
    const engineOptions: LmdbEngineOptions = {
      path,
      durability,
      logLength: options.logLength,
      logValueMax: options.logValueMax,
      exclusive,
      cacheBytes,
      ...(wal && { walDirectory: join(path, 'wal') }),
      ...(options.auditRetention !== undefined && { auditRetention: options.auditRetention }),
      ...(options.historyRetention !== undefined && { historyRetention: options.historyRetention }),
    };
    const opened: LmdbEngine[] = [await LmdbEngine.open(engineOptions)];
    return {
      engine: opened[0]!,
      reopen: async () => {
        const engine = await LmdbEngine.open(engineOptions);
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
// The lmdb-only exclusive write path (`--wal off`).
runEngineConformance('lmdb (no WAL)', lmdbFactory('strict', { wal: false }));
// The cross-process writer used by --workers N: same contract, other code path.
runEngineConformance('lmdb (shared writer)', lmdbFactory('strict', { exclusive: false }));
// A record cache of a few entries: every read path also runs through eviction and re-reads.
runEngineConformance('lmdb (tiny record cache)', lmdbFactory('strict', { cacheBytes: 2048 }));
