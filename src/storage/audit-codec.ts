// Binary layout of one audit entry (docs/audit.md), as lmdb stores it under its revision and etcd
// under its entry key (whose create_revision is the commit's revision, so the revision is not in
// the bytes):
//
//   u8 0xa1 | u32 crc32(every byte after this field) | f64 time (ms, LE)
//   | JSON [tokenId, label, via, address, keys, keyCount]
//
// The checksum makes a damaged entry an error (record_damaged) instead of a wrong answer.

import type { AuditEntry, WriteVia } from '../model/audit.js';
import { RecordDamagedError } from './errors.js';
import { crc32 } from './lmdb/crc32.js';

const FORMAT = 0xa1;
const HEADER = 1 + 4;

/** An audit entry that failed its checksum: answered like a damaged record (record_damaged). */
export class AuditEntryDamagedError extends RecordDamagedError {
  constructor(readonly revision: number) {
    super('');
    this.message = `the audit entry of revision ${revision} failed its checksum`;
    this.name = 'AuditEntryDamagedError';
  }
}

type StoredAudit = [string | null, string | null, WriteVia, string | null, string[], number];

export function encodeAuditEntry(entry: AuditEntry): Buffer {
  const stored: StoredAudit = [entry.tokenId, entry.label, entry.via, entry.address, [...entry.keys], entry.keyCount];
  const text = JSON.stringify(stored);
  // Written in place: one allocation, not a Buffer of the JSON copied into the entry.
  const buffer = Buffer.allocUnsafe(HEADER + 8 + Buffer.byteLength(text, 'utf8'));
  buffer[0] = FORMAT;
  buffer.writeDoubleLE(entry.time, HEADER);
  buffer.write(text, HEADER + 8, 'utf8');
  buffer.writeUInt32LE(crc32(buffer.subarray(HEADER)), 1);
  return buffer;
}

/** The time of an entry without decoding the rest (rotation by age); throws when damaged. */
export function auditEntryTime(buffer: Uint8Array, revision: number): number {
  const bytes = checked(buffer, revision);
  return bytes.readDoubleLE(HEADER);
}

/** auditEntryTime, or NaN when the entry is damaged (rotation then goes by bytes alone). */
export function auditTimeOrNaN(buffer: Uint8Array, revision: number): number {
  try {
    return auditEntryTime(buffer, revision);
  } catch {
    return Number.NaN;
  }
}

export function decodeAuditEntry(buffer: Uint8Array, revision: number): AuditEntry {
  const bytes = checked(buffer, revision);
  const [tokenId, label, via, address, keys, keyCount] = JSON.parse(bytes.toString('utf8', HEADER + 8)) as StoredAudit;
  return { revision, time: bytes.readDoubleLE(HEADER), tokenId, label, via, address, keys, keyCount };
}

/** Whether the bytes are an intact entry (kvs check). */
export function auditEntryIntact(buffer: Uint8Array): boolean {
  try {
    checked(buffer, 0);
    return true;
  } catch {
    return false;
  }
}

function checked(buffer: Uint8Array, revision: number): Buffer {
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (bytes.length < HEADER + 8 || bytes[0] !== FORMAT || bytes.readUInt32LE(1) !== crc32(bytes.subarray(HEADER)))
    throw new AuditEntryDamagedError(revision);
  return bytes;
}
