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
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: parseJson(response.headers, text) as T, text };
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
