// Rate limit of failed authentications per client address (DESIGN 5): after `limit` failures
// within `windowMs`, further attempts from that address are refused until the window passes.

export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Seconds until the client may try again, or 0 when it may try now. */
  retryAfter(client: string): number {
    const times = this.recent(client);
    if (times.length < this.limit) return 0;
    return Math.max(1, Math.ceil((times[0]! + this.windowMs - this.clock()) / 1000));
  }

  recordFailure(client: string): void {
    const times = this.recent(client);
    times.push(this.clock());
    this.failures.set(client, times);
    if (this.failures.size > 100_000) this.prune();
  }

  private recent(client: string): number[] {
    const cutoff = this.clock() - this.windowMs;
    const times = (this.failures.get(client) ?? []).filter((time) => time > cutoff);
    if (times.length === 0) this.failures.delete(client);
    return times;
  }

  private prune(): void {
    for (const client of [...this.failures.keys()]) this.recent(client);
  }
}
