// Binary layout of a key's record in lmdb. Hand-written rather than msgpack because it is on
// every GET: a fixed 42-byte header read with DataView-free Buffer calls, value sliced without copy.
//
//   u8 format(1) | f64 createRevision | f64 modRevision | f64 version | f64 updated
//   | f64 expires (NaN = none) | u8 contentType length | contentType (latin1) | value

import type { StoredRecord } from '../txn-plan.js';

const FORMAT = 1;
const HEADER = 1 + 8 * 5 + 1;

export function encodeRecord(record: StoredRecord): Buffer {
  const contentType = record.contentType ?? '';
  const typeLength = Buffer.byteLength(contentType, 'latin1');
  const buffer = Buffer.allocUnsafe(HEADER + typeLength + record.value.length);
  buffer[0] = FORMAT;
  buffer.writeDoubleLE(record.createRevision, 1);
  buffer.writeDoubleLE(record.modRevision, 9);
  buffer.writeDoubleLE(record.version, 17);
  buffer.writeDoubleLE(record.updated, 25);
  buffer.writeDoubleLE(record.expires ?? Number.NaN, 33);
  buffer[41] = typeLength;
  buffer.write(contentType, HEADER, 'latin1');
  record.value.copy(buffer, HEADER + typeLength);
  return buffer;
}

export function decodeRecord(buffer: Buffer): StoredRecord {
  if (buffer[0] !== FORMAT) throw new Error(`unknown record format ${buffer[0]}`);
  const expires = buffer.readDoubleLE(33);
  const typeLength = buffer[41]!;
  return {
    createRevision: buffer.readDoubleLE(1),
    modRevision: buffer.readDoubleLE(9),
    version: buffer.readDoubleLE(17),
    updated: buffer.readDoubleLE(25),
    expires: Number.isNaN(expires) ? null : expires,
    contentType: typeLength === 0 ? null : buffer.toString('latin1', HEADER, HEADER + typeLength),
    value: buffer.subarray(HEADER + typeLength),
  };
}

/** Expiry time of an encoded record without decoding the rest (NaN = none). */
export function recordExpires(buffer: Buffer): number {
  return buffer.readDoubleLE(33);
}
