// A query parameter read as text, given at most once: a repeated one (which the query parser
// turns into an array) is refused with the route's own coded error, not silently the first.

import type { KvsError } from '../core/errors.js';

/** Builds a route's coded error for `field` (invalid_audit_query, invalid_history_query, ...). */
export type QueryError = (field: string, message: string) => KvsError;

export function queryText(
  query: Readonly<Record<string, unknown>>,
  field: string,
  invalid: QueryError,
): string | undefined {
  const value = query[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(field, 'give it once');
  return value;
}
