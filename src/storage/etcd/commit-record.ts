// The commit record: what every kvs transaction that changes the namespace writes to
// <prefix>0xFF"commit", as the first operation of its etcd transaction.
//
// - Its mod_revision is the revision of the namespace's last kvs commit, so history() knows
//   which revision it must have seen before it can stop reading (etcd 3.4's watch cannot say
//   "you are caught up").
// - A revision with a commit record is a kvs commit; a revision that deletes namespace keys
//   without one is etcd revoking an expired lease, which becomes `expire` events.
// - When etcd's own events cannot express the transaction (several operations on one key, a
//   put then a delete of a key that did not exist, a delete of an expired key), the record holds
//   the transaction's events in full, and readers use them instead of etcd's.
// Usually the record is empty: etcd's events say it all.

import type { ChangeEvent } from '../../model/events.js';
import type { ChangeType } from '../../model/change-type.js';

interface StoredEvent {
  readonly t: ChangeType;
  readonly k: string;
  readonly v: number;
  /** Value, base64, when the event carried one. */
  readonly d?: string;
  readonly c?: string | null;
  readonly x?: number | null;
}

const EMPTY = Buffer.alloc(0);

export function encodeCommitRecord(events: readonly ChangeEvent[] | undefined): Buffer {
  if (events === undefined) return EMPTY;
  const stored: StoredEvent[] = events.map((event) => ({
    t: event.type,
    k: event.key,
    v: event.version,
    ...(event.value === undefined ? {} : { d: event.value.toString('base64') }),
    ...(event.type === 'put' ? { c: event.contentType ?? null, x: event.expires ?? null } : {}),
  }));
  return Buffer.from(JSON.stringify(stored), 'utf8');
}

/** The events a commit record holds, at `revision`; undefined when etcd's own events apply. */
export function decodeCommitRecord(buffer: Buffer, revision: number, logValueMax: number): ChangeEvent[] | undefined {
  if (buffer.length === 0) return undefined;
  const stored = JSON.parse(buffer.toString('utf8')) as StoredEvent[];
  return stored.map((event) => {
    const value = event.d === undefined ? undefined : Buffer.from(event.d, 'base64');
    return {
      type: event.t,
      key: event.k,
      revision,
      version: event.v,
      value: value !== undefined && value.length <= logValueMax ? value : undefined,
      ...(event.t === 'put' ? { contentType: event.c ?? null, expires: event.x ?? null } : {}),
    };
  });
}
