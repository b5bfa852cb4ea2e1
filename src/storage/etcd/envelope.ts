// The etcd value of a kvs key: the kvs metadata etcd does not keep, then the value itself.
// etcd keeps the revisions and the version; the envelope adds the rest in a fixed binary layout
// (11 bytes for a plain key without expiry or content type):
//
//   u8 format (1) | u8 flags | f64 updated
//   | f64 expires                              (flags & 1)
//   | f64 versionOffset | f64 createRevision   (flags & 2)
//   | u8 contentType length | contentType (latin1) | value
//
// versionOffset and createRevision exist because etcd cannot start a new incarnation of a key
// that still exists (a put over an expired key that etcd has not deleted yet, or a delete and a
// put of one key in one transaction: etcd allows one write per key per transaction). kvs
// version = etcd version - versionOffset; createRevision 0 = etcd's create_revision, -1 = this
// write's own mod_revision, > 0 = that revision. Keys with such fields, and keys with an expiry,
// always carry an etcd lease; the commit fast path relies on that (etcd-commit.ts).

import type { IKeyValue } from 'etcd3';
import type { StoredRecord } from '../txn-plan.js';

const FORMAT = 1;
const HAS_EXPIRES = 1;
const HAS_INCARNATION = 2;

export interface Envelope {
  readonly updated: number;
  readonly expires: number | null;
  readonly contentType: string | null;
  readonly versionOffset: number;
  readonly createRevision: number;
  readonly value: Buffer;
}

/** The most bytes the envelope of a value takes (every optional field present). */
export function envelopeBytes(valueBytes: number, contentTypeBytes: number): number {
  return 3 + 8 * 4 + contentTypeBytes + valueBytes;
}

export function encodeEnvelope(envelope: Envelope): Buffer {
  const contentType = envelope.contentType ?? '';
  const typeLength = Buffer.byteLength(contentType, 'latin1');
  const hasExpires = envelope.expires !== null;
  const hasIncarnation = envelope.versionOffset !== 0 || envelope.createRevision !== 0;
  const header = 2 + 8 + (hasExpires ? 8 : 0) + (hasIncarnation ? 16 : 0) + 1;
  const buffer = Buffer.allocUnsafe(header + typeLength + envelope.value.length);
  buffer[0] = FORMAT;
  buffer[1] = (hasExpires ? HAS_EXPIRES : 0) | (hasIncarnation ? HAS_INCARNATION : 0);
  let offset = buffer.writeDoubleLE(envelope.updated, 2);
  if (hasExpires) offset = buffer.writeDoubleLE(envelope.expires!, offset);
  if (hasIncarnation) {
    offset = buffer.writeDoubleLE(envelope.versionOffset, offset);
    offset = buffer.writeDoubleLE(envelope.createRevision, offset);
  }
  buffer[offset] = typeLength;
  buffer.write(contentType, offset + 1, 'latin1');
  envelope.value.copy(buffer, offset + 1 + typeLength);
  return buffer;
}

/** A value not written by kvs (format byte unknown) is read as a bare value. */
export function decodeEnvelope(buffer: Buffer): Envelope {
  if (buffer.length < 11 || buffer[0] !== FORMAT) {
    return { updated: 0, expires: null, contentType: null, versionOffset: 0, createRevision: 0, value: buffer };
  }
  const flags = buffer[1]!;
  const updated = buffer.readDoubleLE(2);
  let offset = 10;
  let expires: number | null = null;
  if (flags & HAS_EXPIRES) {
    expires = buffer.readDoubleLE(offset);
    offset += 8;
  }
  let versionOffset = 0;
  let createRevision = 0;
  if (flags & HAS_INCARNATION) {
    versionOffset = buffer.readDoubleLE(offset);
    createRevision = buffer.readDoubleLE(offset + 8);
    offset += 16;
  }
  const typeLength = buffer[offset]!;
  const typeStart = offset + 1;
  return {
    updated,
    expires,
    contentType: typeLength === 0 ? null : buffer.toString('latin1', typeStart, typeStart + typeLength),
    versionOffset,
    createRevision,
    value: buffer.subarray(typeStart + typeLength),
  };
}

/** The kvs record of an etcd key-value: revisions and version from etcd, the rest from the envelope. */
export function recordOf(kv: IKeyValue): StoredRecord {
  const envelope = decodeEnvelope(kv.value);
  const modRevision = Number(kv.mod_revision);
  return {
    value: envelope.value,
    contentType: envelope.contentType,
    expires: envelope.expires,
    updated: envelope.updated,
    modRevision,
    version: Number(kv.version) - envelope.versionOffset,
    createRevision:
      envelope.createRevision === 0
        ? Number(kv.create_revision)
        : envelope.createRevision === -1
          ? modRevision
          : envelope.createRevision,
  };
}
