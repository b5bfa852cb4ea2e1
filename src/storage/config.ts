// Storage's own configuration: which engine holds the data, and what the engines are given.
// core/config.ts composes it into the server's Config (which parses and validates the flags).

import type { AuditRetention } from './engine.js';
import type { HistoryRetention } from './key-history.js';

export interface EtcdStoreConfig {
  readonly kind: 'etcd';
  /** Client URLs, e.g. http://h1:2379. */
  readonly endpoints: readonly string[];
  /** Key prefix under which this kvs namespace lives in etcd. */
  readonly prefix: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** CA certificate file for https endpoints. */
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

export type StoreConfig = { readonly kind: 'lmdb' } | { readonly kind: 'memory' } | EtcdStoreConfig;

export type Durability = 'strict' | 'relaxed';

/** What opening a store needs. */
export interface StorageOptions {
  readonly store: StoreConfig;
  readonly dataDir: string;
  readonly durability: Durability;
  /** Revisions kept in the change log (watch resume window). */
  readonly logLength: number;
  /** Values up to this size travel in change events. */
  readonly logValueMax: number;
  /** Processes sharing the store (`--workers`); lmdb is opened for sharing when more than one. */
  readonly workers: number;
  /**
   * lmdb: commits go through the write-ahead log (docs/durability.md), the default. false: the
   * lmdb-only write path (acknowledged after lmdb's own sync), kept for A/B measurements.
   * `--workers` processes always share lmdb without it.
   */
  readonly writeAheadLog: boolean;
  /** How much audit trail the engine keeps (docs/audit.md); DEFAULT_AUDIT_RETENTION when unset. */
  readonly auditRetention?: AuditRetention;
  /** How much per-key history the engine keeps (docs/history.md); DEFAULT_HISTORY_RETENTION when unset. */
  readonly historyRetention?: HistoryRetention;
}

/**
 * The store cannot be opened as configured: bad engine options, the data directory locked by
 * another server, or store files that fail their check. The message is one line for the operator.
 */
export class StoreOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
}
