// One server (or one --workers group) per lmdb store (lmdb/store-lock.ts says why), and the
// store files checked before any process maps them: a damaged store is a one-line refusal, not
// a signal.

import { StoreOpenError, type StorageOptions } from './config.js';
import { checkStoreFiles, StoreFileError } from './lmdb/store-files.js';
import { acquireStoreLock, StoreLockedError, StoreLockError } from './lmdb/store-lock.js';
import { makePrivateDir } from './private-files.js';

/**
 * Takes the store's lock and checks its files; resolves with the function that releases the
 * lock. Stores other than lmdb need no lock. Throws StoreOpenError when the store cannot be used.
 */
export async function lockStore(options: Pick<StorageOptions, 'store' | 'dataDir'>): Promise<() => void> {
  if (options.store.kind !== 'lmdb') return () => {};
  makePrivateDir(options.dataDir);
  let release: () => void;
  try {
    release = await acquireStoreLock(options.dataDir);
  } catch (error) {
    if (error instanceof StoreLockedError || error instanceof StoreLockError)
      throw new StoreOpenError(error.message, { cause: error });
    throw error;
  }
  try {
    checkStoreFiles(options.dataDir);
  } catch (error) {
    release();
    if (error instanceof StoreFileError) throw new StoreOpenError(`${error.code}: ${error.message}`, { cause: error });
    throw error;
  }
  return release;
}
