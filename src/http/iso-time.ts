// Times in answers (Kvs-Expires, listings, watch events, the index page) as ISO 8601. New writes
// cannot store a time past MAX_EXPIRES_MS (the service refuses them), but a store written by an
// older kvs may hold one, and `Date#toISOString` throws on it: clamp instead of failing the answer.

import { MAX_EXPIRES_MS } from '../core/model.js';

export function isoTime(ms: number): string {
  const bounded = Number.isFinite(ms) ? Math.max(-MAX_EXPIRES_MS, Math.min(MAX_EXPIRES_MS, ms)) : ms > 0 ? MAX_EXPIRES_MS : -MAX_EXPIRES_MS;
  return new Date(bounded).toISOString();
}
