// Binary layout of a key's record in lmdb. Hand-written rather than msgpack because it is on
// every GET: a fixed header read with DataView-free Buffer calls, value sliced without copy.
//
// Format 2 (written since records carry checksums):
//   u8 format(2) | u32 crc32(key as UTF-8) | u32 crc32(every byte after this field)
//   | f64 createRevision | f64 modRevision | f64 version | f64 updated
//   | f64 expires (NaN = none) | u8 contentType length | contentType (latin1) | value
// Format 1 (older stores): the same without the two checksums. The engine rewrites format-1
// records as format 2 when it opens such a store, and from then on refuses format 1 as damage
// (a flipped format byte must not turn off the check); see docs/durability.md.
//
// The key's own checksum catches a damaged key: LMDB would otherwise find the record under a
// key nobody wrote, and serve it there.

import { RecordDamagedError } from '../errors.js';
import type { StoredRecord } from '../txn-plan.js';
import { crc32 } from './crc32.js';

const FORMAT_1 = 1;
const FORMAT_2 = 2;
const HEADER_1 = 1 + 8 * 5 + 1;
const CHECKSUMS = 8;
const HEADER_2 = HEADER_1 + CHECKSUMS;

export function encodeRecord(record: StoredRecord, key: string): Buffer {
  const contentType = record.contentType ?? '';
  const typeLength = Buffer.byteLength(contentType, 'latin1');
  const buffer = Buffer.allocUnsafe(HEADER_2 + typeLength + record.value.length);
  buffer[0] = FORMAT_2;
  buffer.writeDoubleLE(record.createRevision, 9);
  buffer.writeDoubleLE(record.modRevision, 17);
  buffer.writeDoubleLE(record.version, 25);
  buffer.writeDoubleLE(record.updated, 33);
  buffer.writeDoubleLE(record.expires ?? Number.NaN, 41);
  buffer[49] = typeLength;
  buffer.write(contentType, HEADER_2, 'latin1');
  record.value.copy(buffer, HEADER_2 + typeLength);
  buffer.writeUInt32LE(crc32(key), 1);
  buffer.writeUInt32LE(crc32(buffer.subarray(1 + CHECKSUMS)), 5);
  return buffer;
}

/** How a stored record's bytes check out, for `kvs check` and the engine's reads. */
export type RecordState = 'ok' | 'unchecked' | 'damaged';

/**
 * Whether `buffer` is an intact record of `key`. 'unchecked': format 1 (no checksum), intact
 * as far as its length goes. `key` undefined: the key checksum is not checked.
 */
export function recordState(buffer: Buffer, key: string | undefined, acceptFormat1: boolean): RecordState {
  const format = buffer[0];
  if (format === FORMAT_2) {
    if (buffer.length < HEADER_2 || HEADER_2 + buffer[49]! > buffer.length) return 'damaged';
    if (key !== undefined && buffer.readUInt32LE(1) !== crc32(key)) return 'damaged';
    return buffer.readUInt32LE(5) === crc32(buffer.subarray(1 + CHECKSUMS)) ? 'ok' : 'damaged';
  }
  if (format === FORMAT_1 && acceptFormat1) {
    return buffer.length >= HEADER_1 && HEADER_1 + buffer[41]! <= buffer.length ? 'unchecked' : 'damaged';
  }
  return 'damaged';
}

/**
 * The record in `buffer`, after checking it (throws RecordDamagedError). `key` is the key it was
 * stored under (undefined skips the key's checksum: for callers that only need metadata).
 */
export function decodeRecord(buffer: Buffer, key?: string, acceptFormat1 = true): StoredRecord {
  if (recordState(buffer, key, acceptFormat1) === 'damaged') throw new RecordDamagedError(key ?? '');
  return buffer[0] === FORMAT_2 ? decodeAt(buffer, 1 + CHECKSUMS) : decodeAt(buffer, 1);
}

function decodeAt(buffer: Buffer, start: number): StoredRecord {
  const expires = buffer.readDoubleLE(start + 32);
  const typeLength = buffer[start + 40]!;
  const header = start + 41;
  return {
    createRevision: buffer.readDoubleLE(start),
    modRevision: buffer.readDoubleLE(start + 8),
    version: buffer.readDoubleLE(start + 16),
    updated: buffer.readDoubleLE(start + 24),
    expires: Number.isNaN(expires) ? null : expires,
    contentType: typeLength === 0 ? null : buffer.toString('latin1', header, header + typeLength),
    value: buffer.subarray(header + typeLength),
  };
}

/** Whether the record is in the old format without checksums (rewritten by the engine at open). */
export function isFormat1(buffer: Buffer): boolean {
  return buffer[0] === FORMAT_1;
}
