// The bytes of the write-ahead log: segment headers, record frames and segment file names.
// Pure functions, no I/O. The format and the reasons behind it are in docs/wal.md.
//
// A segment file is a 32-byte header followed by records, each aligned to 8 bytes:
//
//   segment header  magic "KVSWAL\0\n" (8) | format u32 | reserved u32 | first revision u64 |
//                   CRC-32C of the previous 24 bytes u32 | zero u32
//   record          payload length u32 | CRC-32C u32 | revision u64 | payload | zero padding to 8
//
// The record CRC covers the length, the revision and the payload, so a damaged length field is
// caught like a damaged payload. Integers are little-endian; u64 revisions stay below 2^53.

import { crc32c } from '@node-rs/crc32';

export const SEGMENT_MAGIC = Buffer.from('KVSWAL\0\n', 'latin1');
export const SEGMENT_FORMAT = 1;
export const SEGMENT_HEADER_BYTES = 32;
export const RECORD_HEADER_BYTES = 16;
/** Records start on 8-byte boundaries, so a header never straddles a 512-byte sector. */
export const RECORD_ALIGNMENT = 8;
/** The largest payload a record may carry (a commit is bounded far below this by docs/limits.md). */
export const MAX_RECORD_PAYLOAD_BYTES = 1024 * 1024 * 1024;

const SEGMENT_NAME = /^(\d{20})\.wal$/;

/** File name of the segment whose first record has `firstRevision`: sorts in revision order. */
export function segmentFileName(firstRevision: number): string {
  return `${String(firstRevision).padStart(20, '0')}.wal`;
}

/** The first revision named by a segment file name, or undefined for any other file. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return undefined;
  const revision = Number(match[1]);
  return Number.isSafeInteger(revision) ? revision : undefined;
}

export function encodeSegmentHeader(firstRevision: number): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SEGMENT_FORMAT, 8);
  writeRevision(header, 16, firstRevision);
  header.writeUInt32LE(crc32c(header.subarray(0, 24)), 24);
  return header;
}

export type SegmentHeaderCheck =
  | { readonly ok: true; readonly firstRevision: number }
  | { readonly ok: false; readonly reason: string };

export function decodeSegmentHeader(bytes: Buffer): SegmentHeaderCheck {
  if (bytes.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: 'segment header is incomplete' };
  if (!bytes.subarray(0, 8).equals(SEGMENT_MAGIC)) return { ok: false, reason: 'not a kvs WAL segment (bad magic)' };
  if (bytes.readUInt32LE(24) !== crc32c(bytes.subarray(0, 24))) {
    return { ok: false, reason: 'segment header checksum mismatch' };
  }
  const format = bytes.readUInt32LE(8);
  if (format !== SEGMENT_FORMAT) return { ok: false, reason: `unknown WAL format ${format}` };
  return { ok: true, firstRevision: readRevision(bytes, 16) };
}

/** Bytes a record with a payload of `payloadBytes` takes on disk, padding included. */
export function recordSize(payloadBytes: number): number {
  const size = RECORD_HEADER_BYTES + payloadBytes;
  return size + ((RECORD_ALIGNMENT - (size % RECORD_ALIGNMENT)) % RECORD_ALIGNMENT);
}

/** Writes one record frame into `target` at `offset`; returns the offset after it. */
export function encodeRecordInto(target: Buffer, offset: number, revision: number, payload: Uint8Array): number {
  const size = recordSize(payload.length);
  target.writeUInt32LE(payload.length, offset);
  writeRevision(target, offset + 8, revision);
  target.set(payload, offset + RECORD_HEADER_BYTES);
  target.fill(0, offset + RECORD_HEADER_BYTES + payload.length, offset + size);
  target.writeUInt32LE(recordChecksum(target, offset, payload.length), offset + 4);
  return offset + size;
}

export function encodeRecord(revision: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(recordSize(payload.length));
  encodeRecordInto(frame, 0, revision, payload);
  return frame;
}

/** CRC-32C of a record's length, revision and payload (the frame at `offset` of `bytes`). */
export function recordChecksum(bytes: Buffer, offset: number, payloadBytes: number): number {
  // The 4 length bytes in JS: a native call (and a Buffer view) for them cost as much as the
  // payload's own at start-up, when every record of a full log is checked.
  let lengthCrc = 0xffffffff;
  for (let index = offset; index < offset + 4; index++)
    lengthCrc = CRC32C_TABLE[(lengthCrc ^ bytes[index]!) & 0xff]! ^ (lengthCrc >>> 8);
  return crc32c(
    bytes.subarray(offset + 8, offset + RECORD_HEADER_BYTES + payloadBytes),
    (lengthCrc ^ 0xffffffff) >>> 0,
  );
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of every byte value. */
const CRC32C_TABLE = Int32Array.from({ length: 256 }, (_, value) => {
  let crc = value;
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0x82f63b78 ^ (crc >>> 1) : crc >>> 1;
  return crc;
});

export function writeRevision(target: Buffer, offset: number, revision: number): void {
  if (!Number.isSafeInteger(revision) || revision < 0) throw new RangeError(`invalid WAL revision ${revision}`);
  target.writeUInt32LE(revision % 0x1_0000_0000, offset);
  target.writeUInt32LE(Math.floor(revision / 0x1_0000_0000), offset + 4);
}

export function readRevision(source: Buffer, offset: number): number {
  return source.readUInt32LE(offset) + source.readUInt32LE(offset + 4) * 0x1_0000_0000;
}
