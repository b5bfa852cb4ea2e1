// Transaction semantics shared by the engines that evaluate transactions themselves (lmdb,
// memory): given a way to read the current records, decide whether the conditions hold and what
// every key becomes. Pure: no I/O, so both engines commit exactly the same meaning.

import type { ChangeEvent } from '../model/events.js';
import type { Condition, Txn } from '../model/txn.js';
import type { EntryInfo, KeyMeta } from '../model/entry.js';
import { isExpired } from '../model/entry.js';

export interface StoredRecord extends KeyMeta {
  readonly value: Buffer;
}

export interface PlannedWrite {
  readonly key: string;
  /** The new record, or null to remove the key. */
  readonly record: StoredRecord | null;
  /** The record as it was before this transaction (may be expired), for index maintenance. */
  readonly previous: StoredRecord | undefined;
}

export type Plan =
  | {
      readonly ok: true;
      readonly changed: boolean;
      readonly revision: number;
      readonly writes: readonly PlannedWrite[];
      readonly events: readonly ChangeEvent[];
      readonly puts: readonly EntryInfo[];
      readonly deleted: readonly string[];
    }
  | { readonly ok: false; readonly failed: number; readonly current: EntryInfo | undefined };

export function recordInfo(key: string, record: StoredRecord): EntryInfo {
  return {
    key,
    size: record.value.length,
    createRevision: record.createRevision,
    modRevision: record.modRevision,
    version: record.version,
    updated: record.updated,
    expires: record.expires,
    contentType: record.contentType,
  };
}

function conditionHolds(condition: Condition, live: StoredRecord | undefined): boolean {
  switch (condition.kind) {
    case 'absent':
      return live === undefined;
    case 'exists':
      return live !== undefined;
    case 'version':
      // Version 0 means "absent", as in etcd.
      return condition.version === 0 ? live === undefined : live?.version === condition.version;
    case 'modRevision':
      return condition.modRevision === 0 ? live === undefined : live?.modRevision === condition.modRevision;
  }
}

/**
 * @param read the committed record of a key (expired records included), or undefined.
 * @param currentRevision the store revision before this transaction.
 * @param logValueMax values up to this many bytes are copied into change events.
 */
export function planCommit(
  txn: Txn,
  now: number,
  currentRevision: number,
  read: (key: string) => StoredRecord | undefined,
  logValueMax: number,
): Plan {
  const live = (record: StoredRecord | undefined): StoredRecord | undefined =>
    record === undefined || isExpired(record, now) ? undefined : record;

  for (let index = 0; index < txn.conditions.length; index++) {
    const condition = txn.conditions[index]!;
    const current = live(read(condition.key));
    if (!conditionHolds(condition, current)) {
      return { ok: false, failed: index, current: current && recordInfo(condition.key, current) };
    }
  }

  const revision = currentRevision + 1;
  // Later operations on the same key see the earlier ones of this transaction.
  const pending = new Map<string, { record: StoredRecord | null; previous: StoredRecord | undefined }>();
  const readPending = (key: string): StoredRecord | undefined => {
    const entry = pending.get(key);
    return entry ? (entry.record ?? undefined) : read(key);
  };
  const previousOf = (key: string): StoredRecord | undefined =>
    pending.has(key) ? pending.get(key)!.previous : read(key);

  const events: ChangeEvent[] = [];
  const puts: EntryInfo[] = [];
  const deleted: string[] = [];

  for (const operation of txn.operations) {
    const stored = readPending(operation.key);
    const current = live(stored);
    if (operation.type === 'put') {
      const expires = operation.keepExpires && current !== undefined ? current.expires : operation.expires;
      const record: StoredRecord = {
        value: operation.value,
        contentType: operation.contentType,
        expires,
        updated: now,
        modRevision: revision,
        createRevision: current ? current.createRevision : revision,
        version: current ? current.version + 1 : 1,
      };
      pending.set(operation.key, { record, previous: previousOf(operation.key) });
      puts.push(recordInfo(operation.key, record));
      events.push({
        type: 'put',
        key: operation.key,
        revision,
        version: record.version,
        value: operation.value.length <= logValueMax ? operation.value : undefined,
        contentType: record.contentType,
        expires: record.expires,
      });
    } else if (stored !== undefined) {
      // delete of an expired key, or the sweeper's expire: the key ends by expiry.
      const expired = current === undefined;
      if (operation.type === 'expire' && !expired) continue;
      pending.set(operation.key, { record: null, previous: previousOf(operation.key) });
      if (!expired) deleted.push(operation.key);
      events.push({ type: expired ? 'expire' : 'delete', key: operation.key, revision, version: 0 });
    }
  }

  const writes: PlannedWrite[] = [];
  for (const [key, { record, previous }] of pending) writes.push({ key, record, previous });
  const changed = writes.length > 0;
  return {
    ok: true,
    changed,
    revision: changed ? revision : currentRevision,
    writes,
    events,
    puts,
    deleted,
  };
}
