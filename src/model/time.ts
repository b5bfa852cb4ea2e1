// The range of times kvs stores and shows.

/**
 * The latest expiry time any front end may set, in ms since the epoch: the largest time a
 * JavaScript Date can hold (13 September 275760), so every expiry can be shown as an ISO 8601
 * time (`Kvs-Expires`, listings, watch events) and as a RESP integer. docs/limits.md.
 */
export const MAX_EXPIRES_MS = 8.64e15;

/**
 * A stored time within ±MAX_EXPIRES_MS (NaN as the latest): new writes cannot store one outside
 * it, but a store written by an older kvs may hold one, and showing it must not fail.
 */
export function representableTime(ms: number): number {
  return Number.isNaN(ms) ? MAX_EXPIRES_MS : Math.max(-MAX_EXPIRES_MS, Math.min(MAX_EXPIRES_MS, ms));
}
