// Binary layout of one per-key history entry (docs/history.md), as the engines store it under
// its key and revision (so neither is in the bytes):
//
//   u8 0xb1 | u32 crc32(header JSON) | u32 crc32(value) | u32 header length
//   | header JSON [type, version, time, contentType, expires] | the value's bytes
//
// Two checksums: a page of entries without values checks the headers only, so listing a key's
// history does not read every value; reading a value checks both. A damaged entry is an error
// (record_damaged) instead of a wrong answer.

import type { ChangeType } from '../model/change-type.js';
import type { KeyVersion } from '../model/history.js';
import { RecordDamagedError } from './errors.js';
import { crc32 } from './lmdb/crc32.js';

const FORMAT = 0xb1;
const HEADER = 1 + 4 + 4 + 4;

/** A history entry that failed its checksum: answered like a damaged record (record_damaged). */
export class HistoryEntryDamagedError extends RecordDamagedError {
  constructor(key: string, revision: number) {
    super(key);
    this.message = `the history entry of key ${JSON.stringify(key)} at revision ${revision} failed its checksum`;
    this.name = 'HistoryEntryDamagedError';
  }
}

type StoredHeader = [ChangeType, number, number, string | null, number | null];

/** What a history entry holds besides its key and revision. */
export interface HistoryState {
  readonly type: ChangeType;
  readonly version: number;
  readonly time: number;
  readonly contentType: string | null;
  readonly expires: number | null;
  /** The value of a put; empty after a delete or an expiry. */
  readonly value: Uint8Array;
}

export function encodeHistoryEntry(state: HistoryState): Buffer {
  const header: StoredHeader = [state.type, state.version, state.time, state.contentType, state.expires];
  const text = JSON.stringify(header);
  const jsonLength = Buffer.byteLength(text, 'utf8');
  // Written in place: one allocation, not a Buffer of the JSON copied into the entry.
  const buffer = Buffer.allocUnsafe(HEADER + jsonLength + state.value.length);
  buffer[0] = FORMAT;
  buffer.write(text, HEADER, 'utf8');
  buffer.writeUInt32LE(crc32(buffer.subarray(HEADER, HEADER + jsonLength)), 1);
  buffer.writeUInt32LE(crc32(state.value), 5);
  buffer.writeUInt32LE(jsonLength, 9);
  buffer.set(state.value, HEADER + jsonLength);
  return buffer;
}

/** The entry stored under `key` and `revision`, with a copy of its value when `withValue`. */
export function decodeHistoryEntry(buffer: Uint8Array, key: string, revision: number, withValue: boolean): KeyVersion {
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const damaged = () => new HistoryEntryDamagedError(key, revision);
  if (bytes.length < HEADER || bytes[0] !== FORMAT) throw damaged();
  const jsonEnd = HEADER + bytes.readUInt32LE(9);
  if (jsonEnd > bytes.length || bytes.readUInt32LE(1) !== crc32(bytes.subarray(HEADER, jsonEnd))) throw damaged();
  const valueBytes = bytes.subarray(jsonEnd);
  if (withValue && bytes.readUInt32LE(5) !== crc32(valueBytes)) throw damaged();
  const [type, version, time, contentType, expires] = JSON.parse(
    bytes.toString('utf8', HEADER, jsonEnd),
  ) as StoredHeader;
  return {
    key,
    revision,
    version,
    type,
    time,
    size: valueBytes.length,
    contentType,
    expires,
    ...(withValue && type === 'put' && { value: Buffer.from(valueBytes) }),
  };
}
