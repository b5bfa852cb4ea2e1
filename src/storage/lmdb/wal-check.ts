// The write-ahead log part of `kvs check` (docs/durability.md, "kvs check"): reads DATA/wal with
// the start-up's own reader (wal-read.ts), so what it calls damage is exactly what makes the
// server refuse with wal_damaged, then decodes every record's payload (wal-commit.ts) and the
// records and change-log entries it carries. It also gathers, for `--salvage`, the final record
// of every key written by acknowledged commits lmdb does not hold yet.

import { auditEntryIntact } from '../audit-codec.js';
import { existsSync } from 'node:fs';
import type { StoredRecord } from '../txn-plan.js';
import { readWal } from '../wal/wal-read.js';
import { nodeWalFiles } from '../wal/wal-files.js';
import type { WalRecord } from '../wal/wal-scan.js';
import { logEntryIntact } from './log-codec.js';
import { decodeRecord, recordState } from './record-codec.js';
import { decodeWalCommit, WalPayloadError } from './wal-commit.js';

export interface WalCheckReport {
  readonly directory: string;
  /** false: the data directory has no WAL (a store that never ran with it, or `--wal off`). */
  readonly present: boolean;
  readonly segments: number;
  /** Good records in the segments, whether lmdb holds them already or not. */
  readonly records: number;
  readonly firstRevision: number | undefined;
  readonly lastRevision: number | undefined;
  /** Records after lmdb's revision: acknowledged commits only the WAL holds. */
  readonly unapplied: number;
  /** Keys whose newest state is only in the WAL. */
  readonly unappliedKeys: number;
  /** Damage (the server refuses to start on it); at most `listLimit`. */
  readonly problems: string[];
  readonly problemCount: number;
  /** What the server repairs by itself at start-up (a torn tail, an unborn segment). */
  readonly notes: string[];
}

export interface WalCheck {
  readonly report: WalCheckReport;
  /** For every key written by a record after lmdb's revision, its final record (null: deleted). */
  readonly finals: Map<string, StoredRecord | null>;
}

/** Checks the WAL in `directory` against lmdb's revision `checkpoint`. */
export async function checkWal(directory: string, checkpoint: number, listLimit: number): Promise<WalCheck> {
  const finals = new Map<string, StoredRecord | null>();
  const problems: string[] = [];
  const notes: string[] = [];
  let problemCount = 0;
  const problem = (text: string): void => {
    problemCount++;
    if (problems.length < listLimit) problems.push(text);
  };
  if (!existsSync(directory)) {
    return {
      report: {
        directory,
        present: false,
        segments: 0,
        records: 0,
        firstRevision: undefined,
        lastRevision: undefined,
        unapplied: 0,
        unappliedKeys: 0,
        problems,
        problemCount,
        notes,
      },
      finals,
    };
  }
  let records = 0;
  let unapplied = 0;
  const decodeRecords = (segment: string, segmentRecords: readonly WalRecord[]): void => {
    for (const record of segmentRecords) {
      const where = `WAL segment ${segment} at offset ${record.offset}`;
      const applies = record.revision > checkpoint;
      records++;
      if (applies) unapplied++;
      try {
        const { writes, logEntry, audit } = decodeWalCommit(record.payload, record.revision);
        for (const { key, encoded } of writes) {
          if (encoded !== null && recordState(encoded, key, false) === 'damaged') {
            problem(
              `${where}: the record of key ${JSON.stringify(key)} (revision ${record.revision}) fails its checksum`,
            );
            continue;
          }
          if (applies) finals.set(key, encoded === null ? null : decodeRecord(encoded, key, false));
        }
        if (!logEntryIntact(logEntry, record.revision))
          problem(`${where}: the change-log entry of revision ${record.revision} fails its checksum`);
        if (audit !== undefined && !auditEntryIntact(audit))
          problem(`${where}: the audit entry of revision ${record.revision} fails its checksum`);
      } catch (error) {
        if (!(error instanceof WalPayloadError)) throw error;
        problem(`${where}: ${error.message}`);
      }
    }
  };
  const reading = await readWal(directory, { checkpoint, files: nodeWalFiles, onRecords: decodeRecords });
  for (const damage of reading.damage) problem(damage.message);
  const { tail } = reading;
  if (tail.kind === 'torn')
    notes.push(
      `WAL segment ${tail.segment} has a torn tail at offset ${tail.offset} (${tail.reason}): never acknowledged; the server cuts it off at start-up`,
    );
  if (tail.kind === 'unborn')
    notes.push(`WAL segment ${tail.segment} was being created (${tail.reason}): the server removes it at start-up`);
  if (records > 0 && reading.lastRevision < checkpoint)
    notes.push(
      `every WAL record is at or below lmdb's revision ${checkpoint}: lmdb holds them all, and the server removes the segments at start-up`,
    );
  const empty = reading.firstRevision === undefined;
  return {
    report: {
      directory,
      present: true,
      segments: reading.segments.length,
      records,
      firstRevision: reading.firstRevision,
      lastRevision: empty ? undefined : reading.lastRevision,
      unapplied,
      unappliedKeys: finals.size,
      problems,
      problemCount,
      notes,
    },
    finals,
  };
}
