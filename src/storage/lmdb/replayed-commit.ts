// A commit the start-up found in the write-ahead log and lmdb does not hold yet
// (docs/durability.md, "The write path", step 6). The start-up only walks each commit's payload once, to find every key's final
// record for the overlay; the rest of a commit (its records, change-log events, audit entry and
// history entries) is decoded here when something first asks for it: the background apply, or a
// reader of the commits lmdb has not applied (the change log, the audit trail, a key's history).
// So a start-up with a full log costs a walk of its bytes, not the decoding of every commit.

import type { ChangeType } from '../../model/change-type.js';
import type { ChangeEvent } from '../../model/events.js';
import { type HistoryWrite, historyWriteOf, removalTypes } from '../key-history.js';
import type { StoredRecord } from '../txn-plan.js';
import { auditEntryTime } from '../audit-codec.js';
import { decodeLogEntry } from './log-codec.js';
import { decodeRecord } from './record-codec.js';
import { type CommitWrite, DELETED_RECORD, type EncodedCommit, walkWalCommit } from './wal-commit.js';

/** One write of a replayed commit, where its key and record lie in the payload. */
interface WriteAt {
  readonly key: string;
  /** The record's bytes as lmdb stores them, or null when the commit deletes the key. */
  readonly encoded: Buffer | null;
}

export class ReplayedCommit {
  private writesAt: WriteAt[] | undefined;
  private logStart = -1;
  private auditAt: { start: number; length: number } | undefined;
  private decodedEvents: ChangeEvent[] | undefined;
  private decodedAudit: { readonly bytes: Buffer; readonly time: number } | undefined;
  private decodedHistory: HistoryWrite[] | undefined;
  private decodedRecords: (StoredRecord | null)[] | undefined;

  private view: Buffer | undefined;

  /**
   * @param segment the WAL segment's bytes; the commit's payload (wal-commit.ts) is
   *   `segment[start, end)` (a view of it is made only when needed: one per commit of a full log
   *   was a tenth of the start-up's replay, with its garbage collection).
   * @param withHistory whether the store keeps per-key history (the entries are made on demand).
   */
  constructor(
    readonly revision: number,
    private readonly segment: Buffer,
    private readonly start: number,
    private readonly end: number,
    private readonly withHistory: boolean,
  ) {}

  /** Size of its WAL payload: what the overlay holds for it, near enough (as a live commit's). */
  get bytes(): number {
    return this.end - this.start;
  }

  private get payload(): Buffer {
    this.view ??= this.segment.subarray(this.start, this.end);
    return this.view;
  }

  /** The keys it writes, in the commit's order. */
  get keys(): string[] {
    return this.walked().map((write) => write.key);
  }

  /** Its change-log events (log-codec.ts); throws ChangeLogDamagedError on a damaged entry. */
  get events(): readonly ChangeEvent[] {
    this.walked();
    this.decodedEvents ??= decodeLogEntry(this.payload.subarray(this.logStart), this.revision);
    return this.decodedEvents;
  }

  /** Its audit entry and the commit's time (NaN when the entry is damaged), or none (older payloads). */
  get audit(): { readonly bytes: Buffer; readonly time: number } | undefined {
    this.walked();
    if (this.auditAt === undefined) return undefined;
    if (this.decodedAudit === undefined) {
      const bytes = this.payload.subarray(this.auditAt.start, this.auditAt.start + this.auditAt.length);
      this.decodedAudit = { bytes, time: auditTime(bytes, this.revision) };
    }
    return this.decodedAudit;
  }

  /**
   * The history entries the commit wrote when it was made: each key's record as the commit left
   * it (its `updated` is the commit's time), or for a removed key its removal's type from the
   * change-log entry and the commit's time (the audit entry's). Without `absentBefore`: the WAL
   * does not say whether the key held a value before, so the point-in-time reach stays
   * conservative (key-history.ts).
   */
  get history(): readonly HistoryWrite[] | undefined {
    if (!this.withHistory) return undefined;
    if (this.decodedHistory !== undefined) return this.decodedHistory;
    const writes = this.walked();
    const records = this.records();
    let types: Map<string, ChangeType> | undefined;
    let time: number | undefined;
    this.decodedHistory = writes.map((write, index) => {
      const record = records[index]!;
      if (record !== null) return historyWriteOf(write.key, record, 'put', record.updated);
      types ??= removalTypes(this.events);
      time ??= this.audit?.time ?? Number.NaN;
      return historyWriteOf(write.key, null, types.get(write.key) ?? 'delete', Number.isNaN(time) ? 0 : time);
    });
    return this.decodedHistory;
  }

  /**
   * The commit as lmdb applies it. `previousOf(key)` answers the key's record before this commit
   * (undefined: none), which only the applier knows: lmdb's record, or an earlier commit's of the
   * same batch. Throws RecordDamagedError or ChangeLogDamagedError on damage the WAL's checksum
   * did not catch (a kvs defect).
   */
  encoded(previousOf: (key: string) => StoredRecord | undefined): EncodedCommit {
    const records = this.records();
    const writes: CommitWrite[] = this.walked().map((write, index) => ({
      key: write.key,
      record: records[index]!,
      encoded: write.encoded,
      previous: previousOf(write.key),
    }));
    const audit = this.audit;
    return {
      revision: this.revision,
      writes,
      logEntry: this.payload.subarray(this.logStart),
      audit,
      history: this.history,
    };
  }

  /** The records it writes (null: deleted), decoded and checked once. */
  records(): readonly (StoredRecord | null)[] {
    this.decodedRecords ??= this.walked().map((write) =>
      write.encoded === null ? null : decodeRecord(write.encoded, write.key, false),
    );
    return this.decodedRecords;
  }

  private walked(): WriteAt[] {
    if (this.writesAt !== undefined) return this.writesAt;
    const payload = this.payload;
    const writes: WriteAt[] = [];
    this.logStart = walkWalCommit(
      payload,
      0,
      payload.length,
      this.revision,
      (keyStart, keyEnd, recordStart, recordLength) =>
        writes.push({
          key: payload.toString('utf8', keyStart, keyEnd),
          encoded: recordLength === DELETED_RECORD ? null : payload.subarray(recordStart, recordStart + recordLength),
        }),
      (start, length) => {
        this.auditAt = { start, length };
      },
    );
    this.writesAt = writes;
    return writes;
  }
}

/** The time of a replayed audit entry, or NaN when it is damaged (rotation then goes by bytes). */
export function auditTime(bytes: Uint8Array, revision: number): number {
  try {
    return auditEntryTime(bytes, revision);
  } catch {
    return Number.NaN;
  }
}
