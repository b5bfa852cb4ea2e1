// The one error catalogue. Every front end renders errors from here:
// HTTP uses `status` and a JSON body (plain text on the seed routes), RESP uses `resp` as the
// error prefix. docs/errors.md documents every code; a test checks none is missing.

export interface ErrorSpec {
  readonly status: number;
  readonly resp: string;
  readonly message: string;
}

export const errorCatalogue = {
  bad_request: { status: 400, resp: 'ERR', message: 'The request is malformed.' },
  invalid_key: { status: 400, resp: 'ERR', message: 'Keys must be 1 or more bytes of valid UTF-8.' },
  key_too_long: { status: 400, resp: 'ERR', message: 'The key is longer than the configured maximum.' },
  invalid_ttl: { status: 400, resp: 'ERR', message: 'TTL must be a positive whole number of seconds.' },
  invalid_version: { status: 400, resp: 'ERR', message: 'A version must be a non-negative integer.' },
  invalid_txn: { status: 400, resp: 'ERR', message: 'The transaction document is malformed.' },
  invalid_cursor: { status: 400, resp: 'ERR', message: 'The listing cursor or limit is invalid.' },
  invalid_audit_query: { status: 400, resp: 'ERR', message: 'The audit trail query is invalid.' },
  invalid_point_in_time: {
    status: 400,
    resp: 'ERR',
    message: 'The point in time is invalid: give a revision or a time the store has reached.',
  },
  invalid_history_query: { status: 400, resp: 'ERR', message: 'The key history query is invalid.' },
  auth_required: { status: 401, resp: 'NOAUTH', message: 'Authentication required: send a token.' },
  auth_invalid: { status: 403, resp: 'WRONGPASS', message: 'The token is not valid.' },
  forbidden: { status: 403, resp: 'NOPERM', message: 'The token does not allow this operation on this key.' },
  token_revoked: {
    status: 403,
    resp: 'WRONGPASS',
    message: 'The token of this stream or connection was revoked or has expired.',
  },
  not_found: { status: 404, resp: 'ERR', message: 'No such key.' },
  token_not_found: { status: 404, resp: 'ERR', message: 'No such token.' },
  version_not_kept: { status: 404, resp: 'ERR', message: 'The key history keeps no such version.' },
  route_not_found: { status: 404, resp: 'ERR', message: 'No such route.' },
  method_not_allowed: { status: 405, resp: 'ERR', message: 'Method not allowed on this route.' },
  request_timeout: { status: 408, resp: 'ERR', message: 'The request was not received in time.' },
  txn_check_failed: { status: 409, resp: 'ERR', message: 'A transaction check failed; nothing was written.' },
  too_many_tokens: { status: 409, resp: 'ERR', message: 'The store holds the most tokens it may; revoke one first.' },
  history_not_kept: {
    status: 410,
    resp: 'ERR',
    message: 'The point in time is older than the history kept.',
  },
  history_compacted: {
    status: 410,
    resp: 'ERR',
    message: 'The requested revision was compacted out of the change log.',
  },
  version_mismatch: { status: 412, resp: 'ERR', message: "The key's current version does not match If-Match." },
  key_exists: { status: 412, resp: 'ERR', message: 'The key exists and If-None-Match: * was given.' },
  value_too_large: { status: 413, resp: 'ERR', message: 'The value is larger than the configured maximum.' },
  body_too_large: { status: 413, resp: 'ERR', message: 'The request body is larger than the configured maximum.' },
  batch_too_large: { status: 413, resp: 'ERR', message: 'Too many keys or operations in one request.' },
  restore_too_large: {
    status: 413,
    resp: 'ERR',
    message: 'The restore would examine or write more keys than one restore may; give a narrower prefix.',
  },
  txn_too_large: { status: 413, resp: 'ERR', message: 'The transaction is larger than the configured maximum size.' },
  uri_too_long: { status: 414, resp: 'ERR', message: 'The request URL is longer than the configured maximum.' },
  unsupported_media_type: { status: 415, resp: 'ERR', message: 'The request body type is not supported here.' },
  too_many_auth_failures: {
    status: 429,
    resp: 'ERR',
    message: 'Too many failed authentication attempts; retry later.',
  },
  record_damaged: {
    status: 500,
    resp: 'ERR',
    message: 'The stored record failed its checksum; it is not served. Run `kvs check` and restore from an export.',
  },
  internal: { status: 500, resp: 'ERR', message: 'Internal server error.' },
  history_unavailable: {
    status: 501,
    resp: 'ERR',
    message: 'This server keeps no per-key history (its engine does not, or --history-versions is 0).',
  },
  unavailable: { status: 503, resp: 'ERR', message: 'The storage engine is unavailable.' },
  too_many_connections: { status: 503, resp: 'ERR', message: 'Too many open connections.' },
  shutting_down: { status: 503, resp: 'ERR', message: 'The server is shutting down.' },
  insufficient_storage: {
    status: 507,
    resp: 'ERR',
    message: 'The disk is full; nothing was saved. Writes resume by themselves once space is freed.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

/**
 * The coded reasons `kvs serve` refuses to start on its configuration: it prints one line
 * `kvs: <code>: <what is wrong>; <what to do>` and exits 2 (docs/errors.md, "Start-up refusals").
 */
export const startupRefusalCatalogue = {
  limit_above_store: 'A limit given is above what the store can take in one commit.',
} as const satisfies Record<string, string>;

export type StartupRefusalCode = keyof typeof startupRefusalCatalogue;

export class KvsError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly resp: string;
  /** Extra machine-readable fields rendered next to code and message (limits, current version, ...). */
  readonly details: Readonly<Record<string, unknown>>;
  /** Response headers the HTTP front end should add (Retry-After, ETag, ...). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message?: string,
    details: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    const spec: ErrorSpec = errorCatalogue[code];
    super(message ?? spec.message);
    this.name = 'KvsError';
    this.code = code;
    this.status = spec.status;
    this.resp = spec.resp;
    this.details = details;
    this.headers = headers;
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isKvsError(error: unknown): error is KvsError {
  return error instanceof KvsError;
}
