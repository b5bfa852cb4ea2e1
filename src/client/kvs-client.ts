// A typed client for the kvs HTTP API (REST v1, watch, and the seed routes) over fetch.
// Every non-2xx answer becomes a KvsClientError with the server's error code.

import { KvsClientError, errorFromResponse } from './errors.js';
import { SseParser } from './sse-parser.js';
import type {
  AuditPage,
  AuditQuery,
  CreatedToken,
  CreateTokenOptions,
  DeletedKeyRecord,
  DeletedPage,
  DeletedQuery,
  DeleteOptions,
  DiffQuery,
  DiffResult,
  HistoryQuery,
  KeyHistoryPage,
  KeyVersionRecord,
  KeyVersionValue,
  FolderPage,
  FoldersOptions,
  KeyMetadata,
  KvsClientOptions,
  KvsEntry,
  ListItem,
  ListOptions,
  ListPage,
  PutOptions,
  PutResult,
  RequestOptions,
  RevertOptions,
  SeedValue,
  TxnOperation,
  TxnRequest,
  TokenInfo,
  TxnResult,
  VersionSelector,
  WatchEvent,
  WatchOptions,
  WhoAmI,
} from './types.js';

interface RequestSpec {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string | undefined>;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  readonly signal?: AbortSignal | undefined;
  /** Statuses that are answers rather than errors (e.g. 404 for get). */
  readonly accept?: readonly number[];
}

const DEFAULT_RETRY_MS = 1000;

export class KvsClient {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly extraHeaders: Readonly<Record<string, string>>;

  constructor(options: KvsClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.token = options.token === '' ? undefined : options.token;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.extraHeaders = options.headers ?? {};
  }

  // ---- REST v1 keys --------------------------------------------------------------------

  /** The value and metadata of a key, or undefined when it does not exist. */
  async get(key: string, options: RequestOptions = {}): Promise<KvsEntry | undefined> {
    const response = await this.request({ method: 'GET', path: keyPath(key), signal: options.signal, accept: [404] });
    if (response.status === 404) {
      // A 404 for the key is an answer; a 404 for anything else (wrong URL) is an error.
      const error = await errorFromResponse(response);
      if (error.code === 'not_found') return undefined;
      throw error;
    }
    const value = Buffer.from(await response.arrayBuffer());
    return {
      key,
      value,
      contentType: response.headers.get('content-type') ?? '',
      version: intHeader(response, 'kvs-version'),
      createRevision: intHeader(response, 'kvs-create-revision'),
      modRevision: intHeader(response, 'kvs-revision'),
      updated: dateHeader(response, 'last-modified'),
      expires: optionalDateHeader(response, 'kvs-expires'),
    };
  }

  /** The value of a key decoded as UTF-8, or undefined when it does not exist. */
  async getText(key: string, options: RequestOptions = {}): Promise<string | undefined> {
    return (await this.get(key, options))?.value.toString('utf8');
  }

  async put(key: string, value: string | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const headers: Record<string, string> = {};
    // No Content-Type unless asked: the server then stores none and serves its text default.
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
    if (options.ifVersion !== undefined) headers['if-match'] = `"${options.ifVersion}"`;
    if (options.ifAbsent) headers['if-none-match'] = '*';
    const response = await this.request({
      method: 'PUT',
      path: keyPath(key),
      query: {
        ttl: options.ttl === undefined ? undefined : String(options.ttl),
        keepTtl: options.keepTtl === true ? 'true' : undefined,
      },
      headers,
      // A Buffer, never a string: fetch would add its own text/plain Content-Type to a string.
      body: typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
      signal: options.signal,
    });
    return parseMetadata(await readJson(response));
  }

  /** Deletes a key; false when it did not exist. */
  async delete(key: string, options: DeleteOptions = {}): Promise<boolean> {
    const headers: Record<string, string> = {};
    if (options.ifVersion !== undefined) headers['if-match'] = `"${options.ifVersion}"`;
    const response = await this.request({
      method: 'DELETE',
      path: keyPath(key),
      headers,
      signal: options.signal,
      accept: [404],
    });
    if (response.status === 404) {
      const error = await errorFromResponse(response);
      if (error.code === 'not_found') return false;
      throw error;
    }
    await response.arrayBuffer();
    return true;
  }

  /** One page of the ordered listing. */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const response = await this.request({
      method: 'GET',
      path: '/v1/kv',
      query: {
        prefix: options.prefix || undefined,
        after: options.after,
        limit: options.limit === undefined ? undefined : String(options.limit),
        values: options.values ? '1' : undefined,
        match: options.match,
      },
      signal: options.signal,
    });
    const body = asRecord(await readJson(response), 'listing');
    if (!Array.isArray(body.items)) throw invalidResponse('listing without items');
    return {
      items: body.items.map(parseListItem),
      next: typeof body.next === 'string' ? body.next : null,
      revision: asInteger(body.revision, 'revision'),
    };
  }

  /** Every key under a prefix, following the listing's cursor page by page. */
  async *listAll(options: Omit<ListOptions, 'after'> = {}): AsyncGenerator<ListItem, void, undefined> {
    let after: string | undefined;
    for (;;) {
      const page = await this.list({ ...options, after });
      yield* page.items;
      // A page may be empty and still have a cursor: the server passes over a bounded number of
      // expired keys per page (docs/limits.md). A cursor that does not move ends the walk.
      if (page.next === null || page.next === after) return;
      after = page.next;
    }
  }

  /** All-or-nothing transaction; a failed check throws KvsClientError code txn_check_failed (details.failed names it). */
  async txn(request: TxnRequest): Promise<TxnResult> {
    const document = {
      checks: request.checks ?? [],
      operations: request.operations.map(encodeOperation),
    };
    const response = await this.request({
      method: 'POST',
      path: '/v1/txn',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(document),
      signal: request.signal,
    });
    const body = asRecord(await readJson(response), 'txn result');
    return {
      revision: asInteger(body.revision, 'revision'),
      puts: Array.isArray(body.puts) ? body.puts.map(parseMetadata) : [],
      deleted: Array.isArray(body.deleted) ? body.deleted.filter((key): key is string => typeof key === 'string') : [],
    };
  }

  // ---- watch ------------------------------------------------------------------------------

  /**
   * Change events under a prefix from the Server-Sent Events stream. A dropped stream is
   * reopened with Last-Event-ID so no event is lost or repeated; a compacted history ends the
   * iteration with KvsClientError code history_compacted. Abort `signal` (or break) to stop.
   */
  async *watch(options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) return;
    let lastEventId: string | undefined;
    let serverRetryMs: number | undefined;
    let failures = 0;
    try {
      while (!stop.signal.aborted) {
        const parser = new SseParser();
        try {
          const response = await this.request({
            method: 'GET',
            path: '/v1/watch',
            query: {
              prefix: options.prefix || undefined,
              since: options.since === undefined ? undefined : String(options.since),
              values: options.values ? '1' : undefined,
            },
            headers: {
              accept: 'text/event-stream',
              ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
            },
            signal: stop.signal,
          });
          if (response.body === null) throw invalidResponse('watch stream without a body');
          const decoder = new TextDecoder('utf-8');
          for await (const chunk of response.body) {
            for (const message of parser.feed(decoder.decode(chunk, { stream: true }))) {
              if (message.lastEventId !== '') lastEventId = message.lastEventId;
              const event = parseWatchEvent(message.event, message.data);
              if (event === undefined) continue;
              failures = 0;
              yield event;
            }
          }
        } catch (error) {
          if (stop.signal.aborted) return;
          if (!isTransient(error)) throw error;
          failures++;
          if (options.maxRetries !== undefined && failures > options.maxRetries) throw error;
        }
        serverRetryMs = parser.retryMs ?? serverRetryMs;
        await delay(options.retryDelayMs ?? serverRetryMs ?? DEFAULT_RETRY_MS, stop.signal);
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  // ---- seed routes ------------------------------------------------------------------------

  /**
   * The seed's `GET /?k=K1,K2,...`: the value of the most recently updated key among `keys`
   * that exists, or undefined when none does. Keys containing commas cannot be named here.
   */
  async seedGet(keys: readonly string[], options: RequestOptions = {}): Promise<SeedValue | undefined> {
    if (keys.length === 0) throw new KvsClientError(0, 'invalid_key', 'seedGet needs at least one key');
    const response = await this.request({
      method: 'GET',
      path: '/',
      query: { k: keys.join(',') },
      signal: options.signal,
      accept: [404],
    });
    if (response.status === 404) {
      await response.arrayBuffer();
      return undefined;
    }
    const value = Buffer.from(await response.arrayBuffer());
    return {
      key: response.headers.get('kvs-key') ?? keys[0]!,
      value,
      contentType: response.headers.get('content-type') ?? '',
    };
  }

  /** The seed's `POST /` form: every pair saved in one atomic transaction. */
  async seedPost(
    pairs: Readonly<Record<string, string>> | Iterable<readonly [string, string]>,
    options: RequestOptions = {},
  ): Promise<void> {
    const form = new URLSearchParams();
    const entries = Symbol.iterator in pairs ? (pairs as Iterable<readonly [string, string]>) : Object.entries(pairs);
    for (const [key, value] of entries) form.append(key, value);
    const response = await this.request({
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: options.signal,
    });
    await response.arrayBuffer();
  }

  /** The folders under a prefix (the next path segment up to '/'), each with its key count. */
  async folders(options: FoldersOptions = {}): Promise<FolderPage> {
    const response = await this.request({
      method: 'GET',
      path: '/v1/folders',
      query: {
        prefix: options.prefix || undefined,
        after: options.after,
        limit: options.limit === undefined ? undefined : String(options.limit),
      },
      signal: options.signal,
    });
    const body = asRecord(await readJson(response), 'folders');
    if (!Array.isArray(body.folders)) throw invalidResponse('folders answer without folders');
    return {
      folders: body.folders.map((entry) => {
        const folder = asRecord(entry, 'folder');
        if (typeof folder.prefix !== 'string' || typeof folder.more !== 'boolean')
          throw invalidResponse('folder without prefix or more');
        return { prefix: folder.prefix, keys: asInteger(folder.keys, 'keys'), more: folder.more };
      }),
      next: typeof body.next === 'string' ? body.next : null,
      revision: asInteger(body.revision, 'revision'),
      storeKeys: body.storeKeys === null ? null : asInteger(body.storeKeys, 'storeKeys'),
    };
  }

  /** What this client's token may do, as the server sees it. */
  async whoami(options: RequestOptions = {}): Promise<WhoAmI> {
    const response = await this.request({ method: 'GET', path: '/v1/whoami', signal: options.signal });
    const body = asRecord(await readJson(response), 'whoami');
    const scope = body.scope;
    if (scope !== null && scope !== 'read' && scope !== 'write' && scope !== 'admin')
      throw invalidResponse(`whoami with scope ${String(scope)}`);
    if (!Array.isArray(body.prefixes) || !body.prefixes.every((prefix) => typeof prefix === 'string'))
      throw invalidResponse('whoami without prefixes');
    return {
      authenticated: body.authenticated === true,
      scope,
      prefixes: body.prefixes as string[],
      label: typeof body.label === 'string' ? body.label : null,
      privateReads: body.privateReads === true,
    };
  }

  // ---- audit trail (admin; docs/audit.md) --------------------------------------------------

  /** One page of the audit trail, newest first; `next` goes in `before` for the next page. */
  async audit(query: AuditQuery = {}): Promise<AuditPage> {
    const time = (value: Date | number | string | undefined) =>
      value === undefined ? undefined : value instanceof Date ? String(value.getTime()) : String(value);
    const response = await this.request({
      method: 'GET',
      path: '/v1/audit',
      query: {
        key: query.key,
        prefix: query.prefix,
        token: query.tokenId,
        since: time(query.since),
        until: time(query.until),
        before: query.before === undefined ? undefined : String(query.before),
        limit: query.limit === undefined ? undefined : String(query.limit),
      },
      signal: query.signal,
    });
    const body = asRecord(await readJson(response), 'audit page');
    if (!Array.isArray(body.entries)) throw invalidResponse('audit answer without entries');
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    return {
      entries: body.entries.map((item) => {
        const entry = asRecord(item, 'audit entry');
        if (typeof entry.via !== 'string' || !Array.isArray(entry.keys))
          throw invalidResponse('audit entry without via or keys');
        return {
          revision: asInteger(entry.revision, 'revision'),
          time: new Date(asInteger(entry.timeMs, 'timeMs')),
          tokenId: text(entry.tokenId),
          label: text(entry.label),
          via: entry.via,
          address: text(entry.address),
          keys: entry.keys.filter((key): key is string => typeof key === 'string'),
          keyCount: asInteger(entry.keyCount, 'keyCount'),
        };
      }),
      next: body.next === null || body.next === undefined ? null : asInteger(body.next, 'next'),
    };
  }

  // ---- per-key history (docs/history.md) ---------------------------------------------------

  /** One page of a key's history, newest first; `next` goes in `before` for the next page. */
  async history(key: string, query: HistoryQuery = {}): Promise<KeyHistoryPage> {
    const response = await this.request({
      method: 'GET',
      path: keyPath(key),
      query: {
        history: '',
        before: query.before === undefined ? undefined : String(query.before),
        limit: query.limit === undefined ? undefined : String(query.limit),
        values: query.values ? '1' : undefined,
      },
      signal: query.signal,
    });
    const body = asRecord(await readJson(response), 'history page');
    if (!Array.isArray(body.versions)) throw invalidResponse('history answer without versions');
    return {
      key,
      versions: body.versions.map(parseKeyVersion),
      next: body.next === null || body.next === undefined ? null : asInteger(body.next, 'next'),
    };
  }

  /** The value of the newest kept entry with this version number; a KvsClientError version_not_kept when none. */
  async getVersion(key: string, version: number, options: RequestOptions = {}): Promise<KeyVersionValue> {
    return this.keptValue(key, { version: String(version) }, options);
  }

  /** The value of the kept entry at exactly this revision; a KvsClientError version_not_kept when none. */
  async getRevision(key: string, revision: number, options: RequestOptions = {}): Promise<KeyVersionValue> {
    return this.keptValue(key, { revision: String(revision) }, options);
  }

  /** A line diff of two kept versions (`to`: the current value when left out). */
  async diff(key: string, query: DiffQuery): Promise<DiffResult> {
    const response = await this.request({
      method: 'GET',
      path: keyPath(key),
      query: {
        diff: '',
        ...selectorQuery(query.from, 'from', 'fromRevision'),
        ...selectorQuery(query.to, 'to', 'toRevision'),
      },
      signal: query.signal,
    });
    const body = asRecord(await readJson(response), 'diff');
    const side = (value: unknown, what: string) => {
      const record = asRecord(value, what);
      return {
        revision: asInteger(record.revision, `${what}.revision`),
        version: asInteger(record.version, `${what}.version`),
      };
    };
    return {
      key,
      from: side(body.from, 'from'),
      to: side(body.to, 'to'),
      binary: body.binary === true,
      tooLarge: body.tooLarge === true,
      patch: typeof body.patch === 'string' ? body.patch : null,
      added: typeof body.added === 'number' ? body.added : 0,
      removed: typeof body.removed === 'number' ? body.removed : 0,
      message: typeof body.message === 'string' ? body.message : null,
    };
  }

  /**
   * Writes a kept version's value (and content type) back as the key's next version; restores a
   * deleted key. `version` is a version number or `{ revision }`.
   */
  async revert(key: string, version: VersionSelector, options: RevertOptions = {}): Promise<PutResult> {
    const headers: Record<string, string> = {};
    if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
    const response = await this.request({
      method: 'POST',
      path: keyPath(key),
      query: selectorQuery(version, 'revert', 'revertRevision'),
      headers,
      signal: options.signal,
    });
    return parseMetadata(await readJson(response));
  }

  /** One page of deleted keys (restorable with `revert`), in key order; `next` goes in `after`. */
  async deleted(query: DeletedQuery = {}): Promise<DeletedPage> {
    const response = await this.request({
      method: 'GET',
      path: '/v1/deleted',
      query: {
        prefix: query.prefix,
        after: query.after,
        limit: query.limit === undefined ? undefined : String(query.limit),
      },
      signal: query.signal,
    });
    const body = asRecord(await readJson(response), 'deleted keys');
    if (!Array.isArray(body.keys)) throw invalidResponse('deleted keys answer without keys');
    return {
      keys: body.keys.map(parseDeletedKey),
      next: typeof body.next === 'string' ? body.next : null,
    };
  }

  private async keptValue(
    key: string,
    query: Record<string, string>,
    options: RequestOptions,
  ): Promise<KeyVersionValue> {
    const response = await this.request({ method: 'GET', path: keyPath(key), query, signal: options.signal });
    return {
      key,
      value: Buffer.from(await response.arrayBuffer()),
      contentType: response.headers.get('content-type') ?? '',
      version: intHeader(response, 'kvs-version'),
      revision: intHeader(response, 'kvs-revision'),
      time: dateHeader(response, 'last-modified'),
      expires: optionalDateHeader(response, 'kvs-expires'),
    };
  }

  // ---- tokens (admin; docs/tokens.md) --------------------------------------------------------

  /** Mints a token; the answer's `token` is the secret, which the server never shows again. */
  async createToken(options: CreateTokenOptions): Promise<CreatedToken> {
    const document: Record<string, unknown> = { scope: options.scope };
    if (options.label !== undefined) document.label = options.label;
    if (options.prefixes !== undefined && options.prefixes.length > 0) document.prefixes = options.prefixes;
    if (options.ttl !== undefined) document.ttl = options.ttl;
    if (options.expires !== undefined) document.expires = options.expires.toISOString();
    const response = await this.request({
      method: 'POST',
      path: '/v1/tokens',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(document),
      signal: options.signal,
    });
    const body = asRecord(await readJson(response), 'created token');
    if (typeof body.token !== 'string') throw invalidResponse('created token without a token');
    return { ...parseTokenInfo(body), token: body.token };
  }

  async listTokens(options: RequestOptions = {}): Promise<TokenInfo[]> {
    const response = await this.request({ method: 'GET', path: '/v1/tokens', signal: options.signal });
    const body = asRecord(await readJson(response), 'token list');
    if (!Array.isArray(body.tokens)) throw invalidResponse('token list without tokens');
    return body.tokens.map((token) => parseTokenInfo(asRecord(token, 'token')));
  }

  /** Revokes a token by id; a KvsClientError code token_not_found when there is none. */
  async revokeToken(id: string, options: RequestOptions = {}): Promise<void> {
    const response = await this.request({
      method: 'DELETE',
      path: `/v1/tokens/${encodeURIComponent(id)}`,
      signal: options.signal,
    });
    await response.arrayBuffer();
  }

  // ---- plumbing ---------------------------------------------------------------------------

  private async request(spec: RequestSpec): Promise<Response> {
    const url = new URL(this.url + spec.path);
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { ...this.extraHeaders, ...spec.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method: spec.method, headers, body: spec.body, signal: spec.signal });
    } catch (error) {
      if (spec.signal?.aborted) throw error;
      throw new KvsClientError(
        0,
        'connection_failed',
        `cannot reach ${this.url}: ${describeFetchFailure(error)}`,
        {},
        { cause: error },
      );
    }
    if (response.ok || spec.accept?.includes(response.status)) return response;
    throw await errorFromResponse(response);
  }
}

function parseTokenInfo(body: Record<string, unknown>): TokenInfo {
  const scope = body.scope;
  if (typeof body.id !== 'string' || (scope !== 'read' && scope !== 'write' && scope !== 'admin'))
    throw invalidResponse('token without an id or a scope');
  const optionalDate = (value: unknown, what: string) =>
    value === null || value === undefined ? null : asDate(value, what);
  return {
    id: body.id,
    label: typeof body.label === 'string' ? body.label : '',
    scope,
    prefixes: Array.isArray(body.prefixes) ? body.prefixes.filter((p): p is string => typeof p === 'string') : [],
    created: asDate(body.created, 'created'),
    expires: optionalDate(body.expires, 'expires'),
    lastUsed: optionalDate(body.lastUsed, 'lastUsed'),
  };
}

function keyPath(key: string): string {
  if (key === '') throw new KvsClientError(0, 'invalid_key', 'The key is empty.');
  try {
    return `/v1/kv/${encodeURIComponent(key)}`;
  } catch {
    throw new KvsClientError(0, 'invalid_key', 'The key is not valid Unicode (it has a lone surrogate).');
  }
}

function encodeOperation(operation: TxnOperation): Record<string, unknown> {
  if (operation.op === 'delete') return { op: 'delete', key: operation.key };
  const text = typeof operation.value === 'string';
  const encoded: Record<string, unknown> = {
    op: 'put',
    key: operation.key,
    value: text ? operation.value : (operation.value as Buffer).toString('base64'),
    encoding: text ? 'utf8' : 'base64',
  };
  if (operation.contentType != null) encoded.contentType = operation.contentType;
  if (operation.ttl !== undefined) encoded.ttl = operation.ttl;
  if (operation.expires !== undefined) encoded.expires = operation.expires.toISOString();
  return encoded;
}

function parseWatchEvent(type: string, data: string): WatchEvent | undefined {
  if (type !== 'put' && type !== 'delete' && type !== 'expire') return undefined;
  let body: Record<string, unknown>;
  try {
    body = asRecord(JSON.parse(data), 'watch event');
  } catch (error) {
    throw invalidResponse(`watch event is not JSON: ${(error as Error).message}`);
  }
  if (typeof body.key !== 'string') throw invalidResponse('watch event without a key');
  return {
    type,
    key: body.key,
    revision: asInteger(body.revision, 'revision'),
    version: typeof body.version === 'number' ? body.version : 0,
    value: typeof body.value === 'string' ? Buffer.from(body.value, 'base64') : undefined,
  };
}

function parseMetadata(value: unknown): KeyMetadata {
  const body = asRecord(value, 'key metadata');
  if (typeof body.key !== 'string') throw invalidResponse('metadata without a key');
  return {
    key: body.key,
    version: asInteger(body.version, 'version'),
    createRevision: asInteger(body.createRevision, 'createRevision'),
    modRevision: asInteger(body.modRevision, 'modRevision'),
    updated: asDate(body.updated, 'updated'),
    expires: body.expires === null || body.expires === undefined ? null : asDate(body.expires, 'expires'),
  };
}

function selectorQuery(
  selector: VersionSelector | undefined,
  byVersion: string,
  byRevision: string,
): Record<string, string> {
  if (selector === undefined) return {};
  return typeof selector === 'number' ? { [byVersion]: String(selector) } : { [byRevision]: String(selector.revision) };
}

function parseKeyVersion(value: unknown): KeyVersionRecord {
  const body = asRecord(value, 'history entry');
  const type = body.type;
  if (type !== 'put' && type !== 'delete' && type !== 'expire') throw invalidResponse('history entry without a type');
  const text = (field: unknown) => (typeof field === 'string' ? field : null);
  const who = body.who === null || body.who === undefined ? null : asRecord(body.who, 'who');
  return {
    revision: asInteger(body.revision, 'revision'),
    version: asInteger(body.version, 'version'),
    type,
    time: asDate(body.time, 'time'),
    size: asInteger(body.size, 'size'),
    contentType: text(body.contentType),
    expires: body.expires === null || body.expires === undefined ? null : asDate(body.expires, 'expires'),
    who:
      who === null
        ? null
        : { tokenId: text(who.token), label: text(who.label), via: text(who.via) ?? '', address: text(who.address) },
    value: typeof body.value === 'string' ? Buffer.from(body.value, 'base64') : undefined,
  };
}

function parseDeletedKey(value: unknown): DeletedKeyRecord {
  const body = asRecord(value, 'deleted key');
  const type = body.type;
  if (typeof body.key !== 'string' || (type !== 'delete' && type !== 'expire'))
    throw invalidResponse('deleted key without a key or a type');
  const lastPut = body.lastPut === null || body.lastPut === undefined ? null : asRecord(body.lastPut, 'lastPut');
  return {
    key: body.key,
    revision: asInteger(body.revision, 'revision'),
    time: asDate(body.time, 'time'),
    type,
    lastPut:
      lastPut === null
        ? null
        : {
            revision: asInteger(lastPut.revision, 'lastPut.revision'),
            version: asInteger(lastPut.version, 'lastPut.version'),
            size: asInteger(lastPut.size, 'lastPut.size'),
          },
  };
}

function parseListItem(value: unknown): ListItem {
  const body = asRecord(value, 'listing item');
  return {
    ...parseMetadata(body),
    size: asInteger(body.size, 'size'),
    contentType: typeof body.contentType === 'string' ? body.contentType : null,
    value: typeof body.value === 'string' ? Buffer.from(body.value, 'base64') : undefined,
  };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw invalidResponse(`expected JSON from the server, got ${JSON.stringify(text.slice(0, 80))}`);
  }
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidResponse(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function asInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidResponse(`${what} is not an integer`);
  return value;
}

function asDate(value: unknown, what: string): Date {
  const date = typeof value === 'string' || typeof value === 'number' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw invalidResponse(`${what} is not a date`);
  return date;
}

function intHeader(response: Response, name: string): number {
  const value = Number(response.headers.get(name));
  if (!Number.isInteger(value)) throw invalidResponse(`header ${name} is missing or not an integer`);
  return value;
}

function dateHeader(response: Response, name: string): Date {
  return asDate(response.headers.get(name), `header ${name}`);
}

function optionalDateHeader(response: Response, name: string): Date | null {
  const value = response.headers.get(name);
  return value === null ? null : asDate(value, `header ${name}`);
}

function invalidResponse(message: string): KvsClientError {
  return new KvsClientError(0, 'invalid_response', `unexpected answer from the server: ${message}`);
}

function describeFetchFailure(error: unknown): string {
  // undici reports "fetch failed" with the socket error as the cause.
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Dropped or refused connections and 5xx answers are retried; HTTP 4xx (410 history_compacted, 403, ...) and bad answers are final. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof KvsClientError)) return true;
  return error.code === 'connection_failed' || error.status >= 500;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
