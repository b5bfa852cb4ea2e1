// Binary layout of a change-log entry (the events of one revision, for watch catch-up and
// history), with checksums like the records of record-codec.ts:
//
// Format 2: u8 0xc1 | u32 crc32(revision as f64 LE) | u32 crc32(every byte after this field)
//           | u32 length of the JSON | JSON of the events, each value replaced by its length
//           | the values' bytes, in order (raw, as in the records)
// Format 1 (stores from before this format): lmdb-js's msgpack of the events, no checksum.
// 0xc1 is the one byte msgpack never uses, so no format-1 entry starts with it. The engine
// records at open from which revision every entry is format 2 (LOG_CHECKSUMMED_FROM in the meta
// sub-database): an entry from there on that is not an intact format 2 is damage, so a flipped
// first byte cannot turn the check off; older entries stay readable as they are
// (docs/durability.md).

import type { ChangeEvent } from '../../model/events.js';
import { RecordDamagedError } from '../errors.js';
import { crc32 } from './crc32.js';

const FORMAT_2 = 0xc1;
const HEADER = 1 + 4 + 4;

/** A change-log entry that failed its checksum: answered like a damaged record (record_damaged). */
export class ChangeLogDamagedError extends RecordDamagedError {
  constructor(readonly revision: number) {
    super('');
    this.message = `the change-log entry of revision ${revision} failed its checksum`;
    this.name = 'ChangeLogDamagedError';
  }
}

/** Scratch for revisionChecksum (one allocation per entry was a visible share of a commit). */
const revisionBytes = Buffer.allocUnsafe(8);

function revisionChecksum(revision: number): number {
  revisionBytes.writeDoubleLE(revision, 0);
  return crc32(revisionBytes);
}

interface StoredEvent extends Omit<ChangeEvent, 'value'> {
  /** The value's length in bytes (the bytes follow the JSON). */
  readonly value?: number | null;
}

export function encodeLogEntry(revision: number, events: readonly ChangeEvent[]): Buffer {
  let valueBytes = 0;
  const stored = events.map((event): StoredEvent => {
    const value = event.value;
    if (value === undefined || value === null) return event as StoredEvent;
    valueBytes += value.length;
    return { ...event, value: value.length };
  });
  const text = JSON.stringify(stored);
  const jsonLength = Buffer.byteLength(text, 'utf8');
  // One allocation, written in place (it was a Buffer for the JSON and a concat of all parts).
  const buffer = Buffer.allocUnsafe(HEADER + 4 + jsonLength + valueBytes);
  buffer.write(text, HEADER + 4, 'utf8');
  let at = HEADER + 4 + jsonLength;
  for (const event of events) if (event.value !== undefined && event.value !== null) at += event.value.copy(buffer, at);
  buffer[0] = FORMAT_2;
  buffer.writeUInt32LE(jsonLength, HEADER);
  buffer.writeUInt32LE(revisionChecksum(revision), 1);
  buffer.writeUInt32LE(crc32(buffer.subarray(HEADER)), 5);
  return buffer;
}

/** Whether the entry is in format 2 (else it is an older msgpack entry, or damaged). */
export function isLogFormat2(buffer: Uint8Array): boolean {
  return buffer[0] === FORMAT_2;
}

/** Whether `buffer` is an intact format-2 entry stored under `revision`. */
export function logEntryIntact(buffer: Uint8Array, revision: number): boolean {
  if (buffer.length < HEADER || buffer[0] !== FORMAT_2) return false;
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return (
    bytes.readUInt32LE(1) === revisionChecksum(revision) && bytes.readUInt32LE(5) === crc32(bytes.subarray(HEADER))
  );
}

/** The events of an intact format-2 entry; throws ChangeLogDamagedError otherwise. */
export function decodeLogEntry(buffer: Uint8Array, revision: number): ChangeEvent[] {
  if (!logEntryIntact(buffer, revision)) throw new ChangeLogDamagedError(revision);
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  // Intact bytes decode: a failure here would be a bug, not damage, and is not hidden as damage.
  const jsonEnd = HEADER + 4 + bytes.readUInt32LE(HEADER);
  const stored = JSON.parse(bytes.toString('utf8', HEADER + 4, jsonEnd)) as StoredEvent[];
  let at = jsonEnd;
  return stored.map((event) => {
    if (typeof event.value !== 'number') return event as ChangeEvent;
    // A copy: the bytes may live in lmdb-js's reused read buffer.
    const value = Buffer.from(bytes.subarray(at, at + event.value));
    at += event.value;
    return { ...event, value };
  });
}
