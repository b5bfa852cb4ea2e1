// Every limit kvs enforces, with its default. docs/limits.md lists the same numbers; a test
// checks that each field here appears there.

export interface Limits {
  /** Longest key, in UTF-8 bytes. */
  readonly maxKeyBytes: number;
  /** Largest value, in bytes. */
  readonly maxValueBytes: number;
  /** Largest request body (PUT value, seed POST form, txn document), in bytes. */
  readonly maxBodyBytes: number;
  /** Most key/value pairs in one seed POST, keys in one `?k=` list or MGET/MSET, operations in one txn. */
  readonly maxBatch: number;
  /** Longest request URL (path and query), in bytes. */
  readonly maxUrlBytes: number;
  /** Most simultaneous client connections per listener. */
  readonly maxConnections: number;
  /** Time a client has to send the request headers, ms (slow-client bound). */
  readonly headersTimeoutMs: number;
  /** Time a client has to send the whole request, ms. */
  readonly requestTimeoutMs: number;
  /** Largest page of GET /v1/kv. */
  readonly maxListLimit: number;
  /** Events buffered for one watcher before it is disconnected as too slow. */
  readonly watchBufferEvents: number;
  /** Bytes a watch stream may hold unsent before it is disconnected as too slow (plus one batch). */
  readonly watchBufferBytes: number;
  /** Bytes all watch streams of one process may hold unsent together; past it, streams with a backlog are cut. */
  readonly watchBufferTotalBytes: number;
  /** Failed authentications per client address within authFailureWindowMs before 429. */
  readonly authFailures: number;
  readonly authFailureWindowMs: number;
  /** Failed authentications from all addresses together within authFailureWindowMs before every address gets 429. */
  readonly authFailuresGlobal: number;
  /** Most client addresses (and address/token pairs) the failure limit remembers; about 450 bytes per address (docs/limits.md). */
  readonly authTrackedClients: number;
  /** Longest stored Content-Type, in bytes. */
  readonly maxContentTypeBytes: number;
  /** Largest RESP request (all bulk strings of one command), in bytes. */
  readonly maxRespRequestBytes: number;
  /** Most arguments in one RESP command. */
  readonly maxRespArguments: number;
  /** Unsent RESP replies one connection may hold before it is disconnected, in bytes. */
  readonly maxRespOutputBytes: number;
  /** Bytes all RESP connections together may hold (partial and queued commands, unsent replies). */
  readonly maxRespClientsBytes: number;
}

export const defaultLimits: Limits = {
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
  maxBodyBytes: 2 * 1024 * 1024,
  maxBatch: 1000,
  maxUrlBytes: 8192,
  maxConnections: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxListLimit: 1000,
  watchBufferEvents: 10_000,
  watchBufferBytes: 1024 * 1024,
  watchBufferTotalBytes: 128 * 1024 * 1024,
  authFailures: 10,
  authFailureWindowMs: 60_000,
  authFailuresGlobal: 1000,
  authTrackedClients: 100_000,
  maxContentTypeBytes: 255,
  maxRespRequestBytes: 4 * 1024 * 1024,
  maxRespArguments: 1024 * 1024,
  maxRespOutputBytes: 64 * 1024 * 1024,
  maxRespClientsBytes: 256 * 1024 * 1024,
};
