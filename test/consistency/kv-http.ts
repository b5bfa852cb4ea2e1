// A thin test client for the REST v1 API over fetch: every call returns status, headers and the
// parsed body, so tests can compare whole answers. Deliberately not the product's own client
// (src/client/): the tests must not share code with what they check.

import { Agent, request as httpRequest } from 'node:http';

export interface Answer<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON when the answer is JSON, else undefined. */
  readonly json: T;
  /** The raw body as text. */
  readonly text: string;
  /** The raw body as bytes (values need not be UTF-8). */
  readonly bytes: Buffer;
}

export interface PutOptions {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
  readonly ttl?: number;
  readonly contentType?: string;
}

export interface EntryMeta {
  readonly key: string;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly updated: string;
  readonly expires: string | null;
  readonly size: number;
  readonly contentType: string | null;
  readonly value?: string;
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly [field: string]: unknown };
}

export interface TxnBody {
  readonly checks?: readonly (
    | { key: string; version: number }
    | { key: string; absent: true }
    | { key: string; exists: true }
  )[];
  readonly operations?: readonly (
    | { op: 'put'; key: string; value: string; encoding?: 'utf8' | 'base64'; ttl?: number; contentType?: string }
    | { op: 'delete'; key: string }
  )[];
}

/** Who made the commit of a history entry: its audit entry (docs/audit.md). */
export interface HistoryWho {
  readonly token: string | null;
  readonly label: string | null;
  readonly via: string;
  readonly address: string | null;
}

/** One entry of `GET /v1/kv/{key}?history` (docs/history.md). */
export interface HistoryVersion {
  readonly revision: number;
  readonly version: number;
  readonly type: 'put' | 'delete' | 'expire';
  readonly time: string;
  readonly size: number;
  readonly contentType: string | null;
  readonly expires: string | null;
  readonly who: HistoryWho | null;
  /** Base64, with values=1 and type put only. */
  readonly value?: string;
}

export interface HistoryPage {
  readonly key: string;
  readonly versions: HistoryVersion[];
  readonly next: number | null;
}

/** Names one history entry: the newest kept one with a version number, or the one at a revision. */
export type EntrySelector = { readonly version: number } | { readonly revision: number };

export interface DiffBody {
  readonly key: string;
  readonly from: { readonly revision: number; readonly version: number };
  readonly to: { readonly revision: number; readonly version: number };
  readonly binary: boolean;
  readonly tooLarge?: boolean;
  readonly message?: string;
  readonly patch?: string;
  readonly added?: number;
  readonly removed?: number;
}

export interface DeletedKeyItem {
  readonly key: string;
  readonly revision: number;
  readonly time: string;
  readonly type: 'delete' | 'expire';
  readonly lastPut: { readonly revision: number; readonly version: number; readonly size: number } | null;
}

export interface DeletedPage {
  readonly keys: DeletedKeyItem[];
  readonly next: string | null;
}

/** The point a snapshot or a restore resolved to (docs/history.md, "Point in time"). */
export interface PointBody {
  readonly revision: number;
  /** Its commit's time from the audit trail (ISO 8601), or null when the trail does not reach it. */
  readonly time: string | null;
}

/** One key of `GET /v1/snapshot`: its state at the point. */
export interface SnapshotItem {
  readonly key: string;
  readonly version: number;
  readonly modRevision: number;
  readonly expires: string | null;
  readonly size: number;
  readonly contentType: string | null;
  /** Base64, with values=1 only. */
  readonly value?: string;
}

export interface SnapshotBody {
  readonly at: PointBody;
  readonly items: SnapshotItem[];
  readonly next: string | null;
}

export interface RestoreChangeItem {
  readonly key: string;
  readonly action: 'put' | 'delete';
  readonly restoredRevision: number | null;
  readonly currentRevision: number | null;
}

export interface RestoreBody {
  readonly to: PointBody;
  readonly dryRun: boolean;
  readonly revision: number | null;
  readonly changes: RestoreChangeItem[];
}

/** A stored value may well be labelled application/json without being JSON: parse if it parses. */
function parseJson(headers: Headers, text: string): unknown {
  if (!(headers.get('content-type') ?? '').startsWith('application/json') || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function keyPath(key: string): string {
  return `/v1/kv/${encodeURIComponent(key)}`;
}

export class KvHttp {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async request<T = unknown>(
    method: string,
    path: string,
    init: { body?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...init.headers },
      body: init.body,
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    // Decoded as fetch's response.text() does (a leading BOM dropped, bad bytes replaced).
    const text = new TextDecoder().decode(bytes);
    return {
      status: response.status,
      headers: response.headers,
      json: parseJson(response.headers, text) as T,
      text,
      bytes,
    };
  }

  put(key: string, value: string | Buffer, options: PutOptions = {}): Promise<Answer<EntryMeta & ErrorBody>> {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'text/plain' };
    if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
    if (options.ifNoneMatch !== undefined) headers['if-none-match'] = options.ifNoneMatch;
    const query = options.ttl === undefined ? '' : `?ttl=${options.ttl}`;
    return this.request('PUT', keyPath(key) + query, { body: value, headers });
  }

  get(key: string): Promise<Answer<ErrorBody>> {
    return this.request('GET', keyPath(key));
  }

  head(key: string): Promise<Answer> {
    return this.request('HEAD', keyPath(key));
  }

  delete(key: string, ifMatch?: string): Promise<Answer<{ deleted: boolean; revision: number } & ErrorBody>> {
    return this.request('DELETE', keyPath(key), { headers: ifMatch === undefined ? {} : { 'if-match': ifMatch } });
  }

  txn(body: TxnBody): Promise<Answer<{ revision: number; puts: EntryMeta[]; deleted: string[] } & ErrorBody>> {
    return this.request('POST', '/v1/txn', {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  }

  async list(
    prefix: string,
    options: { values?: boolean; limit?: number } = {},
  ): Promise<{ items: EntryMeta[]; revision: number }> {
    const items: EntryMeta[] = [];
    let after: string | null = null;
    let revision = 0;
    do {
      const query = new URLSearchParams({ prefix, limit: String(options.limit ?? 1000) });
      if (options.values) query.set('values', '1');
      if (after !== null) query.set('after', after);
      const answer: Answer<{ items: EntryMeta[]; next: string | null; revision: number }> = await this.request(
        'GET',
        `/v1/kv?${query}`,
      );
      if (answer.status !== 200) throw new Error(`listing answered ${answer.status}: ${answer.text}`);
      items.push(...answer.json.items);
      after = answer.json.next;
      revision = answer.json.revision;
    } while (after !== null);
    return { items, revision };
  }

  /** `GET /v1/kv/{key}?history`: one page of the key's history, newest first. */
  history(
    key: string,
    options: { before?: number; limit?: number; values?: boolean } = {},
  ): Promise<Answer<HistoryPage & ErrorBody>> {
    let query = '?history';
    if (options.before !== undefined) query += `&before=${options.before}`;
    if (options.limit !== undefined) query += `&limit=${options.limit}`;
    if (options.values) query += '&values=1';
    return this.request('GET', keyPath(key) + query);
  }

  /** `GET /v1/kv/{key}?version=V` or `?revision=R`: one kept entry's value, served like a GET. */
  getEntry(key: string, entry: EntrySelector): Promise<Answer<ErrorBody>> {
    const query = 'version' in entry ? `?version=${entry.version}` : `?revision=${entry.revision}`;
    return this.request('GET', keyPath(key) + query);
  }

  /** `GET /v1/kv/{key}?diff&from=V1[&to=V2]` (or fromRevision/toRevision); `to` absent: the current value. */
  diff(key: string, from: EntrySelector, to?: EntrySelector): Promise<Answer<DiffBody & ErrorBody>> {
    let query = '?diff';
    query += 'version' in from ? `&from=${from.version}` : `&fromRevision=${from.revision}`;
    if (to !== undefined) query += 'version' in to ? `&to=${to.version}` : `&toRevision=${to.revision}`;
    return this.request('GET', keyPath(key) + query);
  }

  /** `POST /v1/kv/{key}?revert=V` (or revertRevision=R): writes that entry's value back as a new version. */
  revert(key: string, entry: EntrySelector, ifMatch?: string): Promise<Answer<EntryMeta & ErrorBody>> {
    const query = 'version' in entry ? `?revert=${entry.version}` : `?revertRevision=${entry.revision}`;
    return this.request('POST', keyPath(key) + query, {
      headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
    });
  }

  /** `GET /v1/deleted`: one page of the keys whose newest history entry is a delete or an expiry. */
  deleted(options: { prefix?: string; after?: string; limit?: number } = {}): Promise<Answer<DeletedPage & ErrorBody>> {
    const query = new URLSearchParams();
    if (options.prefix !== undefined) query.set('prefix', options.prefix);
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    return this.request('GET', `/v1/deleted?${query}`);
  }

  /** `GET /v1/snapshot?at=`: one page of the store as it was at a revision or a time. */
  snapshot(
    at: string,
    options: { prefix?: string; after?: string; limit?: number; values?: boolean } = {},
  ): Promise<Answer<SnapshotBody & ErrorBody>> {
    const query = new URLSearchParams({ at });
    if (options.prefix !== undefined) query.set('prefix', options.prefix);
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.values) query.set('values', '1');
    return this.request('GET', `/v1/snapshot?${query}`);
  }

  /** `POST /v1/restore?to=`: brings a prefix (or the whole store) back to a point, or lists what that would change. */
  restore(to: string, options: { prefix?: string; dryRun?: boolean } = {}): Promise<Answer<RestoreBody & ErrorBody>> {
    const query = new URLSearchParams({ to });
    if (options.prefix !== undefined) query.set('prefix', options.prefix);
    if (options.dryRun) query.set('dryRun', '1');
    return this.request('POST', `/v1/restore?${query}`);
  }

  /** Seed API read: GET /?k=KEY or GET /?k=K1,K2. */
  seedGet(keys: string): Promise<Answer> {
    return this.request('GET', `/?k=${encodeURIComponent(keys).replace(/%2C/g, ',')}`);
  }

  async revision(): Promise<number> {
    const answer = await this.request<{ revision: number }>('GET', '/readyz');
    return answer.json.revision;
  }

  /** A number from the Prometheus text of /metrics (first sample of that name and labels). */
  async metric(name: string): Promise<number> {
    const answer = await this.request('GET', '/metrics');
    const line = answer.text
      .split('\n')
      .find((candidate) => candidate.startsWith(`${name} `) || candidate.startsWith(`${name}{`));
    if (line === undefined) throw new Error(`metric ${name} not found`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
}

/** Repeats `probe` until it returns true, or throws after `timeoutMs` (no timing assertion: a deadline). */
export async function eventually(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * One request over a brand-new TCP connection (no keep-alive), so that with `--workers N` the
 * cluster's round-robin hands successive requests to different workers.
 */
export function requestOnNewConnection(
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const agent = new Agent({ keepAlive: false, maxSockets: 1 });
    const req = httpRequest(
      url,
      { method, agent, headers: { connection: 'close', ...options.headers } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          agent.destroy();
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        });
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
