// Rate limit of failed authentications (docs/limits.md, "Authentication failures").
//
// Two bounds on guessing, both fixed windows of `windowMs`:
// - per client address: after `limit` failures, that address gets 429 for the rest of its window;
// - store-wide: after `globalLimit` failures from all addresses together, every address does. An
//   attacker who spreads guesses over many source addresses (all of 127/8 is loopback; IPv6 gives
//   anyone millions) is bounded by this one.
// A lock must not shut out the people behind the same address (one proxy, one NAT) whose token
// is right: a token that authenticated from an address before keeps working there while the
// address or the store is locked. Any other token, right or wrong, gets 429 while locked, so a
// locked attacker learns nothing from the answer.
//
// Memory: at most `maxClients` addresses are tracked for failures and as many (address, token)
// pairs for past successes, about 450 bytes per address for both (docs/limits.md); past that the oldest
// entry is dropped. Every operation is O(1): nothing ever scans the tables.

export interface AuthLimiterOptions {
  /** Failures from all addresses within one window before every address is locked. */
  readonly globalLimit?: number;
  /** Most addresses (and address/token pairs) remembered. */
  readonly maxClients?: number;
}

interface Window {
  start: number;
  count: number;
}

export const DEFAULT_GLOBAL_AUTH_FAILURES = 1000;
export const DEFAULT_AUTH_TRACKED_CLIENTS = 100_000;

export class AuthFailureLimiter {
  private readonly failures = new Map<string, Window>();
  /** `address token-label` -> time of the last success. */
  private readonly known = new Map<string, number>();
  private readonly global: Window = { start: 0, count: 0 };
  private readonly globalLimit: number;
  private readonly maxClients: number;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => number = Date.now,
    options: AuthLimiterOptions = {},
  ) {
    this.globalLimit = options.globalLimit ?? DEFAULT_GLOBAL_AUTH_FAILURES;
    this.maxClients = options.maxClients ?? DEFAULT_AUTH_TRACKED_CLIENTS;
  }

  /**
   * Seconds until `client` may present an unknown token again, or 0 when it may now: the
   * later of its own lock and the store-wide lock.
   */
  retryAfter(client: string): number {
    const now = this.clock();
    let until = 0;
    const own = this.failures.get(client);
    if (own !== undefined && now - own.start < this.windowMs && own.count >= this.limit)
      until = own.start + this.windowMs;
    if (now - this.global.start < this.windowMs && this.global.count >= this.globalLimit)
      until = Math.max(until, this.global.start + this.windowMs);
    return until === 0 ? 0 : Math.max(1, Math.ceil((until - now) / 1000));
  }

  /**
   * The standard rate-limit headers (RateLimit-Limit, -Remaining, -Reset: seconds until the
   * address's window ends) for an answer that counted against this limit (docs/limits.md).
   */
  headers(client: string): Record<string, string> {
    const now = this.clock();
    const own = this.failures.get(client);
    const live = own !== undefined && now - own.start < this.windowMs;
    const used = live ? own.count : 0;
    const reset = live
      ? Math.max(1, Math.ceil((own.start + this.windowMs - now) / 1000))
      : Math.ceil(this.windowMs / 1000);
    const headers: Record<string, string> = {
      'ratelimit-limit': String(this.limit),
      'ratelimit-remaining': String(Math.max(0, this.limit - used)),
      'ratelimit-reset': String(reset),
    };
    const retryAfter = this.retryAfter(client);
    if (retryAfter > 0) {
      headers['ratelimit-remaining'] = '0';
      headers['ratelimit-reset'] = String(retryAfter);
      headers['retry-after'] = String(retryAfter);
    }
    return headers;
  }

  /** Whether the token named `tokenLabel` authenticated from `client` within the last day. */
  knownGood(client: string, tokenLabel: string): boolean {
    const last = this.known.get(`${client} ${tokenLabel}`);
    return last !== undefined && this.clock() - last < KNOWN_GOOD_MS;
  }

  recordSuccess(client: string, tokenLabel: string): void {
    const id = `${client} ${tokenLabel}`;
    // Re-inserted so that the map's insertion order is least-recently-successful first.
    this.known.delete(id);
    this.known.set(id, this.clock());
    if (this.known.size > this.maxClients) this.known.delete(this.known.keys().next().value!);
  }

  recordFailure(client: string): void {
    const now = this.clock();
    if (now - this.global.start >= this.windowMs) {
      this.global.start = now;
      this.global.count = 0;
    }
    this.global.count++;
    let own = this.failures.get(client);
    if (own === undefined || now - own.start >= this.windowMs) {
      this.failures.delete(client);
      own = { start: now, count: 0 };
      this.failures.set(client, own);
      if (this.failures.size > this.maxClients) this.failures.delete(this.failures.keys().next().value!);
    }
    own.count++;
  }

  /** Addresses and (address, token) pairs currently remembered (for tests of the memory bound). */
  get tracked(): { failures: number; known: number } {
    return { failures: this.failures.size, known: this.known.size };
  }
}

/** How long a success from an address exempts that token there from a lock. */
const KNOWN_GOOD_MS = 24 * 3600_000;
