// Reads the records of one WAL segment held in memory and tells a torn tail from damage.
// Pure: the caller reads the file and decides what to do with the verdict (docs/wal.md, "Recovery").
//
// A crash or power loss can leave the last write of a segment incomplete: the file ends inside a
// record, or the file system extended the file and the unwritten bytes read as zeros. Records there
// were never acknowledged (acknowledgement waits for fdatasync), so they are cut off: a torn tail.
// Anything else that fails its checksum is damage to acknowledged data and must stop the start-up.
// The rule that separates the two: a bad record is a torn tail only if no valid record follows it.
// "Valid" means a frame whose revision is higher than the last good one and whose CRC-32C matches,
// so a false match needs a 1 in 2^32 coincidence on a frame that also claims a plausible revision.

import {
  decodeSegmentHeader,
  MAX_RECORD_PAYLOAD_BYTES,
  RECORD_ALIGNMENT,
  RECORD_HEADER_BYTES,
  readRevision,
  recordChecksum,
  recordSize,
  SEGMENT_HEADER_BYTES,
} from './wal-format.js';

/**
 * One record of a segment, as a view into the segment's bytes. `payload` makes a new Buffer view
 * at each call; a reader of many records (the start-up's replay) reads `bytes` from
 * `payloadStart` instead, so that a scan allocates one small object per record and nothing else.
 */
export class WalRecord {
  constructor(
    readonly revision: number,
    /** Where the record's frame starts in its segment file. */
    readonly offset: number,
    /** The whole segment. */
    readonly bytes: Buffer,
    readonly payloadStart: number,
    readonly payloadLength: number,
  ) {}

  get payload(): Buffer {
    return this.bytes.subarray(this.payloadStart, this.payloadStart + this.payloadLength);
  }
}

export type SegmentScan =
  /** Every byte after the header is a valid record, up to `end`; only zeros follow it. */
  | { readonly kind: 'clean'; readonly firstRevision: number; readonly records: WalRecord[]; readonly end: number }
  /** Valid records up to `end`, then an incomplete or damaged frame with nothing valid after it. */
  | {
      readonly kind: 'torn';
      readonly firstRevision: number;
      readonly records: WalRecord[];
      readonly end: number;
      readonly reason: string;
    }
  /** The segment header is missing or incomplete: the segment was being created. */
  | { readonly kind: 'unborn'; readonly reason: string }
  /**
   * A bad frame with valid data after it, a bad header, or revisions out of order. `records`: the
   * good records before `offset` (for `kvs check --salvage`; the start-up refuses the segment).
   */
  | { readonly kind: 'damaged'; readonly offset: number; readonly reason: string; readonly records: WalRecord[] };

/**
 * Scans `bytes`, the whole content of one segment. Revisions go up by one from record to record;
 * `expectedFirst` is the revision the segment must start with (the one after the previous
 * segment's last record), or undefined for the oldest segment, which starts where its header says.
 */
export function scanSegment(bytes: Buffer, expectedFirst?: number): SegmentScan {
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    return { kind: 'unborn', reason: `segment is ${bytes.length} bytes, shorter than its header` };
  }
  const header = decodeSegmentHeader(bytes);
  if (!header.ok) {
    // A header that is all zeros was allocated but never written: the segment was being created.
    if (isZero(bytes, 0, SEGMENT_HEADER_BYTES) && isZero(bytes, SEGMENT_HEADER_BYTES, bytes.length)) {
      return { kind: 'unborn', reason: 'segment header was never written' };
    }
    return { kind: 'damaged', offset: 0, reason: header.reason, records: [] };
  }
  const firstRevision = header.firstRevision;
  if (expectedFirst !== undefined && firstRevision !== expectedFirst) {
    return {
      kind: 'damaged',
      offset: 0,
      reason: `segment starts at revision ${firstRevision}, expected ${expectedFirst} (a segment is missing or misplaced)`,
      records: [],
    };
  }
  const records: WalRecord[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  let last = firstRevision - 1;
  while (offset < bytes.length) {
    const problem = frameProblem(bytes, offset, last);
    if (problem === undefined) {
      const length = bytes.readUInt32LE(offset);
      const revision = last + 1;
      records.push(new WalRecord(revision, offset, bytes, offset + RECORD_HEADER_BYTES, length));
      last = revision;
      offset += recordSize(length);
      continue;
    }
    // Zeros to the end are the segment's preallocated space (write-ahead-log.ts), or what a crash
    // leaves after a size-extending write whose data never reached the disk. Either way they carry
    // no record: the segment is clean, its records end here, and appends go on here. A record lost
    // to zeros in an older segment is still caught: the next segment's first revision no longer
    // follows (readWal's chain check).
    if (isZero(bytes, offset, bytes.length)) break;
    const later = findValidFrame(bytes, offset + RECORD_ALIGNMENT, last);
    if (later !== undefined) {
      return { kind: 'damaged', offset, reason: `${problem}; a valid record follows at offset ${later}`, records };
    }
    return { kind: 'torn', firstRevision, records, end: offset, reason: problem };
  }
  return { kind: 'clean', firstRevision, records, end: offset };
}

/** Why the frame at `offset` is not the valid record of revision `last + 1`, or undefined. */
function frameProblem(bytes: Buffer, offset: number, last: number): string | undefined {
  if (bytes.length - offset < RECORD_HEADER_BYTES) return `record header cut off at offset ${offset}`;
  const length = bytes.readUInt32LE(offset);
  if (length > MAX_RECORD_PAYLOAD_BYTES) return `record length ${length} at offset ${offset} is out of range`;
  if (offset + RECORD_HEADER_BYTES + length > bytes.length) return `record at offset ${offset} is cut off`;
  if (recordChecksum(bytes, offset, length) !== bytes.readUInt32LE(offset + 4)) {
    return `record checksum mismatch at offset ${offset}`;
  }
  const revision = readRevision(bytes, offset + 8);
  if (revision !== last + 1) return `record at offset ${offset} has revision ${revision}, expected ${last + 1}`;
  return undefined;
}

/**
 * The offset of the first valid frame at or after `from` whose revision follows `last`, or
 * undefined. Cheap checks (alignment, length fits, revision plausible) come before the checksum,
 * so a scan over a damaged region computes few CRCs.
 */
function findValidFrame(bytes: Buffer, from: number, last: number): number | undefined {
  const start = from + ((RECORD_ALIGNMENT - (from % RECORD_ALIGNMENT)) % RECORD_ALIGNMENT);
  for (let offset = start; offset + RECORD_HEADER_BYTES <= bytes.length; offset += RECORD_ALIGNMENT) {
    const length = bytes.readUInt32LE(offset);
    if (offset + RECORD_HEADER_BYTES + length > bytes.length) continue;
    const revision = readRevision(bytes, offset + 8);
    // At most one record per 8 bytes of segment, so a later record's revision is within that span.
    if (revision <= last || revision > last + bytes.length) continue;
    if (recordChecksum(bytes, offset, length) === bytes.readUInt32LE(offset + 4)) return offset;
  }
  return undefined;
}

function isZero(bytes: Buffer, from: number, to: number): boolean {
  for (let index = from; index < to; index++) if (bytes[index] !== 0) return false;
  return true;
}
