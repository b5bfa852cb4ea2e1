// The one place where what an engine throws (src/storage/errors.ts) becomes an error of the
// catalogue (errors.ts) that every front end renders.

import {
  EngineUnavailableError,
  HistoryCompactedError,
  RecordDamagedError,
  StorageFullError,
  StoreLimitError,
} from '../storage/index.js';
import { KvsError } from './errors.js';

/** The catalogue error for a storage error; any other error as it is. */
export function fromStorageError(error: unknown): unknown {
  if (error instanceof EngineUnavailableError) return new KvsError('unavailable', error.message);
  if (error instanceof StorageFullError) return new KvsError('insufficient_storage');
  if (error instanceof RecordDamagedError) return new KvsError('record_damaged', undefined, { key: error.key });
  if (error instanceof HistoryCompactedError)
    return new KvsError('history_compacted', undefined, { oldestRevision: error.oldestAvailable });
  if (error instanceof StoreLimitError) {
    const details = error.limit === undefined ? {} : { limit: error.limit, size: error.size };
    return new KvsError(error.code, error.message, details);
  }
  return error;
}
