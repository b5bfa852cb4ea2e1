// API tokens minted over the API (docs/tokens.md), kept in the engine's system keyspace so that
// every process on the store (`--workers N`, every server on one etcd) sees a mint or a
// revocation; plus the token file's tokens, read once at start (tokens.ts).
//
// Records: `token/<id>` holds the token's public fields and the SHA-256 of its secret (never the
// secret); `token-used/<id>` holds when it was last used. Each process keeps the records in a
// table indexed by digest and reloads it when the system keyspace's generation changes, which
// it asks on every authentication (one memory-mapped read on lmdb): a revocation made by any
// process is seen by the next request everywhere. A lookup by digest reveals, through its
// timing, at most something about the digest of the guess, never about a stored secret.
//
// "Last used" is written at most once per LAST_USED_RESOLUTION_MS per token per process (the
// first use is always written): a read never turns into a write on every request.

import { createHash, randomBytes } from 'node:crypto';
import type { SystemStore } from '../storage/index.js';
import { KvsError } from './errors.js';
import { Principal, type Scope, type TokenStore } from './tokens.js';

/** Most minted tokens a store holds (docs/limits.md). */
export const MAX_TOKENS = 1000;
/** Longest label, in characters. */
export const MAX_TOKEN_LABEL = 100;
/** Most key prefixes of one token. */
export const MAX_TOKEN_PREFIXES = 32;
/** Longest expiry: ten years, in seconds. */
export const MAX_TOKEN_TTL_SECONDS = 10 * 365 * 24 * 3600;
/** "Last used" is stored with this resolution: at most one write per token per process per hour. */
export const LAST_USED_RESOLUTION_MS = 3600_000;

/** Minted secrets start with this, so that a leaked one is recognisable (secret scanners, logs). */
export const SECRET_PREFIX = 'kvs_';

const TOKEN_KEY = 'token/';
const USED_KEY = 'token-used/';
const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

/** What a token list shows: everything but the secret (and its digest). */
export interface TokenInfo {
  readonly id: string;
  readonly label: string;
  readonly scope: Scope;
  readonly prefixes: readonly string[];
  /** ms since the epoch. */
  readonly created: number;
  readonly expires: number | null;
  readonly lastUsed: number | null;
}

interface TokenRecord {
  readonly id: string;
  readonly label: string;
  readonly scope: Scope;
  readonly prefixes: string[];
  readonly created: number;
  readonly expires: number | null;
  /** SHA-256 of the secret, hex. */
  readonly sha256: string;
}

export interface MintRequest {
  readonly label: string;
  readonly scope: Scope;
  readonly prefixes: readonly string[];
  /** Absolute expiry in ms, or null for none. */
  readonly expires: number | null;
}

export function digestOf(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export class TokenRegistry {
  private loaded = Number.NaN;
  private byDigest = new Map<string, { record: TokenRecord; principal: Principal }>();
  private byId = new Map<string, TokenRecord>();
  private lastUsed = new Map<string, number>();
  /** Tokens whose "last used" write is in flight (one at a time per token). */
  private readonly recording = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly system: SystemStore,
    private readonly fileTokens: TokenStore,
    private readonly clock: () => number,
    private readonly onWriteError: (error: unknown) => void = () => {},
    private readonly onReadError: (error: unknown) => void = () => {},
  ) {}

  /**
   * Reloads the table if any process changed a system record since it was loaded. A store that
   * cannot be read (damaged pages: MDB_BAD_TXN, seen from the poll timer in the flipped-bytes
   * test, where it ended the process) fails closed: no minted token is accepted until a reload
   * succeeds, file tokens keep working, and nothing throws (the poll runs on a timer).
   */
  private refresh(): boolean {
    try {
      return this.reload();
    } catch (error) {
      this.byDigest = new Map();
      this.byId = new Map();
      this.loaded = Number.NaN;
      this.onReadError(error);
      return false;
    }
  }

  private reload(): boolean {
    const generation = this.system.generation();
    if (generation === this.loaded) return false;
    const byDigest = new Map<string, { record: TokenRecord; principal: Principal }>();
    const byId = new Map<string, TokenRecord>();
    for (const { value } of this.system.list(TOKEN_KEY)) {
      const record = parseRecord(value);
      if (record === undefined) continue;
      byId.set(record.id, record);
      byDigest.set(record.sha256, {
        record,
        principal: new Principal({
          scope: record.scope,
          prefixes: record.prefixes,
          label: record.id,
          id: record.id,
          mintedLabel: record.label,
        }),
      });
    }
    const lastUsed = new Map<string, number>();
    for (const { key, value } of this.system.list(USED_KEY)) {
      const time = Number(value.toString('utf8'));
      if (Number.isFinite(time)) lastUsed.set(key.slice(USED_KEY.length), time);
    }
    this.byDigest = byDigest;
    this.byId = byId;
    this.lastUsed = lastUsed;
    this.loaded = generation;
    return true;
  }

  /** The principal of a presented secret (a file token or a live minted one), or undefined. */
  authenticate(secret: string): Principal | undefined {
    const fromFile = this.fileTokens.authenticate(secret);
    if (fromFile !== undefined) return fromFile;
    this.refresh();
    const found = this.byDigest.get(digestOf(secret));
    if (found === undefined) return undefined;
    const now = this.clock();
    if (found.record.expires !== null && found.record.expires <= now) return undefined;
    this.noteUse(found.record.id, now);
    return found.principal;
  }

  /**
   * authenticate() for a secret that authenticated as `principal` before (a connection presenting
   * the same token again), without hashing it: the same principal while its token lives (a
   * revocation or expiry counts at once, as for authenticate) and a minted token's use noted.
   */
  reauthenticate(principal: Principal): Principal | undefined {
    const id = principal.grant.id;
    if (id === undefined) return principal; // a token-file token lives as long as the process
    this.refresh();
    const record = this.byId.get(id);
    const now = this.clock();
    if (record === undefined || (record.expires !== null && record.expires <= now)) return undefined;
    this.noteUse(id, now);
    return principal;
  }

  /** Whether a principal that authenticated earlier may still act: its token not revoked nor expired. */
  isLive(principal: Principal): boolean {
    const id = principal.grant.id;
    if (id === undefined) return true; // a token-file token lives as long as the process
    this.refresh();
    const record = this.byId.get(id);
    return record !== undefined && (record.expires === null || record.expires > this.clock());
  }

  private noteUse(id: string, now: number): void {
    const last = this.lastUsed.get(id);
    if ((last !== undefined && now - last < LAST_USED_RESOLUTION_MS) || this.recording.has(id)) return;
    this.lastUsed.set(id, now);
    this.recording.add(id);
    this.system
      .put(`${USED_KEY}${id}`, Buffer.from(String(now), 'utf8'))
      .catch(this.onWriteError)
      .finally(() => this.recording.delete(id));
  }

  list(): TokenInfo[] {
    this.refresh();
    return [...this.byId.values()]
      .sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1))
      .map((record) => ({
        id: record.id,
        label: record.label,
        scope: record.scope,
        prefixes: record.prefixes,
        created: record.created,
        expires: record.expires,
        lastUsed: this.lastUsed.get(record.id) ?? null,
      }));
  }

  /** Mints a token: the secret is in the answer only, the store keeps its digest. */
  async mint(request: MintRequest): Promise<{ secret: string; info: TokenInfo }> {
    this.refresh();
    if (this.byId.size >= MAX_TOKENS)
      throw new KvsError('too_many_tokens', undefined, { limit: MAX_TOKENS, size: this.byId.size });
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = {
      id: `tok_${randomBytes(8).toString('hex')}`,
      label: request.label,
      scope: request.scope,
      prefixes: [...request.prefixes],
      created: this.clock(),
      expires: request.expires,
      sha256: digestOf(secret),
    };
    await this.system.put(`${TOKEN_KEY}${record.id}`, Buffer.from(JSON.stringify(record), 'utf8'));
    const { sha256: _digest, ...info } = record;
    return { secret, info: { ...info, lastUsed: null } };
  }

  /** Revokes a token; false when there is no such token. Takes effect on the next request. */
  async revoke(id: string): Promise<boolean> {
    const removed = await this.system.delete(`${TOKEN_KEY}${id}`);
    if (removed) await this.system.delete(`${USED_KEY}${id}`);
    this.notifyIfChanged();
    return removed;
  }

  /**
   * Calls `listener` whenever this process sees the records change (its own revocations at
   * once, other processes' within `pollMs`): for open watch streams to check their token.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts looking for other processes' changes every `pollMs` (one generation read each). */
  startPolling(pollMs: number): void {
    if (this.poll !== undefined) return;
    this.poll = setInterval(() => this.notifyIfChanged(), pollMs);
    this.poll.unref();
  }

  stopPolling(): void {
    if (this.poll !== undefined) clearInterval(this.poll);
    this.poll = undefined;
  }

  private notifyIfChanged(): void {
    if (!this.refresh() || this.listeners.size === 0) return;
    for (const listener of [...this.listeners]) listener();
  }
}

function parseRecord(value: Buffer): TokenRecord | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as TokenRecord;
    if (typeof parsed.id !== 'string' || typeof parsed.sha256 !== 'string' || !SCOPES.includes(parsed.scope))
      return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}
