// Server configuration: one object, validated once at start-up with clear errors.

import {
  type AuditRetention,
  DEFAULT_AUDIT_RETENTION,
  DEFAULT_HISTORY_RETENTION,
  HISTORY_BYTES_MIN,
  HISTORY_VERSIONS_MAX,
  type HistoryRetention,
  type StorageOptions,
  type StoreConfig,
} from '../storage/index.js';
import type { StartupRefusalCode } from './errors.js';
import { defaultLimits, type Limits } from './limits.js';

/** The server's configuration: storage's own (store, dataDir, durability, log, workers) and the rest. */
export interface Config extends StorageOptions {
  readonly host: string;
  readonly port: number;
  /** Token file; undefined = DATA/tokens, created with a fresh admin token at first start. */
  readonly tokenFile: string | undefined;
  readonly privateReads: boolean;
  /** RESP listener port; undefined = no RESP listener. */
  readonly respPort: number | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly limits: Limits;
  readonly watchHeartbeatMs: number;
  readonly sweepIntervalMs: number;
  /**
   * Access log to stderr: one line per answered request, from the Fastify routes and the HTTP
   * fast paths alike (independent of fastPaths).
   */
  readonly accessLog: boolean;
  /**
   * The HTTP fast paths (http/read-fast-path.ts, http/write-fast-path.ts): plain node:http
   * handlers in front of Fastify for the hot GET and PUT of one key. Off, every request goes
   * through the Fastify routes (same answers, slower): for A/B measurements and for ruling the
   * fast paths out when chasing a bug.
   */
  readonly fastPaths: boolean;
  /** Origins allowed to call the API from a browser (`*` for any); empty: no CORS (http/cors.ts). */
  readonly corsOrigins: readonly string[];
  /** How much audit trail the engine keeps (`--audit-max-bytes`, `--audit-max-age`; docs/audit.md). */
  readonly auditRetention: AuditRetention;
  /**
   * How much per-key history the engine keeps (`--history-versions`, `--history-key-bytes`,
   * `--history-max-bytes`; docs/history.md). The etcd engine does not keep history yet.
   */
  readonly historyRetention: HistoryRetention;
}

export const defaultConfig: Config = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './kvs-data',
  tokenFile: undefined,
  privateReads: false,
  respPort: undefined,
  workers: 1,
  store: { kind: 'lmdb' },
  durability: 'strict',
  tlsCert: undefined,
  tlsKey: undefined,
  limits: defaultLimits,
  logLength: 100_000,
  logValueMax: 4096,
  watchHeartbeatMs: 15_000,
  sweepIntervalMs: 250,
  accessLog: false,
  fastPaths: true,
  writeAheadLog: true,
  corsOrigins: [],
  auditRetention: DEFAULT_AUDIT_RETENTION,
  historyRetention: DEFAULT_HISTORY_RETENTION,
};

/** The shortest `--audit-max-age`: one minute (entries younger than that are always kept). */
export const MIN_AUDIT_MAX_AGE_MS = 60_000;
/** The smallest `--audit-max-bytes`: 64 KiB (a few hundred entries). */
export const MIN_AUDIT_MAX_BYTES = 64 * 1024;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: a whole number of ms, or with a unit (ms, s, m, h, d): `30d`, `12h`. */
export function parseDuration(name: string, text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!;
  if (!Number.isSafeInteger(ms))
    throw new ConfigError(
      `${name} must be a duration: ms, or a whole number with s, m, h or d such as 30d (got ${JSON.stringify(text)})`,
    );
  return ms;
}

export class ConfigError extends Error {
  /** The refusal's code, for those that carry one (startupRefusalCatalogue); it starts the message. */
  readonly code: StartupRefusalCode | undefined;

  constructor(message: string, code?: StartupRefusalCode) {
    super(code === undefined ? message : `${code}: ${message}`);
    this.name = 'ConfigError';
    this.code = code;
  }
}

/** Parses `--store`: lmdb | memory | etcd://h1:2379,h2:2379 (etcds:// for TLS). */
export function parseStore(
  text: string,
  etcd: {
    prefix?: string;
    username?: string;
    password?: string;
    caFile?: string;
    certFile?: string;
    keyFile?: string;
  } = {},
): StoreConfig {
  if (text === 'lmdb' || text === 'memory') return { kind: text };
  const match = /^(etcds?):\/\/(.+)$/.exec(text);
  if (!match)
    throw new ConfigError(
      `--store must be lmdb, memory or etcd://host:port[,host:port...] (got ${JSON.stringify(text)})`,
    );
  const scheme = match[1] === 'etcds' ? 'https' : 'http';
  const endpoints = match[2]!.split(',').map((hostPort) => {
    if (!/^[^\s/:]+(:\d+)?$/.test(hostPort) && !/^\[[0-9a-f:]+\](:\d+)?$/i.test(hostPort)) {
      throw new ConfigError(`--store: bad etcd endpoint ${JSON.stringify(hostPort)} (want host:port)`);
    }
    return `${scheme}://${hostPort.includes(':') ? hostPort : `${hostPort}:2379`}`;
  });
  return {
    kind: 'etcd',
    endpoints,
    prefix: etcd.prefix ?? 'kvs/',
    username: etcd.username,
    password: etcd.password,
    caFile: etcd.caFile,
    certFile: etcd.certFile,
    keyFile: etcd.keyFile,
  };
}

function wholeNumber(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got ${value})`);
  }
}

/**
 * The largest `--max-key-bytes` on the memory and etcd stores (lmdb: 1900): every key lives in
 * memory there (etcd keeps its whole key index in memory), and a key travels in every etcd
 * request that names it, within etcd's request limit (1.5 MiB by default). docs/limits.md.
 */
export const MAX_KEY_BYTES_BOUND = 65_536;

/** Checks a complete config; throws ConfigError naming the bad setting. */
export function validateConfig(config: Config): Config {
  wholeNumber('--port', config.port, 0, 65535);
  if (config.respPort !== undefined) wholeNumber('--resp-port', config.respPort, 0, 65535);
  wholeNumber('--workers', config.workers, 1, 64);
  if (config.durability !== 'strict' && config.durability !== 'relaxed') {
    throw new ConfigError(`--durability must be strict or relaxed (got ${String(config.durability)})`);
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together');
  }
  if (config.workers > 1 && config.store.kind === 'memory') {
    throw new ConfigError('--workers > 1 needs a shared store (lmdb or etcd), not memory');
  }
  const limits = config.limits;
  // Named by their flag (maxValueBytes: --max-value-bytes), which is how they were given.
  for (const [name, value] of Object.entries(limits))
    wholeNumber(`--${name.replace(/[A-Z]/g, (upper) => `-${upper.toLowerCase()}`)}`, value as number, 1);
  // lmdb's maximum key size is 1978 bytes; the expiry index adds a few bytes of its own. Other
  // stores keep every key in memory (memory; etcd's key index), so keys are bounded there too.
  wholeNumber('--max-key-bytes', limits.maxKeyBytes, 1, config.store.kind === 'lmdb' ? 1900 : MAX_KEY_BYTES_BOUND);
  if (limits.maxValueBytes > limits.maxBodyBytes) {
    throw new ConfigError('--max-value-bytes cannot exceed --max-body-bytes');
  }
  wholeNumber('--log-length', config.logLength, 1);
  wholeNumber('--log-value-max', config.logValueMax, 0);
  wholeNumber('--audit-max-bytes', config.auditRetention.maxBytes, MIN_AUDIT_MAX_BYTES);
  wholeNumber('--audit-max-age (in ms)', config.auditRetention.maxAgeMs, MIN_AUDIT_MAX_AGE_MS);
  wholeNumber('--history-versions', config.historyRetention.versions, 0, HISTORY_VERSIONS_MAX);
  wholeNumber('--history-key-bytes', config.historyRetention.keyBytes, HISTORY_BYTES_MIN);
  wholeNumber('--history-max-bytes', config.historyRetention.storeBytes, HISTORY_BYTES_MIN);
  return config;
}
