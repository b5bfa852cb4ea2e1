// The kvs HTTP API as the UI uses it: listing, reading, writing and deleting keys, and the watch
// stream. Errors come back as ApiError with the server's catalogue code.

import type {
  DeletedKeysJson,
  DiffJson,
  FolderPageJson,
  KeyHistoryJson,
  KeyInfo,
  KeyPage,
  WhoAmI,
} from './model/http-json.js';

/** A value with the metadata its GET answer carried. */
export interface StoredValue {
  readonly key: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly updated: Date;
  readonly expires: Date | null;
  readonly contentType: string;
}

export interface WriteResult {
  readonly key: string;
  readonly version: number;
  readonly modRevision: number;
}

export interface WriteOptions {
  readonly contentType: string;
  /** Seconds; undefined: no expiry. */
  readonly ttl?: number | undefined;
  /** Compare-and-swap on this version (If-Match). */
  readonly ifVersion?: number | undefined;
  /** Create only (If-None-Match: *). */
  readonly ifAbsent?: boolean | undefined;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// The API lives at the server's root; this module is served from <root>/ui/.
const apiRoot = new URL('../', import.meta.url);

function keyPath(key: string): string {
  return `v1/kv/${encodeURIComponent(key)}`;
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { code, message, ...details } = error as Record<string, unknown>;
    return new ApiError(response.status, String(code ?? 'unknown'), String(message ?? response.statusText), details);
  }
  return new ApiError(response.status, 'unknown', `${response.status} ${response.statusText}`);
}

export class KvsApi {
  constructor(private readonly token: () => string) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const token = this.token();
    return token === '' ? extra : { ...extra, authorization: `Bearer ${token}` };
  }

  private async send(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      // no-store: the API sends validators but no Cache-Control, so a browser could otherwise
      // reuse a heuristically fresh, stale value.
      response = await fetch(new URL(path, apiRoot), { cache: 'no-store', ...init });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the server.');
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async list(prefix: string, after: string | null, limit: number): Promise<KeyPage> {
    const query = new URLSearchParams({ prefix, limit: String(limit) });
    if (after !== null) query.set('after', after);
    const response = await this.send(`v1/kv?${query}`, { headers: this.headers() });
    return (await response.json()) as KeyPage;
  }

  /** Keys matching a glob pattern (Redis syntax); a page may be short and still have a `next`. */
  async search(pattern: string, after: string | null, limit: number): Promise<KeyPage> {
    const query = new URLSearchParams({ match: pattern, limit: String(limit) });
    if (after !== null) query.set('after', after);
    const response = await this.send(`v1/kv?${query}`, { headers: this.headers() });
    return (await response.json()) as KeyPage;
  }

  /** The folders under a prefix with their (capped) key counts, and the store's key count. */
  async folders(prefix: string, after: string | null): Promise<FolderPageJson> {
    const query = new URLSearchParams({ prefix });
    if (after !== null) query.set('after', after);
    const response = await this.send(`v1/folders?${query}`, { headers: this.headers() });
    return (await response.json()) as FolderPageJson;
  }

  /** What a token may do (the current one by default); a refused token is an ApiError. */
  async whoami(token = this.token()): Promise<WhoAmI> {
    const headers: Record<string, string> = token === '' ? {} : { authorization: `Bearer ${token}` };
    const response = await this.send('v1/whoami', { headers });
    return (await response.json()) as WhoAmI;
  }

  /** The key's current listing entry, or undefined when it does not exist. */
  async info(key: string): Promise<KeyInfo | undefined> {
    const page = await this.list(key, null, 1);
    const first = page.items[0];
    return first?.key === key ? first : undefined;
  }

  /** The value, or undefined when the key does not exist. */
  async read(key: string): Promise<StoredValue | undefined> {
    let response: Response;
    try {
      response = await this.send(keyPath(key), { headers: this.headers() });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const header = (name: string) => response.headers.get(name);
    const expires = header('kvs-expires');
    return {
      key,
      bytes,
      version: Number(header('kvs-version')),
      createRevision: Number(header('kvs-create-revision')),
      modRevision: Number(header('kvs-revision')),
      updated: new Date(header('last-modified') ?? Date.now()),
      expires: expires === null ? null : new Date(expires),
      contentType: header('content-type') ?? 'application/octet-stream',
    };
  }

  async write(key: string, bytes: Uint8Array<ArrayBuffer>, options: WriteOptions): Promise<WriteResult> {
    // The audit trail records the UI's writes as via `ui` (docs/audit.md).
    const headers: Record<string, string> = { 'x-kvs-client': 'ui' };
    if (options.contentType !== '') headers['content-type'] = options.contentType;
    if (options.ifVersion !== undefined) headers['if-match'] = `"${options.ifVersion}"`;
    if (options.ifAbsent === true) headers['if-none-match'] = '*';
    const query = options.ttl === undefined ? '' : `?ttl=${options.ttl}`;
    const response = await this.send(keyPath(key) + query, {
      method: 'PUT',
      headers: this.headers(headers),
      body: bytes,
    });
    return (await response.json()) as WriteResult;
  }

  async remove(key: string, ifVersion?: number): Promise<number> {
    const headers: Record<string, string> = { 'x-kvs-client': 'ui' };
    if (ifVersion !== undefined) headers['if-match'] = `"${ifVersion}"`;
    const response = await this.send(keyPath(key), { method: 'DELETE', headers: this.headers(headers) });
    const body = (await response.json()) as { revision: number };
    return body.revision;
  }

  /** One page of a key's history, newest first; `before` is the previous page's `next`. */
  async history(key: string, before: number | null, limit: number): Promise<KeyHistoryJson> {
    const query = new URLSearchParams({ history: '', limit: String(limit) });
    if (before !== null) query.set('before', String(before));
    const response = await this.send(`${keyPath(key)}?${query}`, { headers: this.headers() });
    return (await response.json()) as KeyHistoryJson;
  }

  /**
   * The line diff between two history entries, or between one and the current value (`to`
   * omitted). By revision: a version number may name several entries (versions restart at 1
   * after a delete), a revision names exactly one.
   */
  async diff(key: string, fromRevision: number, toRevision?: number): Promise<DiffJson> {
    const query = new URLSearchParams({ diff: '', fromRevision: String(fromRevision) });
    if (toRevision !== undefined) query.set('toRevision', String(toRevision));
    const response = await this.send(`${keyPath(key)}?${query}`, { headers: this.headers() });
    return (await response.json()) as DiffJson;
  }

  /**
   * Writes the value of the entry at `revision` back as a new version. `ifVersion` is the
   * version the user saw (0: the key is deleted), so a key changed since is refused with 412.
   */
  async revert(key: string, revision: number, ifVersion: number): Promise<WriteResult> {
    const headers = this.headers({ 'x-kvs-client': 'ui', 'if-match': `"${ifVersion}"` });
    const query = new URLSearchParams({ revertRevision: String(revision) });
    const response = await this.send(`${keyPath(key)}?${query}`, { method: 'POST', headers });
    return (await response.json()) as WriteResult;
  }

  /** Keys whose newest history entry is a delete or an expiry, in key order. */
  async deleted(prefix: string, after: string | null, limit: number): Promise<DeletedKeysJson> {
    const query = new URLSearchParams({ prefix, limit: String(limit) });
    if (after !== null) query.set('after', after);
    const response = await this.send(`v1/deleted?${query}`, { headers: this.headers() });
    return (await response.json()) as DeletedKeysJson;
  }

  /**
   * Opens the watch stream (Server-Sent Events) with the token in the Authorization header, as
   * every other request: never in the URL, where proxies and browser history would keep it.
   * Resolves with the open response once the server accepted the stream; a refusal is an ApiError.
   */
  async watch(prefix: string, since: number, signal: AbortSignal): Promise<Response> {
    const query = new URLSearchParams({ prefix, since: String(since) });
    return this.send(`v1/watch?${query}`, { headers: this.headers({ accept: 'text/event-stream' }), signal });
  }
}

const quoted = (key: string) => `“${key}”`;

/** A sentence for the user about a failed action. */
export function explain(error: unknown, key?: string): string {
  if (!(error instanceof ApiError))
    return `Something went wrong: ${error instanceof Error ? error.message : String(error)}`;
  const subject = key === undefined ? 'this' : quoted(key);
  switch (error.code) {
    case 'network':
      return 'Cannot reach the server. Check that it is running, then try again.';
    case 'auth_required':
      return 'This needs a token: enter one in the Token field above (writes always need one; a --private server needs one to read).';
    case 'auth_invalid':
      return 'The server rejected the token. Check it in the Token field above.';
    case 'forbidden':
      return `Your token does not allow this on ${subject} (its scope or key prefixes do not cover it).`;
    case 'too_many_auth_failures': {
      // The server says when the lockout ends (retryAfter, seconds; docs/errors.md).
      const seconds = error.details.retryAfter;
      const wait = typeof seconds === 'number' ? `retry in ${seconds} s` : 'wait a little and retry';
      return `Too many failed token attempts from this address; ${wait}.`;
    }
    case 'version_mismatch': {
      const current = error.details.currentVersion;
      const now =
        typeof current === 'number' && current > 0
          ? ` (it is now at version ${current})`
          : current === 0
            ? ' (it was deleted)'
            : '';
      return `Conflict: ${subject} was changed by someone else after you opened it${now}, so nothing was changed.`;
    }
    case 'key_exists':
      return `${subject} already exists, so nothing was saved. Open it from the list to edit it.`;
    case 'value_too_large':
    case 'body_too_large': {
      const limit = error.details.limit;
      return `The value is too large${typeof limit === 'number' ? `: the server accepts at most ${limit} bytes` : ''}. Nothing was saved.`;
    }
    case 'key_too_long':
      return `The key is too long${typeof error.details.limit === 'number' ? ` (at most ${error.details.limit} bytes of UTF-8)` : ''}.`;
    case 'not_found':
      return `${subject} does not exist (any more).`;
    case 'version_not_kept':
      return `That version of ${subject} is no longer kept in its history.`;
    case 'history_unavailable':
      return 'This server keeps no history of keys (its storage engine has none).';
    default:
      return `${error.message} (${error.code}, HTTP ${error.status})`;
  }
}
