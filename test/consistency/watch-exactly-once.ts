// The watch exactly-once scenario, shared by test/http/watch.test.ts (one process) and
// test/http/workers.test.ts (--workers 2).
//
// Writers commit puts, deletes and multi-key transactions concurrently under one prefix, and
// remember what every acknowledged write answered (key, revision, version). Meanwhile:
//   - a steady watcher reads one stream from the start revision;
//   - a reconnecting watcher drops its connection several times mid-stream and resumes with
//     Last-Event-ID (keeping only the events up to the last `id:`, as the protocol says: the
//     events of a revision not yet closed by an id are sent again).
// Both must see exactly the acknowledged writes: every revision from start+1 to the end, in
// order, each change once, with the versions the writers were told.

import assert from 'node:assert/strict';
import { changeData, openSse, type ChangeData, type SseEvent, type SseStream } from '../helpers/sse-client.js';
import { KvHttp } from './kv-http.js';

export interface ExactlyOnceOptions {
  readonly url: string;
  readonly token: string;
  readonly prefix: string;
  readonly writers?: number;
  readonly writesPerWriter?: number;
  readonly reconnects?: number;
}

interface Expected {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly revision: number;
  readonly version: number;
}

const WAIT_MS = 30_000;

function summary(events: readonly ChangeData[]): string[] {
  return events.map((event) => `${event.revision} ${event.type} ${event.key} v${event.version}`);
}

/** Keeps the events up to and including the last one carrying an id (a complete revision). */
function completeRevisions(events: readonly SseEvent[]): SseEvent[] {
  let end = events.length;
  while (end > 0 && events[end - 1]!.id === undefined) end--;
  return events.slice(0, end);
}

function checkStream(
  name: string,
  events: readonly ChangeData[],
  ids: readonly (string | undefined)[],
  expected: readonly Expected[],
  start: number,
  end: number,
): void {
  // Order: revisions never go back; ids strictly increase and close each revision.
  for (let index = 1; index < events.length; index++) {
    assert.ok(events[index]!.revision >= events[index - 1]!.revision, `${name}: revision went back at event ${index}`);
  }
  const closing = ids.filter((id): id is string => id !== undefined).map(Number);
  for (let index = 1; index < closing.length; index++)
    assert.ok(closing[index]! > closing[index - 1]!, `${name}: ids not increasing`);
  events.forEach((event, index) => {
    const last = events[index + 1]?.revision !== event.revision;
    assert.equal(
      ids[index],
      last ? String(event.revision) : undefined,
      `${name}: id of event ${index} (revision ${event.revision})`,
    );
  });
  // Exactly once: compare with what the writers were acknowledged, in revision order.
  const key = (event: { revision: number; key: string }) => `${event.revision} ${event.key}`;
  const seen = new Set<string>();
  for (const event of events) {
    assert.ok(!seen.has(key(event)), `${name}: duplicate event ${key(event)}`);
    seen.add(key(event));
  }
  const expectedSorted = [...expected].sort((a, b) => a.revision - b.revision || 0);
  const byRevision = (list: readonly { revision: number; key: string }[]) => list.map(key).sort();
  assert.deepEqual(
    byRevision(events),
    byRevision(expectedSorted),
    `${name}: the delivered changes are not the acknowledged ones`,
  );
  const versions = new Map(expected.map((write) => [key(write), write]));
  for (const event of events) {
    const write = versions.get(key(event))!;
    assert.equal(event.type, write.type, `${name}: type of ${key(event)}`);
    assert.equal(event.version, write.version, `${name}: version of ${key(event)}`);
  }
  // No gap: every revision of the run is there (every commit in the run touches the prefix).
  const revisions = new Set(events.map((event) => event.revision));
  for (let revision = start + 1; revision <= end; revision++)
    assert.ok(revisions.has(revision), `${name}: revision ${revision} missing`);
}

export async function runWatchExactlyOnce(options: ExactlyOnceOptions): Promise<string> {
  const kv = new KvHttp(options.url, options.token);
  const writers = options.writers ?? 4;
  const writesPerWriter = options.writesPerWriter ?? 60;
  const reconnects = options.reconnects ?? 4;
  const watchUrl = `${options.url}/v1/watch?prefix=${encodeURIComponent(options.prefix)}`;
  const start = await kv.revision();
  const expected: Expected[] = [];
  const opened: SseStream[] = [];

  try {
    const steady = await openSse(`${watchUrl}&since=${start}`);
    opened.push(steady);

    let writersDone = false;
    const writer = async (id: number) => {
      for (let n = 0; n < writesPerWriter; n++) {
        const key = `${options.prefix}${id}/${n % 5}`;
        const kind = n % 6;
        if (kind === 4) {
          const answer = await kv.delete(key);
          if (answer.status === 404) {
            // Nothing was deleted, nothing committed: write instead so every step commits.
            const put = await kv.put(key, `w${id}n${n}`);
            assert.ok(put.status === 200 || put.status === 201, put.text);
            expected.push({ type: 'put', key, revision: put.json.modRevision, version: put.json.version });
          } else {
            assert.equal(answer.status, 200, answer.text);
            expected.push({ type: 'delete', key, revision: answer.json.revision, version: 0 });
          }
        } else if (kind === 5) {
          const other = `${options.prefix}${id}/t${n}`;
          const answer = await kv.txn({
            operations: [
              { op: 'put', key, value: `t${n}` },
              { op: 'put', key: other, value: 'x' },
            ],
          });
          assert.equal(answer.status, 200, answer.text);
          for (const put of answer.json.puts)
            expected.push({ type: 'put', key: put.key, revision: answer.json.revision, version: put.version });
        } else {
          const answer = await kv.put(key, `w${id}n${n}`);
          assert.ok(answer.status === 200 || answer.status === 201, answer.text);
          expected.push({ type: 'put', key, revision: answer.json.modRevision, version: answer.json.version });
        }
      }
    };

    // The reconnecting watcher: cut the connection after some progress, resume with Last-Event-ID.
    const resumed: SseEvent[] = [];
    let cuts = 0;
    const reconnecting = (async () => {
      let lastEventId = String(start);
      while (!writersDone || cuts < reconnects) {
        const stream = await openSse(watchUrl, { lastEventId });
        opened.push(stream);
        const target = 1 + Math.floor(Math.random() * 25);
        await stream.waitFor(
          () => stream.changes().length >= target || writersDone,
          WAIT_MS,
          `${target} events after resuming from ${lastEventId}`,
        );
        stream.close();
        const kept = completeRevisions(stream.changes());
        resumed.push(...kept);
        if (kept.length > 0) lastEventId = kept[kept.length - 1]!.id!;
        cuts++;
      }
      // Last leg: read to the end without cutting.
      const last = await openSse(watchUrl, { lastEventId });
      opened.push(last);
      const end = await kv.revision();
      await last.waitFor(
        () => Number(last.lastEventId || lastEventId) >= end,
        WAIT_MS,
        `the final leg to reach revision ${end}`,
      );
      last.close();
      resumed.push(...completeRevisions(last.changes()));
    })();

    await Promise.all(Array.from({ length: writers }, (_, id) => writer(id)));
    writersDone = true;
    const end = await kv.revision();
    await steady.waitFor(
      () => Number(steady.lastEventId) >= end,
      WAIT_MS,
      `the steady watcher to reach revision ${end}`,
    );
    await reconnecting;

    assert.equal(
      new Set(expected.map((write) => write.revision)).size,
      end - start,
      'every revision of the run was acknowledged to a writer',
    );
    const steadyEvents = steady.changes();
    checkStream(
      'steady watcher',
      steadyEvents.map(changeData),
      steadyEvents.map((event) => event.id),
      expected,
      start,
      end,
    );
    const resumedData = resumed.map(changeData);
    checkStream(
      'reconnecting watcher',
      resumedData,
      resumed.map((event) => event.id),
      expected,
      start,
      end,
    );
    assert.deepEqual(
      summary(resumedData),
      summary(steadyEvents.map(changeData)),
      'both watchers saw the same sequence',
    );
    return `${end - start} revisions, ${steadyEvents.length} events, reconnecting watcher cut ${cuts} times`;
  } finally {
    for (const stream of opened) stream.close();
  }
}
