// The one core service that every front end (HTTP, RESP, CLI through HTTP) calls. It validates
// input against the limits, checks what the caller may do, turns requests into engine
// transactions, and knows nothing of HTTP or RESP.

import type { AuditQuery, Engine, ListOptions, ListPage } from '../storage/index.js';
import { compareKeys } from '../model/key-order.js';
import type { AuthFailureLimiter } from './auth-limiter.js';
import { KvsError } from './errors.js';
import {
  type FolderCounter,
  type FolderPage,
  listFolders,
  MAX_FOLDERS_PER_PAGE,
  type PageReader,
  searchKeys,
} from './key-browsing.js';
import { noObserver, type ServiceObserver } from './service-observer.js';
import { fromStorageError } from './storage-errors.js';
import {
  historyEngine,
  type PointInTimeTarget,
  type ResolvedPoint,
  type RestoreChange,
  resolvePoint,
  restoreChanges,
  type SnapshotPage,
  snapshotPage,
} from './point-in-time.js';
import type { Limits } from './limits.js';
import { MAX_EXPIRES_MS } from '../model/time.js';
import type { AuditEntry, WriteOrigin, WriteVia } from '../model/audit.js';
import type { DeletedKey, KeyVersion } from '../model/history.js';
import { HISTORY_PAGE_MAX, HISTORY_VERSIONS_MAX } from '../storage/index.js';
import { DiffRunner } from './diff-runner.js';
import type { ValueDiff } from './value-diff.js';
import type { CommitResult, Condition, Operation, Txn } from '../model/txn.js';
import type { Entry, EntryInfo } from '../model/entry.js';
import type { Action, Principal, Scope, TokenStore } from './tokens.js';
import {
  MAX_TOKEN_LABEL,
  MAX_TOKEN_PREFIXES,
  MAX_TOKEN_TTL_SECONDS,
  TokenRegistry,
  type TokenInfo,
} from './token-registry.js';

/** Who is asking: the principal of a valid token, or undefined for an anonymous caller. */
export interface Caller {
  readonly principal: Principal | undefined;
  /** The front end the caller came through, for the audit trail ('v1' when unset). */
  readonly via?: WriteVia;
  /** The client's address, for the audit trail. */
  readonly address?: string | null;
}

export const anonymous: Caller = { principal: undefined };

export interface ServiceOptions {
  readonly limits: Limits;
  /** Reads need a token too (`--private`). */
  readonly privateReads: boolean;
  /** The token file's tokens; minted tokens live in the engine (token-registry.ts). */
  readonly tokens: TokenStore;
  readonly authLimiter: AuthFailureLimiter;
  readonly clock?: () => number;
  /** Told of commits and refused tokens (the metrics); nothing by default. */
  readonly observer?: ServiceObserver;
}

export interface PutOptions {
  readonly contentType?: string | null;
  /** Time to live in seconds; undefined or null for none. */
  readonly ttlSeconds?: number | null;
  /** Absolute expiry in ms (RESP EXAT/PXAT); wins over ttlSeconds. */
  readonly expiresAt?: number | null;
  /** Keep the key's current expiry. */
  readonly keepTtl?: boolean;
  /** Compare-and-swap: write only if the key's version is this (0 = absent). */
  readonly ifVersion?: number;
  /** Create only. */
  readonly ifAbsent?: boolean;
  /** Update only. */
  readonly ifExists?: boolean;
}

/** A check of POST /v1/txn, as the core understands it. */
export type TxnCheck = Condition;

export type TxnOperation =
  | {
      readonly type: 'put';
      readonly key: string;
      readonly value: Buffer;
      readonly contentType?: string | null;
      readonly ttlSeconds?: number | null;
      readonly expiresAt?: number | null;
      readonly keepTtl?: boolean;
    }
  | { readonly type: 'delete'; readonly key: string };

export interface Page<T> {
  readonly items: T[];
  /** Pass as `after` to get the next page; null on the last page. */
  readonly next: string | null;
}

/**
 * A query of the audit trail (GET /v1/audit, `kvs audit`): the engine's time and revision bounds
 * (`before` is the `next` of the previous answer), plus filters the service applies.
 */
export interface AuditRequest extends Omit<AuditQuery, 'limit'> {
  /** Only entries that name this key. */
  readonly key?: string | undefined;
  /** Only entries that name a key starting with this. */
  readonly prefix?: string | undefined;
  /** Only entries of this token id. */
  readonly token?: string | undefined;
  /** Entries the answer holds at most (the engine's `limit` counts entries examined). */
  readonly limit: number;
}

export interface AuditAnswer {
  readonly entries: AuditEntry[];
  /** Pass as `before` for the next page; null when no older entry is left. */
  readonly next: number | null;
}

/** Entries one audit answer examines at most (docs/limits.md). */
export const AUDIT_SCAN_MAX = 10_000;

/** Keys a restore examines at most (docs/limits.md): its cost is bounded whatever the prefix holds. */
export const RESTORE_SCAN_MAX = 100_000;
/** Entries read from the engine per step of an audit answer. */
const AUDIT_SCAN_CHUNK = 1000;
/** Entries one audit answer holds at most, and by default. */
export const AUDIT_PAGE_MAX = 1000;
export const AUDIT_PAGE_DEFAULT = 100;

function auditMatcher(query: AuditRequest): (entry: AuditEntry) => boolean {
  const { key, prefix, token } = query;
  return (entry) =>
    (token === undefined || entry.tokenId === token) &&
    (key === undefined || entry.keys.includes(key)) &&
    (prefix === undefined || entry.keys.some((named) => named.startsWith(prefix)));
}

/** A version of a key's history, by its version number (the newest entry with it) or its revision. */
export type VersionRef = { readonly version: number } | { readonly revision: number };

/** A history entry with the origin of its commit (the audit entry of its revision), or null when not kept. */
export interface KeyVersionWithWho extends KeyVersion {
  readonly who: WriteOrigin | null;
}

export interface KeyHistoryAnswer {
  readonly versions: KeyVersionWithWho[];
  /** Pass as `before` for the next page; null when no older entry is left. */
  readonly next: number | null;
}

/** The entries compared by a diff, and the verdict (value-diff.ts). */
export interface DiffAnswer {
  readonly from: { readonly revision: number; readonly version: number };
  readonly to: { readonly revision: number; readonly version: number };
  readonly diff: ValueDiff;
}

/** History entries one key history answer holds by default (at most HISTORY_PAGE_MAX). */
export const HISTORY_PAGE_DEFAULT = 100;

export interface TxnSuccess {
  readonly revision: number;
  readonly puts: readonly EntryInfo[];
  readonly deleted: readonly string[];
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export class KvService {
  readonly limits: Limits;
  private readonly clock: () => number;
  private readonly observer: ServiceObserver;
  /** Every token: the file's and the minted ones (docs/tokens.md). */
  readonly tokens: TokenRegistry;
  private readonly diffRunner = new DiffRunner();

  constructor(
    readonly engine: Engine,
    private readonly options: ServiceOptions,
  ) {
    this.limits = options.limits;
    this.clock = options.clock ?? Date.now;
    this.observer = options.observer ?? noObserver;
    this.tokens = new TokenRegistry(engine.system, options.tokens, this.clock);
  }

  get privateReads(): boolean {
    return this.options.privateReads;
  }

  now(): number {
    return this.clock();
  }

  // ---- authentication and authorization -------------------------------------------------

  /**
   * Resolves a presented token. `client` identifies the peer (its address) for the failure
   * rate limit (auth-limiter.ts). No token: anonymous. A wrong token: auth_invalid, or
   * too_many_auth_failures while the address or the store is locked; a right token is refused
   * then too, unless it authenticated from this address before the lock.
   */
  authenticate(token: string | undefined, client: string, via: WriteVia = 'v1'): Caller {
    if (token === undefined || token === '') return anonymous;
    const limiter = this.options.authLimiter;
    const principal = this.tokens.authenticate(token);
    const retryAfter = limiter.retryAfter(client);
    if (retryAfter > 0 && (principal === undefined || !limiter.knownGood(client, principal.grant.label))) {
      this.observer.rateLimited();
      throw new KvsError('too_many_auth_failures', undefined, { retryAfter }, limiter.headers(client));
    }
    if (principal === undefined) {
      limiter.recordFailure(client);
      this.observer.authFailed();
      // A failure counts against the limit: the answer says how many are left (docs/limits.md).
      throw new KvsError('auth_invalid', undefined, {}, limiter.headers(client));
    }
    limiter.recordSuccess(client, principal.grant.label);
    return { principal, via, address: client };
  }

  /**
   * The caller authenticate() would return, or undefined where it would refuse, recording
   * no failure: the HTTP fast paths decline then, and the full route answers and counts the
   * failure once.
   */
  callerIfValid(token: string | undefined, client: string, via: WriteVia = 'v1'): Caller | undefined {
    if (token === undefined || token === '') return anonymous;
    const principal = this.tokens.authenticate(token);
    if (principal === undefined) return undefined;
    const limiter = this.options.authLimiter;
    if (limiter.retryAfter(client) > 0 && !limiter.knownGood(client, principal.grant.label)) return undefined;
    limiter.recordSuccess(client, principal.grant.label);
    return { principal, via, address: client };
  }

  /**
   * callerIfValid for a request presenting the same token as the request `previous` came from
   * (a keep-alive connection's next read), without hashing the token again: the same refusals
   * (a revoked or expired token, a locked address) and the same success recorded.
   */
  callerIfStillValid(previous: Caller): Caller | undefined {
    const principal = previous.principal;
    if (principal === undefined) return previous;
    if (this.tokens.reauthenticate(principal) === undefined) return undefined;
    const client = previous.address ?? '';
    const limiter = this.options.authLimiter;
    if (limiter.retryAfter(client) > 0 && !limiter.knownGood(client, principal.grant.label)) return undefined;
    limiter.recordSuccess(client, principal.grant.label);
    return previous;
  }

  /**
   * Whether a caller that authenticated earlier (an open watch stream, a RESP connection) still
   * holds a live token: false once its token was revoked or expired.
   */
  stillValid(caller: Caller): boolean {
    return caller.principal === undefined || this.tokens.isLive(caller.principal);
  }

  /**
   * Token management is for admin tokens on every key only: a token limited to prefixes, or
   * a write token, could otherwise mint a token wider than itself (docs/tokens.md).
   */
  private authorizeTokenAdmin(caller: Caller): void {
    this.authorize(caller, 'admin');
    if (!caller.principal!.unrestricted) throw new KvsError('forbidden');
  }

  /** Mints a token (docs/tokens.md); the secret is in the answer only. */
  async mintToken(
    caller: Caller,
    request: { label: string; scope: Scope; prefixes: readonly string[]; ttlSeconds?: number; expires?: number },
  ): Promise<{ secret: string; info: TokenInfo }> {
    this.authorizeTokenAdmin(caller);
    if (request.label.length > MAX_TOKEN_LABEL || /[\x00-\x1f\x7f]/.test(request.label))
      throw new KvsError(
        'bad_request',
        `A label is at most ${MAX_TOKEN_LABEL} characters, without control characters.`,
        {
          limit: MAX_TOKEN_LABEL,
        },
      );
    if (request.prefixes.length > MAX_TOKEN_PREFIXES)
      throw new KvsError('bad_request', `A token has at most ${MAX_TOKEN_PREFIXES} prefixes.`, {
        limit: MAX_TOKEN_PREFIXES,
        size: request.prefixes.length,
      });
    for (const prefix of request.prefixes) {
      if (prefix === '') throw new KvsError('bad_request', 'A prefix is not empty (leave out prefixes for every key).');
      this.validateKey(prefix);
    }
    const now = this.clock();
    let expires: number | null = null;
    if (request.ttlSeconds !== undefined && request.expires !== undefined)
      throw new KvsError('bad_request', 'Give ttl or expires, not both.');
    if (request.ttlSeconds !== undefined) {
      if (
        !Number.isSafeInteger(request.ttlSeconds) ||
        request.ttlSeconds <= 0 ||
        request.ttlSeconds > MAX_TOKEN_TTL_SECONDS
      )
        throw new KvsError(
          'invalid_ttl',
          `A token ttl is a whole number of seconds from 1 to ${MAX_TOKEN_TTL_SECONDS}.`,
        );
      expires = now + request.ttlSeconds * 1000;
    }
    if (request.expires !== undefined) {
      if (
        !Number.isFinite(request.expires) ||
        request.expires <= now ||
        request.expires > now + MAX_TOKEN_TTL_SECONDS * 1000
      )
        throw new KvsError('invalid_ttl', 'A token expiry must be a time in the future, at most ten years ahead.');
      expires = request.expires;
    }
    try {
      return await this.tokens.mint({
        label: request.label,
        scope: request.scope,
        prefixes: request.prefixes,
        expires,
      });
    } catch (error) {
      throw fromStorageError(error);
    }
  }

  listTokens(caller: Caller): TokenInfo[] {
    this.authorizeTokenAdmin(caller);
    return this.tokens.list();
  }

  async revokeToken(caller: Caller, id: string): Promise<void> {
    this.authorizeTokenAdmin(caller);
    let removed: boolean;
    try {
      removed = await this.tokens.revoke(id);
    } catch (error) {
      throw fromStorageError(error);
    }
    if (!removed) throw new KvsError('token_not_found');
  }

  /**
   * The one authorization rule: whether the caller may do `action` (on `key`, when given).
   * authorize() enforces it; the HTTP write fast path asks it before taking a request.
   */
  may(caller: Caller, action: Action, key?: string): boolean {
    if (action === 'read' && !this.options.privateReads) return true;
    return caller.principal?.allows(action, key) ?? false;
  }

  /** Throws unless the caller may do `action` (on `key`, when given). */
  authorize(caller: Caller, action: Action, key?: string): void {
    if (this.may(caller, action, key)) return;
    throw new KvsError(caller.principal === undefined ? 'auth_required' : 'forbidden');
  }

  /** Whether the caller may read `key` (for filtering listings without throwing). */
  mayRead(caller: Caller, key: string): boolean {
    return this.may(caller, 'read', key);
  }

  // ---- validation ------------------------------------------------------------------------

  validateKey(key: string): void {
    if (key.length === 0) throw new KvsError('invalid_key', 'The key is empty.');
    // A lone surrogate cannot be encoded as UTF-8: it came from invalid bytes or %-escapes.
    if (LONE_SURROGATE.test(key)) throw new KvsError('invalid_key', 'The key is not valid UTF-8.');
    // UTF-16 length <= UTF-8 length <= 3 * UTF-16 length: count bytes only when it can matter.
    if (key.length * 3 > this.limits.maxKeyBytes) {
      const bytes = Buffer.byteLength(key, 'utf8');
      if (bytes > this.limits.maxKeyBytes) {
        throw new KvsError('key_too_long', undefined, { limit: this.limits.maxKeyBytes, size: bytes });
      }
    }
  }

  validateValue(value: Buffer): void {
    if (value.length > this.limits.maxValueBytes) {
      throw new KvsError('value_too_large', undefined, { limit: this.limits.maxValueBytes, size: value.length });
    }
  }

  validateBatch(count: number): void {
    if (count > this.limits.maxBatch) {
      throw new KvsError('batch_too_large', undefined, { limit: this.limits.maxBatch, size: count });
    }
  }

  private validateContentType(contentType: string | null | undefined): void {
    if (contentType === null || contentType === undefined) return;
    if (contentType.length > this.limits.maxContentTypeBytes || !/^[\x20-\x7e]*$/.test(contentType)) {
      throw new KvsError(
        'bad_request',
        `Content-Type must be printable ASCII of at most ${this.limits.maxContentTypeBytes} bytes.`,
      );
    }
  }

  /**
   * The absolute expiry of a write, bounded by MAX_EXPIRES_MS for every front end: an expiry
   * past it could not be shown as a date and once crashed the server on read.
   */
  private expiresFrom(
    options: { ttlSeconds?: number | null; expiresAt?: number | null },
    now: number,
    operationIndex?: number,
  ): number | null {
    const field = (name: string) =>
      operationIndex === undefined ? undefined : `operations[${operationIndex}].${name}`;
    if (options.expiresAt !== undefined && options.expiresAt !== null) {
      if (!Number.isSafeInteger(options.expiresAt) || Math.abs(options.expiresAt) > MAX_EXPIRES_MS)
        throw expiryOutOfRange(now, field('expires'));
      return options.expiresAt;
    }
    const ttl = options.ttlSeconds;
    if (ttl === undefined || ttl === null) return null;
    if (!Number.isFinite(ttl) || ttl <= 0) throw new KvsError('invalid_ttl');
    const expires = Math.ceil(now + ttl * 1000);
    if (expires > MAX_EXPIRES_MS) throw expiryOutOfRange(now, field('ttl'));
    return expires;
  }

  // ---- reads -----------------------------------------------------------------------------

  async get(caller: Caller, key: string): Promise<Entry | undefined> {
    this.validateKey(key);
    this.authorize(caller, 'read', key);
    return this.call(() => this.engine.get(key, this.clock()));
  }

  /**
   * The read fast path: the live entry, or undefined when the key is absent, or null when this
   * cannot be answered synchronously (engine without sync reads). Throws like get().
   */
  getSync(caller: Caller, key: string): Entry | undefined | null {
    if (this.engine.getSync === undefined) return null;
    this.validateKey(key);
    this.authorize(caller, 'read', key);
    try {
      return this.engine.getSync(key, this.clock());
    } catch (error) {
      throw fromStorageError(error);
    }
  }

  async getMany(caller: Caller, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    this.validateBatch(keys.length);
    for (const key of keys) {
      this.validateKey(key);
      this.authorize(caller, 'read', key);
    }
    return this.call(() => this.engine.getMany(keys, this.clock()));
  }

  /** The seed's `?k=K1,K2`: the existing key with the highest modRevision. */
  async getMostRecent(caller: Caller, keys: readonly string[]): Promise<Entry | undefined> {
    const entries = await this.getMany(caller, keys);
    let best: Entry | undefined;
    for (const entry of entries) {
      if (entry !== undefined && (best === undefined || entry.modRevision > best.modRevision)) best = entry;
    }
    return best;
  }

  /**
   * One page of keys in order; `next` is the cursor (the last key) when more follow. `skipMax`
   * lowers the expired keys the page may pass over (ListOptions.skipMax), for walks that yield
   * between small slices.
   */
  async list(
    caller: Caller,
    prefix: string,
    after: string | undefined,
    limit: number,
    skipMax?: number,
  ): Promise<Page<EntryInfo>> {
    this.checkListing(caller, prefix, limit);
    return this.readablePage(caller, prefix, after, limit, (options, now) =>
      this.engine.list(skipMax === undefined ? options : { ...options, skipMax }, now),
    );
  }

  async listEntries(caller: Caller, prefix: string, after: string | undefined, limit: number): Promise<Page<Entry>> {
    this.checkListing(caller, prefix, limit);
    return this.readablePage(caller, prefix, after, limit, (options, now) => this.engine.listEntries(options, now));
  }

  /** The folders under `prefix` with their key counts (src/core/key-browsing.ts, docs/ui.md). */
  async folders(caller: Caller, prefix: string, after: string | undefined, limit: number): Promise<FolderPage> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FOLDERS_PER_PAGE) {
      throw new KvsError('invalid_cursor', `limit must be a whole number from 1 to ${MAX_FOLDERS_PER_PAGE} folders.`, {
        limit: MAX_FOLDERS_PER_PAGE,
      });
    }
    this.checkListing(caller, prefix, 1);
    return listFolders(
      this.pageReader(caller),
      this.folderCounter(caller),
      prefix,
      after,
      limit,
      this.limits.maxKeyBytes,
    );
  }

  /** Keys under `folder` from the folder index, or undefined (not an indexed folder, or not all readable). */
  async folderKeys(caller: Caller, folder: string): Promise<number | undefined> {
    this.checkListing(caller, folder, 1);
    return (await this.folderCounter(caller)([folder]))[0];
  }

  /** The index counts every key of a folder: it answers only where the caller may read them all. */
  private folderCounter(caller: Caller): FolderCounter {
    return (folders) => {
      const whole = folders.map((folder) => {
        const ranges = this.readableRanges(caller, folder);
        return ranges.length === 1 && ranges[0] === folder;
      });
      return this.call(async () => {
        const counts = await this.engine.folderCounts(folders.filter((_, index) => whole[index]));
        return whole.map((isWhole) => (isWhole ? counts.shift() : undefined));
      });
    };
  }

  /** Keys matching a glob pattern, at most SEARCH_SCAN_MAX keys examined per page. */
  async search(caller: Caller, pattern: string, after: string | undefined, limit: number): Promise<Page<EntryInfo>> {
    if (pattern === '') throw new KvsError('bad_request', 'match must not be empty.');
    this.checkListing(caller, '', limit);
    return searchKeys(this.pageReader(caller), pattern, after, limit, this.limits.maxListLimit);
  }

  private pageReader(caller: Caller): PageReader<EntryInfo> {
    return (prefix, after, limit) =>
      this.readablePage(caller, prefix, after, limit, (options, now) => this.engine.list(options, now));
  }

  /**
   * A page holding only keys the caller may read, and a `next` cursor that is one of them: with
   * private reads, a prefix-limited token lists the parts of `prefix` its prefixes cover, one
   * range after the other, so neither the items nor the cursor name a key outside them (the
   * cursor once named the next key of the whole store).
   *
   * A page may hold fewer than `limit` items (even none) and still have a `next`: the engine
   * passes over at most LIST_SKIP_MAX expired-but-not-yet-swept keys per call, and the cursor
   * then names the last one it passed (a key of the same range), so that no request costs more
   * than its page and that bound (docs/limits.md).
   */
  private async readablePage<T extends { key: string }>(
    caller: Caller,
    prefix: string,
    after: string | undefined,
    limit: number,
    read: (options: ListOptions, now: number) => Promise<ListPage<T>>,
  ): Promise<Page<T>> {
    const now = this.clock();
    const ranges = this.readableRanges(caller, prefix);
    const items: T[] = [];
    // One extra item tells whether there is a next page.
    for (const range of ranges) {
      if (items.length > limit) break;
      const page = await this.call(() => read({ prefix: range, after, limit: limit + 1 - items.length }, now));
      items.push(...page.items);
      if (page.resumeAfter !== undefined) return { items, next: page.resumeAfter };
    }
    const more = items.length > limit;
    const page = items.slice(0, limit);
    return { items: page, next: more ? page[page.length - 1]!.key : null };
  }

  /** The key prefixes under `prefix` the caller may list, disjoint and in key order. */
  private readableRanges(caller: Caller, prefix: string): string[] {
    const principal = caller.principal;
    if (!this.options.privateReads || principal === undefined || principal.unrestricted) return [prefix];
    const covered = principal.grant.prefixes
      .map((granted) => (granted.startsWith(prefix) ? granted : prefix.startsWith(granted) ? prefix : undefined))
      .filter((range): range is string => range !== undefined)
      .sort(compareKeys);
    // Sorted, a prefix comes right before the longer prefixes it covers: keep the outermost.
    return covered.filter(
      (range, index) => index === 0 || !covered.slice(0, index).some((outer) => range.startsWith(outer)),
    );
  }

  private checkListing(caller: Caller, prefix: string, limit: number): void {
    if (!Number.isInteger(limit) || limit < 1 || limit > this.limits.maxListLimit) {
      throw new KvsError('invalid_cursor', `limit must be a whole number from 1 to ${this.limits.maxListLimit}.`);
    }
    if (this.options.privateReads && caller.principal === undefined) throw new KvsError('auth_required');
    if (prefix !== '') this.validateKey(prefix);
  }

  async count(): Promise<number> {
    return this.call(() => this.engine.count());
  }

  async revision(): Promise<number> {
    return this.call(() => this.engine.revision());
  }

  /**
   * The greatest key stored, for RANDOMKEY's random positions: a bound, never answered to the
   * caller (it may lie outside what the caller may read).
   */
  async greatestKey(caller: Caller): Promise<string | undefined> {
    if (this.options.privateReads && caller.principal === undefined) return undefined;
    return this.call(() => this.engine.greatestKey());
  }

  async recentlyModified(caller: Caller, limit: number): Promise<EntryInfo[]> {
    if (this.options.privateReads && caller.principal === undefined) return [];
    const items = await this.call(() => this.engine.recentlyModified(limit, this.clock()));
    return items.filter((item) => this.mayRead(caller, item.key));
  }

  // ---- writes ----------------------------------------------------------------------------

  async put(caller: Caller, key: string, value: Buffer, options: PutOptions = {}): Promise<EntryInfo> {
    this.validateKey(key);
    this.validateValue(value);
    this.validateContentType(options.contentType);
    this.authorize(caller, 'write', key);
    const now = this.clock();
    const conditions: Condition[] = [];
    if (options.ifVersion !== undefined) {
      if (!Number.isInteger(options.ifVersion) || options.ifVersion < 0) throw new KvsError('invalid_version');
      conditions.push({ key, kind: 'version', version: options.ifVersion });
    }
    if (options.ifAbsent) conditions.push({ key, kind: 'absent' });
    if (options.ifExists) conditions.push({ key, kind: 'exists' });
    const operation = this.putOperation({ ...options, key, value }, now);
    const result = await this.commit(caller, { conditions, operations: [operation] }, now);
    if (!result.ok) throw this.conditionError(conditions[result.failed]!, result.current);
    return result.puts[0]!;
  }

  /** The seed's POST: every pair in one transaction. */
  async putMany(
    caller: Caller,
    pairs: readonly (readonly [string, Buffer])[],
    contentType: string | null = null,
  ): Promise<TxnSuccess> {
    this.validateBatch(pairs.length);
    for (const [key, value] of pairs) {
      this.validateKey(key);
      this.validateValue(value);
      this.authorize(caller, 'write', key);
    }
    const now = this.clock();
    const operations = pairs.map(([key, value]) => this.putOperation({ key, value, contentType }, now));
    const result = await this.commit(caller, { conditions: [], operations }, now);
    if (!result.ok) throw new KvsError('internal', 'unconditional transaction failed a check');
    return result;
  }

  /**
   * Deletes a key: the revision of the delete, or undefined when the key did not exist.
   * `ifVersion` makes it conditional.
   */
  async delete(caller: Caller, key: string, options: { ifVersion?: number } = {}): Promise<number | undefined> {
    this.validateKey(key);
    this.authorize(caller, 'write', key);
    const conditions: Condition[] = [];
    if (options.ifVersion !== undefined) {
      if (!Number.isInteger(options.ifVersion) || options.ifVersion < 0) throw new KvsError('invalid_version');
      conditions.push({ key, kind: 'version', version: options.ifVersion });
    }
    const result = await this.commit(caller, { conditions, operations: [{ type: 'delete', key }] }, this.clock());
    if (!result.ok) throw this.conditionError(conditions[result.failed]!, result.current);
    return result.deleted.length > 0 ? result.revision : undefined;
  }

  // Two entry points to one all-or-nothing transaction (validateAndCommit); they differ only in
  // what counts against maxBatch. A failing check throws txn_check_failed naming it.

  /**
   * A transaction as a client listed it (POST /v1/txn, and RESP commands that write without
   * reading): every check and every operation counts against maxBatch.
   */
  async txnCountingItems(
    caller: Caller,
    checks: readonly TxnCheck[],
    operations: readonly TxnOperation[],
  ): Promise<TxnSuccess> {
    this.validateBatch(checks.length + operations.length);
    return this.validateAndCommit(caller, checks, operations);
  }

  /**
   * A transaction whose conditions the front end derived from what it read (RESP: one per key a
   * command read; DEL k1 k2 reads and deletes both). The batch the client asked for is the keys
   * it touches, so each distinct key counts against maxBatch once, not conditions + operations.
   */
  async txnCountingKeys(
    caller: Caller,
    conditions: readonly Condition[],
    operations: readonly TxnOperation[],
  ): Promise<TxnSuccess> {
    const keys = new Set<string>();
    for (const condition of conditions) keys.add(condition.key);
    for (const operation of operations) keys.add(operation.key);
    this.validateBatch(keys.size);
    return this.validateAndCommit(caller, conditions, operations);
  }

  private async validateAndCommit(
    caller: Caller,
    checks: readonly TxnCheck[],
    operations: readonly TxnOperation[],
  ): Promise<TxnSuccess> {
    let bytes = 0;
    for (const check of checks) {
      this.validateKey(check.key);
      this.authorize(caller, 'read', check.key);
    }
    const now = this.clock();
    const planned: Operation[] = operations.map((operation, index) => {
      this.validateKey(operation.key);
      this.authorize(caller, 'write', operation.key);
      if (operation.type === 'delete') return operation;
      this.validateValue(operation.value);
      this.validateContentType(operation.contentType);
      bytes += operation.value.length + Buffer.byteLength(operation.key);
      return this.putOperation(operation, now, index);
    });
    if (bytes > this.limits.maxBodyBytes) {
      throw new KvsError('txn_too_large', undefined, { limit: this.limits.maxBodyBytes, size: bytes });
    }
    const result = await this.commit(caller, { conditions: checks, operations: planned }, now);
    if (!result.ok) {
      const check = checks[result.failed]!;
      throw new KvsError(
        'txn_check_failed',
        `Check ${result.failed} (${describeCheck(check)}) failed; nothing was written.`,
        {
          failed: { index: result.failed, ...check },
          current: result.current ? { version: result.current.version, modRevision: result.current.modRevision } : null,
        },
      );
    }
    return result;
  }

  /**
   * The one builder of a put operation for every write entry point: the expiry from
   * ttlSeconds/expiresAt (bounded, see expiresFrom), null content type when none. Validation is
   * the caller's, in the order its errors take precedence.
   */
  private putOperation(
    put: Omit<Extract<TxnOperation, { type: 'put' }>, 'type'>,
    now: number,
    operationIndex?: number,
  ): Operation {
    return {
      type: 'put',
      key: put.key,
      value: put.value,
      contentType: put.contentType ?? null,
      expires: this.expiresFrom(put, now, operationIndex),
      keepExpires: put.keepTtl ?? false,
    };
  }

  private conditionError(condition: Condition, current: EntryInfo | undefined): KvsError {
    const currentVersion = current?.version ?? 0;
    const headers: Record<string, string> = current ? { etag: `"${current.version}"` } : {};
    if (condition.kind === 'absent') return new KvsError('key_exists', undefined, { currentVersion }, headers);
    if (condition.kind === 'exists') return new KvsError('not_found');
    return new KvsError('version_mismatch', undefined, { currentVersion }, headers);
  }

  // ---- point in time (src/core/point-in-time.ts, docs/history.md) ------------------------

  /** Resolves a point in time for a caller who may read everything under `prefix`. */
  private async pointFor(caller: Caller, target: PointInTimeTarget, prefix: string) {
    if (prefix !== '') this.validateKey(prefix);
    this.authorize(caller, 'read', prefix);
    const engine = historyEngine(this.engine);
    return { engine, point: await this.call(() => resolvePoint(engine, target)) };
  }

  /** One page of the store as it was at `target`, under `prefix` (`kvs export --at`). */
  async snapshot(
    caller: Caller,
    target: PointInTimeTarget,
    prefix: string,
    after: string | undefined,
    limit: number,
  ): Promise<SnapshotPage> {
    this.checkListing(caller, prefix, limit);
    const { engine, point } = await this.pointFor(caller, target, prefix);
    return this.call(() => snapshotPage(engine, point, prefix, after, limit));
  }

  /**
   * Brings every key under `prefix` back to its state at `target` in one transaction (via
   * 'restore': audited, watched, in history, so a restore can itself be undone), guarded by each
   * key's current revision: a write meanwhile refuses it (txn_check_failed) rather than be lost.
   * `dryRun` answers the changes without writing.
   */
  async restore(
    caller: Caller,
    target: PointInTimeTarget,
    prefix: string,
    dryRun: boolean,
  ): Promise<{ point: ResolvedPoint; changes: RestoreChange[]; revision: number | null }> {
    const { engine, point } = await this.pointFor(caller, target, prefix);
    this.authorize(caller, 'write', prefix);
    const changes = await this.call(() =>
      restoreChanges(engine, point, prefix, this.clock(), {
        scanMax: RESTORE_SCAN_MAX,
        changeMax: this.limits.maxBatch,
        pageKeys: this.limits.maxListLimit,
      }),
    );
    if (dryRun || changes.length === 0) return { point, changes, revision: null };
    const conditions: Condition[] = changes.map((change) =>
      change.currentRevision === null
        ? { key: change.key, kind: 'absent' }
        : { key: change.key, kind: 'modRevision', modRevision: change.currentRevision },
    );
    const operations: TxnOperation[] = changes.map((change) =>
      change.restored === undefined
        ? { type: 'delete', key: change.key }
        : {
            type: 'put',
            key: change.key,
            value: change.restored.value,
            contentType: change.restored.contentType,
            expiresAt: change.restored.expires,
          },
    );
    const result = await this.txnCountingKeys({ ...caller, via: 'restore' }, conditions, operations);
    return { point, changes, revision: result.revision };
  }

  // ---- audit trail -----------------------------------------------------------------------

  /**
   * The audit trail, newest first (docs/audit.md): admin tokens on every key only, since entries
   * name keys anywhere in the store. The filters are applied here while reading the engine's
   * pages; at most AUDIT_SCAN_MAX entries are examined per call, so a rare match costs a bounded
   * answer and a `next` cursor, not a walk of the whole trail.
   */
  async audit(caller: Caller, query: AuditRequest): Promise<AuditAnswer> {
    this.authorizeTokenAdmin(caller);
    const matches = auditMatcher(query);
    const entries: AuditEntry[] = [];
    let before = query.before;
    let examined = 0;
    for (;;) {
      const chunk = Math.min(AUDIT_SCAN_CHUNK, AUDIT_SCAN_MAX - examined);
      const page = await this.call(() =>
        this.engine.audit({ before, since: query.since, until: query.until, limit: chunk }),
      );
      examined += chunk;
      for (const entry of page.entries) {
        if (!matches(entry)) continue;
        entries.push(entry);
        // One more than asked for: there is a next page, which starts below the last one given.
        if (entries.length > query.limit)
          return { entries: entries.slice(0, query.limit), next: entries[query.limit - 1]!.revision };
      }
      if (page.before === undefined) return { entries, next: null };
      before = page.before;
      if (examined >= AUDIT_SCAN_MAX) return { entries, next: before };
    }
  }

  // ---- per-key history (docs/history.md) ---------------------------------------------------

  /** A page of a key's history, newest first, each entry with who wrote it. */
  async keyHistory(
    caller: Caller,
    key: string,
    query: { before?: number | undefined; limit?: number | undefined; values?: boolean },
  ): Promise<KeyHistoryAnswer> {
    const engine = this.historyEngine(caller, 'read', key);
    const limit = query.limit ?? HISTORY_PAGE_DEFAULT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > HISTORY_PAGE_MAX)
      throw invalidHistoryQuery('limit', `a whole number from 1 to ${HISTORY_PAGE_MAX}`);
    if (query.before !== undefined && (!Number.isSafeInteger(query.before) || query.before < 1))
      throw invalidHistoryQuery('before', 'a revision (a whole number from 1)');
    const page = await this.call(() =>
      engine.keyHistory!(key, { before: query.before, limit, values: query.values ?? false }),
    );
    const versions: KeyVersionWithWho[] = [];
    for (const version of page.versions) versions.push({ ...version, who: await this.whoWrote(version.revision) });
    return { versions, next: page.next ?? null };
  }

  /** The put entry a reference names, with its value; version_not_kept when none is kept. */
  async keyVersion(caller: Caller, key: string, ref: VersionRef): Promise<KeyVersion> {
    const engine = this.historyEngine(caller, 'read', key);
    return this.keptPut(engine, key, ref);
  }

  /**
   * The line diff of two versions of a key (value-diff.ts): `to` is the current value when
   * undefined. A delete or expiry entry is no version (version_not_kept).
   */
  async diff(caller: Caller, key: string, from: VersionRef, to?: VersionRef): Promise<DiffAnswer> {
    const engine = this.historyEngine(caller, 'read', key);
    const older = await this.keptPut(engine, key, from, 'from');
    let newer: { revision: number; version: number; value: Buffer };
    if (to !== undefined) {
      const entry = await this.keptPut(engine, key, to, 'to');
      newer = { revision: entry.revision, version: entry.version, value: entry.value! };
    } else {
      const current = await this.call(() => engine.get(key, this.clock()));
      if (current === undefined)
        throw new KvsError('version_not_kept', 'The key has no current value to compare with.');
      newer = { revision: current.modRevision, version: current.version, value: current.value };
    }
    const diff = await this.diffRunner.diff(
      { label: `${key}@${older.version}`, value: older.value! },
      { label: `${key}@${newer.version}`, value: newer.value },
    );
    return {
      from: { revision: older.revision, version: older.version },
      to: { revision: newer.revision, version: newer.version },
      diff,
    };
  }

  /**
   * Writes a kept version's value and content type back as the key's next version (no expiry):
   * a normal commit with via 'revert', so the audit trail, watchers and history see it as any
   * write; `ifVersion` makes it a compare-and-swap. On a deleted key this restores it.
   */
  async revert(caller: Caller, key: string, ref: VersionRef, options: { ifVersion?: number } = {}): Promise<EntryInfo> {
    this.validateKey(key);
    this.authorize(caller, 'write', key);
    const engine = this.historyEngine(caller, 'read', key);
    const entry = await this.keptPut(engine, key, ref);
    return this.put({ ...caller, via: 'revert' }, key, entry.value!, {
      contentType: entry.contentType,
      ifVersion: options.ifVersion,
    });
  }

  /**
   * Keys whose newest history entry is a delete or an expiry, in key order; with private reads, a
   * prefix-limited token sees only the keys of its prefixes (as listings do).
   */
  async deletedKeys(
    caller: Caller,
    query: { prefix?: string | undefined; after?: string | undefined; limit?: number | undefined },
  ): Promise<{ keys: DeletedKey[]; next: string | null }> {
    const prefix = query.prefix ?? '';
    const limit = query.limit ?? HISTORY_PAGE_DEFAULT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > HISTORY_PAGE_MAX)
      throw invalidHistoryQuery('limit', `a whole number from 1 to ${HISTORY_PAGE_MAX}`);
    if (prefix !== '') this.validateKey(prefix);
    if (query.after !== undefined) this.validateKey(query.after);
    if (this.options.privateReads && caller.principal === undefined) throw new KvsError('auth_required');
    const engine = this.engine;
    if (engine.deletedKeys === undefined) throw new KvsError('history_unavailable');
    const ranges = this.readableRanges(caller, prefix);
    const keys: DeletedKey[] = [];
    for (const [index, range] of ranges.entries()) {
      const page = await this.call(() =>
        engine.deletedKeys!({ prefix: range, after: query.after, limit: limit - keys.length }),
      );
      keys.push(...page.keys);
      if (page.next !== undefined) return { keys, next: page.next };
      // Full before the last range: the next page goes on after the last key given.
      if (keys.length >= limit && index < ranges.length - 1) return { keys, next: keys.at(-1)!.key };
    }
    return { keys, next: null };
  }

  /** The engine, once the key is valid, the caller may do `action` on it and the engine keeps history. */
  private historyEngine(caller: Caller, action: Action, key: string): Engine {
    this.validateKey(key);
    this.authorize(caller, action, key);
    if (this.engine.keyHistory === undefined || this.engine.keyVersion === undefined)
      throw new KvsError('history_unavailable');
    return this.engine;
  }

  /** The kept put entry `ref` names, with its value; version_not_kept (naming `field`) when none. */
  private async keptPut(engine: Engine, key: string, ref: VersionRef, field?: string): Promise<KeyVersion> {
    const where = field === undefined ? '' : `${field}: `;
    let revision: number | undefined;
    if ('revision' in ref) {
      if (!Number.isSafeInteger(ref.revision) || ref.revision < 1)
        throw invalidHistoryQuery(field ?? 'revision', 'a revision (a whole number from 1)');
      revision = ref.revision;
    } else {
      if (!Number.isSafeInteger(ref.version) || ref.version < 1)
        throw invalidHistoryQuery(field ?? 'version', 'a version (a whole number from 1)');
      revision = await this.revisionOfVersion(engine, key, ref.version);
    }
    const entry = revision === undefined ? undefined : await this.call(() => engine.keyVersion!(key, revision));
    if (entry === undefined || entry.type !== 'put' || entry.value === undefined) {
      const named = 'revision' in ref ? `revision ${ref.revision}` : `version ${ref.version}`;
      throw new KvsError('version_not_kept', `${where}the history of this key keeps no value at ${named}.`, {
        ...ref,
      });
    }
    return entry;
  }

  /**
   * The revision of the newest kept entry with `version` (versions restart after a delete, so
   * several may have it), reading headers only: at most HISTORY_VERSIONS_MAX entries, all a key keeps.
   */
  private async revisionOfVersion(engine: Engine, key: string, version: number): Promise<number | undefined> {
    let before: number | undefined;
    for (let read = 0; read < HISTORY_VERSIONS_MAX; read += HISTORY_PAGE_MAX) {
      const page = await this.call(() => engine.keyHistory!(key, { before, limit: HISTORY_PAGE_MAX, values: false }));
      const found = page.versions.find((entry) => entry.type === 'put' && entry.version === version);
      if (found !== undefined) return found.revision;
      if (page.next === undefined) return undefined;
      before = page.next;
    }
    return undefined;
  }

  /** Who made the commit of `revision`: its audit entry, or null when the trail no longer keeps it. */
  private async whoWrote(revision: number): Promise<WriteOrigin | null> {
    const page = await this.call(() => this.engine.audit({ before: revision + 1, limit: 1 }));
    const entry = page.entries[0];
    if (entry === undefined || entry.revision !== revision) return null;
    return { tokenId: entry.tokenId, label: entry.label, via: entry.via, address: entry.address };
  }

  // ---- change log ------------------------------------------------------------------------

  async history(since: number, limit: number) {
    return this.call(() => this.engine.history(since, limit));
  }

  /**
   * Every write of the service goes through here, timed for the commit-latency histogram, with
   * the caller as its origin for the audit trail (docs/audit.md).
   */
  private async commit(caller: Caller, txn: Txn, now: number): Promise<CommitResult> {
    const started = performance.now();
    const origin = originOf(caller);
    try {
      return await this.call(() => this.engine.commit({ ...txn, origin }, now));
    } finally {
      this.observer.commitDone((performance.now() - started) / 1000);
    }
  }

  /** Every engine call goes through here: storage errors become catalogue errors (storage-errors.ts). */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw fromStorageError(error);
    }
  }
}

/** Who made a write, as the audit trail records it: never the token's secret. */
export function originOf(caller: Caller): WriteOrigin {
  const principal = caller.principal;
  return {
    tokenId: principal?.tokenId ?? null,
    label: principal?.auditLabel ?? null,
    via: caller.via ?? 'v1',
    address: caller.address ?? null,
  };
}

function expiryOutOfRange(now: number, field: string | undefined): KvsError {
  const maxTtlSeconds = Math.floor((MAX_EXPIRES_MS - now) / 1000);
  const where = field === undefined ? '' : `${field}: `;
  return new KvsError(
    'invalid_ttl',
    `${where}the expiry must be no later than ${new Date(MAX_EXPIRES_MS).toISOString()} (a TTL of at most ${maxTtlSeconds} seconds).`,
    {
      maxExpires: MAX_EXPIRES_MS,
      maxTtlSeconds,
      ...(field === undefined ? {} : { field }),
    },
  );
}

function invalidHistoryQuery(field: string, message: string): KvsError {
  return new KvsError('invalid_history_query', `${field}: ${message}`, { field });
}

function describeCheck(check: Condition): string {
  switch (check.kind) {
    case 'version':
      return `${JSON.stringify(check.key)} has version ${check.version}`;
    case 'modRevision':
      return `${JSON.stringify(check.key)} has modRevision ${check.modRevision}`;
    case 'absent':
      return `${JSON.stringify(check.key)} is absent`;
    case 'exists':
      return `${JSON.stringify(check.key)} exists`;
  }
}
