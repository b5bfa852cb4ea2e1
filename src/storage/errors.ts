// What engines throw when an operation cannot be done. Each carries a code; the core turns them
// into the error catalogue in one place (src/core/storage-errors.ts), so no engine knows of
// HTTP statuses or RESP error prefixes.

export type StorageErrorCode =
  | 'unavailable'
  | 'disk_full'
  | 'damaged'
  | 'history_compacted'
  | 'batch_too_large'
  | 'txn_too_large'
  | 'value_too_large';

export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;
}

/** Thrown by history() when `since` is older than what the change log still holds. */
export class HistoryCompactedError extends StorageError {
  readonly code = 'history_compacted';
  constructor(readonly oldestAvailable: number) {
    super(`history before revision ${oldestAvailable} was compacted`);
    this.name = 'HistoryCompactedError';
  }
}

/** Thrown by any engine method when its backing store cannot be reached. */
export class EngineUnavailableError extends StorageError {
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineUnavailableError';
  }
}

/**
 * Thrown by commit() when the disk holding the store is full: nothing of the write was saved,
 * and writes resume by themselves once space is freed.
 */
export class StorageFullError extends StorageError {
  readonly code = 'disk_full';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageFullError';
  }
}

/** Thrown by a read that met a stored record failing its checksum: the bytes are never served. */
export class RecordDamagedError extends StorageError {
  readonly code = 'damaged';
  constructor(
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`the stored record of key ${JSON.stringify(key)} failed its checksum`, options);
    this.name = 'RecordDamagedError';
  }
}

/**
 * Thrown by commit() for a transaction larger than the backing store accepts (etcd's
 * --max-txn-ops and --max-request-bytes), before anything was written. `limit` and `size`,
 * when known, are in the unit the code names (operations or bytes).
 */
export class StoreLimitError extends StorageError {
  constructor(
    readonly code: 'batch_too_large' | 'txn_too_large' | 'value_too_large',
    message: string,
    readonly limit?: number,
    readonly size?: number,
  ) {
    super(message);
    this.name = 'StoreLimitError';
  }
}
