// What every engine's audit trail shares (docs/audit.md): which entries a page keeps, and when
// the oldest entry is due to be dropped.

import type { AuditEntry } from '../model/audit.js';
import type { AuditQuery, AuditRetention } from './engine.js';

/** Whether an entry committed at `time` is in the query's time range. */
export function inAuditRange(query: AuditQuery, time: number): boolean {
  return (query.since === undefined || time >= query.since) && (query.until === undefined || time <= query.until);
}

/**
 * Whether the oldest entry (committed at `oldestTime`) must go: the trail holds more than
 * maxBytes, or the entry is older than maxAgeMs at `now` (the time of the commit that drops it).
 */
export function auditOverBounds(retention: AuditRetention, bytes: number, oldestTime: number, now: number): boolean {
  return bytes > retention.maxBytes || oldestTime < now - retention.maxAgeMs;
}

/** The page of the entries examined, newest first: those in range, and the cursor when more may follow. */
export function auditPageOf(
  query: AuditQuery,
  examined: readonly AuditEntry[],
  more: boolean,
): { entries: AuditEntry[]; before: number | undefined } {
  return {
    entries: examined.filter((entry) => inAuditRange(query, entry.time)),
    before: more && examined.length > 0 ? examined.at(-1)!.revision : undefined,
  };
}
