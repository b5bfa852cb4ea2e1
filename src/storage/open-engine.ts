// Chooses and opens the engine named by the configuration.

import cluster from 'node:cluster';
import { join } from 'node:path';
import type { StorageOptions } from './config.js';
import type { Engine } from './engine.js';
import { LmdbEngine } from './lmdb/lmdb-engine.js';
import {
  checkStoreFiles,
  ensureStoreMarker,
  markedStoreFiles,
  StoreFileError,
  WAL_DIRECTORY,
} from './lmdb/store-files.js';
import { MemoryEngine } from './memory/memory-engine.js';
import { StoreOpenError } from './config.js';
import { WalError } from './wal/write-ahead-log.js';
import { WalPayloadError } from './lmdb/wal-commit.js';
import { lmdbOpenProblem } from './lmdb/lmdb-errors.js';
import { RecordDamagedError } from './errors.js';
import { probeNewStoreSpace } from './lmdb/new-store-probe.js';
import { makeFilesPrivate, makePrivateDir } from './private-files.js';

export async function openEngine(config: StorageOptions): Promise<Engine> {
  const store = config.store;
  switch (store.kind) {
    case 'memory':
      return new MemoryEngine({
        logLength: config.logLength,
        logValueMax: config.logValueMax,
        ...(config.auditRetention !== undefined && { auditRetention: config.auditRetention }),
        ...(config.historyRetention !== undefined && { historyRetention: config.historyRetention }),
      });
    case 'lmdb': {
      makePrivateDir(config.dataDir);
      // Refuses a missing, empty, truncated or damaged store before LMDB maps it (store-files.ts).
      // A --workers process does not: the others may be writing the file while it reads, so the
      // primary checked the files and created the store before starting any (src/main.ts).
      const files =
        config.workers > 1 && cluster.isWorker ? markedStoreFiles(config.dataDir) : checkStoreFiles(config.dataDir);
      // --workers: the primary opens the store alone first (src/main.ts), with the WAL, which
      // replays what lmdb lacks and checkpoints it at close; the workers then share lmdb without
      // it (its single writer and group commit live in one process; docs/durability.md).
      const shared = config.workers > 1 && cluster.isWorker;
      if (!files.exists && !shared) probeNewStoreSpace(config.dataDir);
      const engine = await openLmdb({
        // An explicit file name: lmdb-js treats a path containing '.' as a file, anything else as a directory.
        path: join(config.dataDir, 'kvs.mdb'),
        durability: config.durability,
        logLength: config.logLength,
        logValueMax: config.logValueMax,
        // One process owns the store unless --workers shares it between processes.
        exclusive: !shared,
        alwaysChecksummed: files.alwaysChecksummed,
        indexedSinceCreation: files.indexedSinceCreation,
        ...(config.auditRetention !== undefined && { auditRetention: config.auditRetention }),
        ...(config.historyRetention !== undefined && { historyRetention: config.historyRetention }),
        ...((config.writeAheadLog || config.workers > 1) &&
          !shared && { walDirectory: join(config.dataDir, WAL_DIRECTORY) }),
        // The --workers primary closes the store right after: lmdb must hold the whole WAL then.
        ...(config.workers > 1 && !shared && { replay: 'before-open' as const }),
      });
      ensureStoreMarker(config.dataDir, !files.exists);
      makeFilesPrivate(['kvs.mdb', 'kvs.mdb-lock'].map((name) => join(config.dataDir, name)));
      return engine;
    }
    case 'etcd': {
      const { openEtcdEngine } = await import('./etcd/etcd-engine.js');
      return openEtcdEngine(store, {
        logValueMax: config.logValueMax,
        logLength: config.logLength,
        ...(config.auditRetention !== undefined && { auditRetention: config.auditRetention }),
        ...(config.historyRetention !== undefined && { historyRetention: config.historyRetention }),
      });
    }
  }
}

/** A WAL that cannot be replayed stops the start with one line naming the damage (docs/wal.md). */
async function openLmdb(options: Parameters<typeof LmdbEngine.open>[0]): Promise<LmdbEngine> {
  try {
    return await LmdbEngine.open(options);
  } catch (error) {
    if (error instanceof WalError || error instanceof WalPayloadError) {
      const code = error instanceof WalError ? error.code : 'wal_damaged';
      throw new StoreOpenError(
        `${code}: ${error.message}; kvs does not start on a write-ahead log it cannot verify (docs/durability.md, "Recovery")`,
        { cause: error },
      );
    }
    if (error instanceof StoreFileError) throw new StoreOpenError(`${error.code}: ${error.message}`, { cause: error });
    // Opening writes to lmdb (WAL replay, one-time upgrades): a refusal there is the store's or
    // the disk's state, told in one line, not a crash with a stack trace.
    // A read at open that met damage arrives already as the engine's RecordDamagedError (its
    // cause is LMDB's or msgpackr's own error).
    const met = error instanceof RecordDamagedError && error.cause !== undefined ? error.cause : error;
    const problem = error instanceof RecordDamagedError ? 'store_damaged' : lmdbOpenProblem(error);
    if (problem === 'store_damaged')
      throw new StoreOpenError(
        `store_damaged: ${options.path}: opening it met damaged data (${(met as Error).message}); run kvs check (docs/durability.md, "Damaged or missing store")`,
        { cause: error },
      );
    if (problem === 'store_unwritable')
      throw new StoreOpenError(
        `store_unwritable: ${options.path}: the disk refused a write while opening the store (${(error as Error).message}); free space or fix the disk, then start again (docs/durability.md)`,
        { cause: error },
      );
    throw error;
  }
}
