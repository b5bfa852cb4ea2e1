// The storage layer's public entry: the only file of src/storage that the layers above may
// import (scripts/check-imports.mjs enforces it). It stays cheap to load: engines and the lmdb
// store tools are loaded when first used, so the CLI's client commands never load lmdb.

export type { ChangeListener, Engine, HistoryPage, ListOptions } from './engine.js';
export {
  EngineUnavailableError,
  HistoryCompactedError,
  RecordDamagedError,
  StorageError,
  type StorageErrorCode,
  StorageFullError,
  StoreLimitError,
} from './errors.js';
