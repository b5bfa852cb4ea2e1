// One committed transaction as the payload of a WAL record (docs/wal.md, "Records of the lmdb
// engine"). It carries the bytes lmdb stores, so that applying a commit while running and
// replaying it at start-up write exactly the same records and change-log entry:
//
//   u32 write count, its top bit set when an audit section follows the writes
//   per write: u32 key length | key (UTF-8) | u32 record length (0xFFFFFFFF: the key is deleted)
//              | record (record-codec.ts)
//   when the top bit is set: u32 audit entry length | the audit entry (audit-codec.ts)
//   the change-log entry (log-codec.ts), to the end of the payload
//
// Payloads written before the audit trail have the top bit clear (no commit has 2^31 writes)
// and replay as before, without an audit entry.
//
// Integers are little-endian. The WAL frame's CRC-32C covers the payload; the record and the
// log entry also keep their own checksums, as lmdb stores them.

import type { HistoryWrite } from '../key-history.js';
import type { StoredRecord } from '../txn-plan.js';

export interface CommitWrite {
  readonly key: string;
  /** The key's new record, or null when the commit deletes it. */
  readonly record: StoredRecord | null;
  /** `record` as lmdb stores it (record-codec.ts), or null. */
  readonly encoded: Buffer | null;
  /** The record before this commit, for the expiry and recent indexes. */
  readonly previous: StoredRecord | undefined;
}

/** A commit ready to be written to lmdb: its revision, its records and its change-log entry. */
export interface EncodedCommit {
  readonly revision: number;
  readonly writes: readonly CommitWrite[];
  /** The change-log entry (log-codec.ts). */
  readonly logEntry: Buffer;
  /** The commit's audit entry (audit-codec.ts) and its time; undefined in payloads from before the audit trail. */
  readonly audit?: { readonly bytes: Buffer; readonly time: number } | undefined;
  /**
   * The commit's per-key history entries (key-history.ts); not in the WAL payload: the start-up's
   * replay makes the same ones from the records, the change-log entry and the audit entry's time.
   */
  readonly history?: readonly HistoryWrite[] | undefined;
}

export interface DecodedWrite {
  readonly key: string;
  readonly encoded: Buffer | null;
}

/** A WAL payload that does not parse: the frame's checksum held, so this is a kvs defect or damage. */
export class WalPayloadError extends Error {
  constructor(revision: number, reason: string) {
    super(`the WAL record of revision ${revision} does not parse: ${reason}`);
    this.name = 'WalPayloadError';
  }
}

const DELETED = 0xffffffff;
/** The write count's top bit: an audit section follows the writes. */
const HAS_AUDIT = 0x80000000;

export function encodeWalCommit(commit: EncodedCommit): Buffer {
  const audit = commit.audit?.bytes;
  let size = 4 + commit.logEntry.length + (audit === undefined ? 0 : 4 + audit.length);
  const keys: Buffer[] = [];
  for (const write of commit.writes) {
    const key = Buffer.from(write.key, 'utf8');
    keys.push(key);
    size += 8 + key.length + (write.encoded?.length ?? 0);
  }
  const payload = Buffer.allocUnsafe(size);
  let offset = payload.writeUInt32LE((commit.writes.length | (audit === undefined ? 0 : HAS_AUDIT)) >>> 0, 0);
  commit.writes.forEach((write, index) => {
    const key = keys[index]!;
    offset = payload.writeUInt32LE(key.length, offset);
    offset += key.copy(payload, offset);
    offset = payload.writeUInt32LE(write.encoded === null ? DELETED : write.encoded.length, offset);
    if (write.encoded !== null) offset += write.encoded.copy(payload, offset);
  });
  if (audit !== undefined) {
    offset = payload.writeUInt32LE(audit.length, offset);
    offset += audit.copy(payload, offset);
  }
  commit.logEntry.copy(payload, offset);
  return payload;
}

export function decodeWalCommit(
  payload: Buffer,
  revision: number,
): { writes: DecodedWrite[]; logEntry: Buffer; audit: Buffer | undefined } {
  const writes: DecodedWrite[] = [];
  let audit: Buffer | undefined;
  const logStart = walkWalCommit(
    payload,
    0,
    payload.length,
    revision,
    (keyStart, keyEnd, recordStart, recordLength) =>
      writes.push({
        key: payload.toString('utf8', keyStart, keyEnd),
        encoded: recordLength === DELETED_RECORD ? null : payload.subarray(recordStart, recordStart + recordLength),
      }),
    (start, length) => {
      audit = payload.subarray(start, start + length);
    },
  );
  return { writes, logEntry: payload.subarray(logStart), audit };
}

/** Where a payload's audit entry lies, told to walkWalCommit's audit visitor. */
export type WalAuditVisitor = (start: number, length: number) => void;

/** Where a payload's writes lie, told to walkWalCommit's visitor (offsets into `bytes`). */
export type WalWriteVisitor = (keyStart: number, keyEnd: number, recordStart: number, recordLength: number) => void;

/** `recordLength` of a write that deletes its key. */
export const DELETED_RECORD = -1;

/**
 * Walks the writes of the payload at `bytes[start, end)` without copying or decoding anything:
 * for each write, `visit` gets where its key's UTF-8 bytes and its record lie (recordLength
 * DELETED_RECORD for a deletion). Returns where the change-log entry starts. For the start-up's
 * replay, which needs every key but only the final record per key and the last change-log
 * entries, so that decoding all of a full log's commits (decodeWalCommit) is not its cost.
 */
export function walkWalCommit(
  bytes: Buffer,
  start: number,
  end: number,
  revision: number,
  visit: WalWriteVisitor,
  visitAudit?: WalAuditVisitor,
): number {
  const need = (offset: number, count: number): void => {
    if (offset + count > end) throw new WalPayloadError(revision, `ends at byte ${end - start}`);
  };
  need(start, 4);
  const word = bytes.readUInt32LE(start);
  const count = word & ~HAS_AUDIT;
  let offset = start + 4;
  for (let index = 0; index < count; index++) {
    need(offset, 4);
    const keyLength = bytes.readUInt32LE(offset);
    const keyStart = offset + 4;
    need(keyStart, keyLength + 4);
    const keyEnd = keyStart + keyLength;
    const recordLength = bytes.readUInt32LE(keyEnd);
    offset = keyEnd + 4;
    if (recordLength === DELETED) {
      visit(keyStart, keyEnd, offset, DELETED_RECORD);
      continue;
    }
    need(offset, recordLength);
    visit(keyStart, keyEnd, offset, recordLength);
    offset += recordLength;
  }
  if ((word & HAS_AUDIT) !== 0) {
    need(offset, 4);
    const length = bytes.readUInt32LE(offset);
    need(offset + 4, length);
    visitAudit?.(offset + 4, length);
    offset += 4 + length;
  }
  return offset;
}
