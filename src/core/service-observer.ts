// What the core service reports about itself as it works, for the metrics (docs/observability.md).
// The core only calls these; it knows nothing of Prometheus.

export interface ServiceObserver {
  /** One engine commit took this long (from the call to its durable answer, or its failure). */
  commitDone(seconds: number): void;
  /** A presented token was wrong (answered auth_invalid). */
  authFailed(): void;
  /** A token was refused because its address or the store is locked (too_many_auth_failures). */
  rateLimited(): void;
}

export const noObserver: ServiceObserver = {
  commitDone() {},
  authFailed() {},
  rateLimited() {},
};
