// Times in answers (Kvs-Expires, listings, watch events, the index page) as ISO 8601.
// `Date#toISOString` throws on a time no date can hold: representableTime clamps it first.

import { representableTime } from '../model/time.js';

export function isoTime(ms: number): string {
  return new Date(representableTime(ms)).toISOString();
}
