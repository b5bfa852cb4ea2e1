// etcd leases for kvs keys.
//
// Expiry: keys that expire in the same time bucket share one lease, granted on first use and
// long enough to outlive the bucket's end plus a margin. Reads hide a key as soon as its own
// `expires` passes (the envelope holds it); the lease only makes etcd delete it afterwards, so a
// lease may outlive its keys a little but never expires before them. Buckets are 1 s wide for
// expiries within a minute, 1 min within an hour, 1 h beyond (a key lingers, invisible, at most
// that long). Lease lifetimes are computed from the caller's `now`, so they follow the same
// clock as the expiry times.
//
// Pin: keys without an expiry whose envelope carries incarnation fields (envelope.ts) hold the
// namespace's pin lease, which never expires, so that the commit fast path can tell them from
// plain keys by `lease == 0`. Its ID is derived from the prefix: every kvs process of a
// namespace uses the same one, and restarts do not leak leases.

import { createHash } from 'node:crypto';

/** etcd's maximum lease TTL, in seconds. */
const MAX_TTL_SECONDS = 9_000_000_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

export interface LeaseGrants {
  /** Grants a lease; `id` asks for that ID. Resolves with the lease ID. */
  grant(ttlSeconds: number, id?: string): Promise<string>;
}

interface Granted {
  readonly id: Promise<string>;
  /** The ID once granted. */
  value?: string;
  /** Wall-clock time (Date.now()) by which etcd may have expired the lease. */
  readonly endsAt: number;
}

export class LeasePool {
  private readonly buckets = new Map<number, Granted>();
  private pinLease: Promise<string> | undefined;
  private readonly pinId: string;

  constructor(
    private readonly grants: LeaseGrants,
    prefix: string,
    /** Extra lifetime past a bucket's end before etcd deletes its keys. */
    private readonly marginSeconds: number,
  ) {
    const digest = createHash('sha256').update(`kvs pin lease ${prefix}`).digest();
    // A positive int64 that is not 0 (0 means "no lease").
    this.pinId = ((digest.readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn) | 1n).toString();
  }

  /** A lease that lasts at least until `expires` (a time in the clock of `now`) plus the margin. */
  forExpiry(expires: number, now: number): Promise<string> {
    const remaining = Math.max(0, expires - now);
    const width = remaining < MINUTE ? 1000 : remaining < HOUR ? MINUTE : HOUR;
    const bucketEnd = Math.ceil(expires / width) * width;
    const needed = bucketEnd - now + this.marginSeconds * 1000;
    const wallNow = Date.now();
    const cached = this.buckets.get(bucketEnd);
    // One second of slack covers the time between this check and etcd applying the write.
    if (cached !== undefined && cached.endsAt - wallNow >= needed + 1000) return cached.id;
    if (this.buckets.size > 10_000) this.forgetEnded(wallNow);
    const ttl = Math.min(MAX_TTL_SECONDS, Math.ceil(needed / 1000) + 1);
    const id = this.grants.grant(ttl);
    const granted: Granted = { id, endsAt: wallNow + ttl * 1000 };
    this.buckets.set(bucketEnd, granted);
    id.then(
      (value) => {
        granted.value = value;
      },
      () => {
        if (this.buckets.get(bucketEnd) === granted) this.buckets.delete(bucketEnd);
      },
    );
    return id;
  }

  pin(): Promise<string> {
    if (this.pinLease === undefined) {
      const lease = this.grants.grant(MAX_TTL_SECONDS, this.pinId).catch((error: unknown) => {
        if (error instanceof Error && error.message.includes('lease already exists')) return this.pinId;
        this.pinLease = undefined;
        throw error;
      });
      this.pinLease = lease;
    }
    return this.pinLease;
  }

  /** Forgets leases etcd reported as gone, so that the next use grants new ones. */
  forget(ids: ReadonlySet<string>): void {
    for (const [bucket, granted] of this.buckets) {
      if (granted.value !== undefined && ids.has(granted.value)) this.buckets.delete(bucket);
    }
    if (ids.has(this.pinId)) this.pinLease = undefined;
  }

  private forgetEnded(wallNow: number): void {
    for (const [bucket, granted] of this.buckets) if (granted.endsAt <= wallNow) this.buckets.delete(bucket);
  }
}
