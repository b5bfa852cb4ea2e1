// A commit the start-up found in the write-ahead log and lmdb does not hold yet
// (docs/durability.md, "The write path", step 6). The start-up only walks each commit's payload
// once, to find every key's final record for the overlay; the rest of a commit (its records,
// change-log events, audit entry and history entries) is decoded here when something first asks
// for it: the background apply, or a reader of the commits lmdb has not applied (the change log,
// the audit trail, a key's history). So a start-up with a full log costs a walk of its bytes, not
// the decoding of every commit.

import type { ChangeType } from '../../model/change-type.js';
import type { ChangeEvent } from '../../model/events.js';
import { type HistoryWrite, historyWriteOf, removalTypes } from '../key-history.js';
import type { StoredRecord } from '../txn-plan.js';
import { auditTimeOrNaN } from '../audit-codec.js';
import { decodeLogEntry } from './log-codec.js';
import { decodeRecord } from './record-codec.js';
import { type CommitWrite, decodeWalCommit, type EncodedCommit } from './wal-commit.js';

export class ReplayedCommit {
  private payloadParts: ReturnType<typeof decodeWalCommit> | undefined;
  private decodedEvents: ChangeEvent[] | undefined;
  private decodedAudit: { readonly bytes: Buffer; readonly time: number } | undefined;
  private decodedHistory: HistoryWrite[] | undefined;
  private decodedRecords: (StoredRecord | null)[] | undefined;

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

  /** The keys it writes, in the commit's order. */
  get keys(): string[] {
    return this.parts().writes.map((write) => write.key);
  }

  /** Its change-log events (log-codec.ts); throws ChangeLogDamagedError on a damaged entry. */
  get events(): readonly ChangeEvent[] {
    this.decodedEvents ??= decodeLogEntry(this.parts().logEntry, this.revision);
    return this.decodedEvents;
  }

  /** Its audit entry and the commit's time (NaN when the entry is damaged), or none (older payloads). */
  get audit(): { readonly bytes: Buffer; readonly time: number } | undefined {
    const bytes = this.parts().audit;
    if (bytes === undefined) return undefined;
    this.decodedAudit ??= { bytes, time: auditTimeOrNaN(bytes, this.revision) };
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
    const records = this.records();
    let types: Map<string, ChangeType> | undefined;
    let time: number | undefined;
    this.decodedHistory = this.parts().writes.map((write, index) => {
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
    const { writes, logEntry } = this.parts();
    return {
      revision: this.revision,
      writes: writes.map(
        (write, index): CommitWrite => ({
          key: write.key,
          record: records[index]!,
          encoded: write.encoded,
          previous: previousOf(write.key),
        }),
      ),
      logEntry,
      audit: this.audit,
      history: this.history,
    };
  }

  /** The records it writes (null: deleted), decoded and checked once. */
  records(): readonly (StoredRecord | null)[] {
    this.decodedRecords ??= this.parts().writes.map((write) =>
      write.encoded === null ? null : decodeRecord(write.encoded, write.key, false),
    );
    return this.decodedRecords;
  }

  /** The payload's writes, change-log entry and audit entry, as views of its bytes. */
  private parts(): ReturnType<typeof decodeWalCommit> {
    this.payloadParts ??= decodeWalCommit(this.segment.subarray(this.start, this.end), this.revision);
    return this.payloadParts;
  }
}
