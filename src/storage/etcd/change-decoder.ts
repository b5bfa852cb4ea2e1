// etcd watch events -> kvs change events.
//
// Events of one etcd revision are read together: if the revision carries the commit record
// (commit-record.ts) it is a kvs commit, otherwise it is etcd revoking an expired lease, and its
// deletes are `expire` events. (A write made under the prefix by another etcd client, not
// through kvs, has no commit record either: its deletes also read as `expire`.)

import type { IEvent } from 'etcd3';
import type { ChangeEvent } from '../../model/events.js';
import { decodeCommitRecord } from './commit-record.js';
import { decodeEnvelope } from './envelope.js';
import type { KeySpace } from './key-space.js';

export function decodeChanges(events: readonly IEvent[], space: KeySpace, logValueMax: number): ChangeEvent[] {
  const changes: ChangeEvent[] = [];
  let start = 0;
  while (start < events.length) {
    const revision = events[start]!.kv.mod_revision;
    let end = start + 1;
    while (end < events.length && events[end]!.kv.mod_revision === revision) end++;
    decodeRevision(events, start, end, Number(revision), space, logValueMax, changes);
    start = end;
  }
  return changes;
}

function decodeRevision(
  events: readonly IEvent[],
  start: number,
  end: number,
  revision: number,
  space: KeySpace,
  logValueMax: number,
  into: ChangeEvent[],
): void {
  let committed = false;
  for (let index = start; index < end; index++) {
    const event = events[index]!;
    if (event.type === 'Put' && space.isCommitKey(event.kv.key)) {
      const recorded = decodeCommitRecord(event.kv.value, revision, logValueMax);
      if (recorded !== undefined) {
        into.push(...recorded);
        return;
      }
      committed = true;
    }
  }
  for (let index = start; index < end; index++) {
    const event = events[index]!;
    const key = space.keyOf(event.kv.key);
    if (key === undefined) continue;
    if (event.type === 'Put') {
      const envelope = decodeEnvelope(event.kv.value);
      into.push({
        type: 'put',
        key,
        revision,
        version: Number(event.kv.version) - envelope.versionOffset,
        value: envelope.value.length <= logValueMax ? envelope.value : undefined,
        contentType: envelope.contentType,
        expires: envelope.expires,
      });
    } else {
      into.push({ type: committed ? 'delete' : 'expire', key, revision, version: 0 });
    }
  }
}
