// The storage layer's public entry: the only file of src/storage that the layers above may
// import (scripts/check-imports.mjs enforces it).

export type {
  AuditPage,
  AuditQuery,
  AuditRetention,
  ChangeListener,
  Engine,
  HistoryPage,
  ListOptions,
  ListPage,
  SystemRecord,
  SystemStore,
  WriteStats,
} from './engine.js';
export { FOLDER_INDEX_DEPTH, isIndexedFolder } from './folder-index.js';
export { AUDIT_DROP_MAX, DEFAULT_AUDIT_RETENTION, LIST_SKIP_MAX } from './engine.js';
export {
  DEFAULT_HISTORY_RETENTION,
  DELETED_SCAN_MAX,
  HISTORY_BYTES_MIN,
  HISTORY_DROP_MAX,
  HISTORY_PAGE_MAX,
  HISTORY_VERSIONS_MAX,
  type HistoryReach,
  type HistoryRetention,
  oldestReachable,
} from './key-history.js';
export {
  EngineUnavailableError,
  HistoryCompactedError,
  RecordDamagedError,
  StorageError,
  type StorageErrorCode,
  StorageFullError,
  StoreLimitError,
} from './errors.js';
export {
  type Durability,
  type EtcdStoreConfig,
  type StorageOptions,
  type StoreConfig,
  StoreOpenError,
} from './config.js';
export { openEngine } from './open-engine.js';
export { type EtcdWriteBounds, etcdWriteBounds } from './etcd/commit-bounds.js';
export { lockStore } from './lock-store.js';
export { makePrivateDir } from './private-files.js';
export { checkStore, type StoreCheckOptions, type StoreCheckReport } from './lmdb/store-check.js';
