// Checks a recorded write history against what a restarted store holds.
//
// The rules (docs/durability.md):
// - an acknowledged write is present with its exact values, at the revision its reply named;
// - a write with several pairs (seed form, txn) is all present, at one revision, or all absent;
// - a write whose answer never came (in flight at the kill) is all present or all absent;
// - a write the server rejected (non-2xx) is absent;
// - the store holds no key that no write asked for;
// - the store's revision is not behind any acknowledged revision or any earlier restart's.

import type { WriteRecord } from './write-load.js';

export interface StoredEntry {
  readonly value: string;
  readonly modRevision: number;
}

export interface CrashCheckInput {
  readonly records: readonly WriteRecord[];
  /** Everything the store holds after the restart, by key. */
  readonly stored: ReadonlyMap<string, StoredEntry>;
  /** The store-wide revision after the restart. */
  readonly revision: number;
  /** The revision seen after the previous restart (0 for the first). */
  readonly previousRevision: number;
}

export interface CrashCheckResult {
  readonly problems: string[];
  readonly acked: number;
  readonly ackedFound: number;
  readonly unknown: number;
  readonly unknownPresent: number;
  readonly unknownAbsent: number;
  readonly rejected: number;
  readonly maxAckedRevision: number;
  /** Writes whose pairs are all present (each write is one transaction, so one revision). */
  readonly writesPresent: number;
}

export function checkCrashHistory(input: CrashCheckInput): CrashCheckResult {
  const problems: string[] = [];
  const expectedKeys = new Set<string>();
  const ackedRevisions = new Map<number, number>();
  let acked = 0;
  let ackedFound = 0;
  let unknown = 0;
  let unknownPresent = 0;
  let unknownAbsent = 0;
  let rejected = 0;
  let maxAckedRevision = 0;
  let writesPresent = 0;

  for (const record of input.records) {
    for (const { key } of record.pairs) expectedKeys.add(key);
    const label = `write #${record.id} (round ${record.round}, client ${record.client}, ${record.kind}, ${record.pairs.length} pair(s), ${record.status})`;
    const found = record.pairs.map(({ key }) => input.stored.get(key));
    const present = found.filter((entry) => entry !== undefined).length;
    const wrongValues = record.pairs.filter(({ key, value }) => {
      const entry = input.stored.get(key);
      return entry !== undefined && entry.value !== value;
    });
    const revisions = new Set(found.filter((entry) => entry !== undefined).map((entry) => entry.modRevision));

    if (wrongValues.length > 0)
      problems.push(`${label}: wrong value for ${wrongValues.map((pair) => pair.key).join(', ')}`);
    if (present > 0 && present < record.pairs.length) {
      problems.push(`${label}: only ${present} of ${record.pairs.length} pairs present (not all-or-nothing)`);
    }
    if (present === record.pairs.length) writesPresent++;
    if (revisions.size > 1) problems.push(`${label}: pairs stored at different revisions ${[...revisions].join(', ')}`);

    switch (record.status) {
      case 'acked': {
        acked++;
        const revision = record.revision ?? Number.NaN;
        if (!Number.isInteger(revision) || revision <= 0) problems.push(`${label}: reply carried no revision`);
        maxAckedRevision = Math.max(maxAckedRevision, Number.isInteger(revision) ? revision : 0);
        const other = ackedRevisions.get(revision);
        if (other !== undefined) problems.push(`${label}: revision ${revision} also acknowledged for write #${other}`);
        ackedRevisions.set(revision, record.id);
        if (present === record.pairs.length && wrongValues.length === 0) {
          ackedFound++;
          if (!revisions.has(revision) || revisions.size !== 1) {
            problems.push(`${label}: stored at revision ${[...revisions].join(', ')}, reply said ${revision}`);
          }
        } else if (present === 0) {
          problems.push(`${label}: acknowledged at revision ${revision} but absent after restart`);
        }
        break;
      }
      case 'pending':
      case 'unknown':
        unknown++;
        if (present === 0) unknownAbsent++;
        else if (present === record.pairs.length) unknownPresent++;
        break;
      case 'rejected':
        rejected++;
        if (present > 0)
          problems.push(`${label}: rejected with HTTP ${record.httpStatus ?? '?'} but ${present} pair(s) present`);
        break;
    }
  }

  for (const [key, entry] of input.stored) {
    if (!expectedKeys.has(key))
      problems.push(`store holds ${key} (revision ${entry.modRevision}), which no write asked for`);
    if (entry.modRevision > input.revision)
      problems.push(`${key} has modRevision ${entry.modRevision} above the store revision ${input.revision}`);
  }
  if (input.revision < maxAckedRevision) {
    problems.push(`store revision ${input.revision} after restart is behind acknowledged revision ${maxAckedRevision}`);
  }
  if (input.revision < input.previousRevision) {
    problems.push(`store revision went backwards: ${input.revision} after restart, ${input.previousRevision} before`);
  }
  return {
    problems,
    acked,
    ackedFound,
    unknown,
    unknownPresent,
    unknownAbsent,
    rejected,
    maxAckedRevision,
    writesPresent,
  };
}
