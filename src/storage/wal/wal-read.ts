// Reads every segment of a WAL directory and judges it by the recovery rules of docs/wal.md
// ("Recovery"), without changing anything: the one reader behind both the start-up
// (WriteAheadLog.open, which refuses on damage and then cuts the tail) and `kvs check`, which
// reports what it found. Damage does not stop the reading, so a check can list every problem;
// the start-up refuses on the first one.

import { join } from 'node:path';
import { parseSegmentFileName } from './wal-format.js';
import type { WalFiles } from './wal-files.js';
import { scanSegment, type WalRecord } from './wal-scan.js';

export interface WalSegmentName {
  readonly name: string;
  readonly firstRevision: number;
}

/** Damage to acknowledged records: the start-up refuses with wal_damaged. */
export interface WalDamage {
  readonly segment: string;
  readonly offset: number;
  readonly message: string;
}

/** What the start-up tolerates and repairs: a torn or unborn newest segment. */
export type WalTail =
  | { readonly kind: 'intact' }
  /** The newest segment ends in an incomplete or damaged record at `offset`: it is cut there. */
  | { readonly kind: 'torn'; readonly segment: string; readonly offset: number; readonly reason: string }
  /** The newest segment holds no header: it was being created, and is removed. */
  | { readonly kind: 'unborn'; readonly segment: string; readonly reason: string };

export interface WalReading {
  /** The segment files, oldest first (names that are not segments are ignored). */
  readonly segments: WalSegmentName[];
  /** The records after the checkpoint, in revision order: what a start-up replays. */
  readonly replay: WalRecord[];
  /** Every damage found, in segment order; empty when the log can be replayed. */
  readonly damage: WalDamage[];
  readonly tail: WalTail;
  /** The newest good record's revision, or the checkpoint when there is none. */
  readonly lastRevision: number;
  /** The revision of the oldest record, or undefined when there is none. */
  readonly firstRevision: number | undefined;
  /** How many good records the segments hold, covered by the checkpoint or not. */
  readonly records: number;
  /** The newest segment's length, and where its last good record ends. */
  readonly tailSize: number;
  readonly tailEnd: number;
}

export interface WalReadOptions {
  /** Revision the checkpointed index already holds. */
  readonly checkpoint: number;
  readonly files: WalFiles;
  /** Called with every good record of each segment (for `kvs check`, which decodes them). */
  readonly onRecords?: (segment: string, records: readonly WalRecord[]) => void;
}

export async function readWal(directory: string, options: WalReadOptions): Promise<WalReading> {
  const { checkpoint, files } = options;
  const segments = (await files.list(directory))
    .map((name) => ({ name, firstRevision: parseSegmentFileName(name) }))
    .filter((entry): entry is WalSegmentName => entry.firstRevision !== undefined)
    .sort((a, b) => a.firstRevision - b.firstRevision);

  const replay: WalRecord[] = [];
  const damage: WalDamage[] = [];
  const damaged = (segment: string, offset: number, message: string): void => {
    damage.push({ segment, offset, message: `WAL segment ${segment} is damaged at offset ${offset}: ${message}` });
  };
  let tail: WalTail = { kind: 'intact' };
  let expectedFirst: number | undefined;
  let tailEnd = 0;
  let tailSize = 0;
  let records = 0;
  let firstRevision: number | undefined;
  /** The newest record's revision (segments chain, so it only grows). */
  let lastRevision = checkpoint;
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!;
    const newest = index === segments.length - 1;
    const bytes = await files.readFile(join(directory, segment.name));
    const scan = scanSegment(bytes, expectedFirst);
    if (scan.kind === 'damaged') {
      damaged(segment.name, scan.offset, scan.reason);
      options.onRecords?.(segment.name, scan.records);
      // Where the damaged segment's records end is unknown: the next one is read on its own terms.
      expectedFirst = undefined;
      continue;
    }
    if (!newest && scan.kind !== 'clean') {
      const offset = scan.kind === 'torn' ? scan.end : 0;
      damaged(segment.name, offset, `${scan.reason}, and newer segments follow it`);
      expectedFirst = undefined;
      continue;
    }
    if (scan.kind === 'unborn') {
      tail = { kind: 'unborn', segment: segment.name, reason: scan.reason };
      tailEnd = 0;
      tailSize = bytes.length;
      break;
    }
    if (scan.firstRevision !== segment.firstRevision) {
      damage.push({
        segment: segment.name,
        offset: 0,
        message: `WAL segment ${segment.name} says it starts at revision ${scan.firstRevision}`,
      });
      expectedFirst = undefined;
      continue;
    }
    if (index === 0 && scan.firstRevision > checkpoint + 1) {
      damage.push({
        segment: segment.name,
        offset: 0,
        message: `WAL segments for revisions ${checkpoint + 1} to ${scan.firstRevision - 1} are missing (the index holds revision ${checkpoint})`,
      });
    }
    if (scan.kind === 'torn') tail = { kind: 'torn', segment: segment.name, offset: scan.end, reason: scan.reason };
    options.onRecords?.(segment.name, scan.records);
    for (const record of scan.records) if (record.revision > checkpoint) replay.push(record);
    records += scan.records.length;
    firstRevision ??= scan.records.length > 0 ? scan.firstRevision : undefined;
    const last = scan.firstRevision + scan.records.length - 1;
    lastRevision = last;
    expectedFirst = last + 1;
    tailEnd = scan.end;
    tailSize = bytes.length;
  }
  return { segments, replay, damage, tail, lastRevision, firstRevision, records, tailSize, tailEnd };
}
