// The lmdb engine's write-ahead log path (docs/durability.md, "The write path"): start-up replays
// the WAL records lmdb does not hold, idempotently; a torn last record (cut at every byte) loses
// only that record; damage before it stops the start with wal_damaged naming segment and offset;
// a crash in the middle of a checkpoint (segments covered by lmdb left behind, some already
// released) and an empty newest segment open cleanly.
//
// "lmdb does not hold it" is produced the way a crash produces it: the store file is copied while
// the engine runs (lmdb's pages as of some earlier revision) and put back beside the newer WAL.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { open } from 'lmdb';
import type { Operation } from '../../src/model/txn.js';
import { LmdbEngine, type LmdbEngineOptions } from '../../src/storage/lmdb/lmdb-engine.js';
import { WalError } from '../../src/storage/wal/write-ahead-log.js';
import { nodeWalFiles } from '../../src/storage/wal/wal-files.js';
import { recordSize, SEGMENT_HEADER_BYTES } from '../../src/storage/wal/wal-format.js';
import { scanSegment } from '../../src/storage/wal/wal-scan.js';

const T0 = 1_700_000_000_000;
const SUB_DATABASES = [
  'kv',
  'meta',
  'log',
  'expiry',
  'recent',
  'folders',
  'audit',
  'history',
  'historyOrder',
  'historyKeys',
];
const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'kvs-lmdb-wal-'));
  directories.push(directory);
  return directory;
}

function optionsFor(directory: string, extra: Partial<LmdbEngineOptions> = {}): LmdbEngineOptions {
  return {
    path: join(directory, 'kvs.mdb'),
    durability: 'strict',
    logLength: 10_000,
    logValueMax: 1024,
    walDirectory: join(directory, 'wal'),
    ...extra,
  };
}

async function put(engine: LmdbEngine, key: string, value: string): Promise<number> {
  const result = await engine.commit(
    {
      conditions: [],
      operations: [{ type: 'put', key, value: Buffer.from(value), contentType: 'text/plain', expires: null }],
    },
    T0,
  );
  assert.ok(result.ok);
  return result.revision;
}

/** The store as a crash could leave it: lmdb as copied at `mdb`, the WAL as it is now. */
function crashCopy(source: string, mdb: Buffer, target = freshDirectory()): string {
  cpSync(join(source, 'wal'), join(target, 'wal'), { recursive: true });
  writeFileSync(join(target, 'kvs.mdb'), mdb);
  return target;
}

async function values(engine: LmdbEngine, count: number): Promise<(string | undefined)[]> {
  const found: (string | undefined)[] = [];
  for (let index = 0; index < count; index++) found.push((await engine.get(`k${index}`, T0))?.value.toString());
  return found;
}

describe('lmdb engine with the write-ahead log', () => {
  it('replays the records lmdb lacks, with their change log, and again after the same crash (idempotent)', async () => {
    const source = freshDirectory();
    const engine = await LmdbEngine.open(optionsFor(source));
    for (let index = 0; index < 10; index++) await put(engine, `k${index}`, `v${index}`);
    const early = readFileSync(join(source, 'kvs.mdb'));
    const earlyEngine = await LmdbEngine.open(optionsFor(crashCopy(source, early)));
    const earlyRevision = await earlyEngine.revision();
    await earlyEngine.close();
    for (let index = 10; index < 60; index++) await put(engine, `k${index}`, `v${index}`);
    const crashed = crashCopy(source, early);
    await engine.close();

    for (let attempt = 1; attempt <= 2; attempt++) {
      // Attempt 2 also replays revision 61, the write made after attempt 1's replay.
      const last = 59 + attempt;
      const reopened = await LmdbEngine.open(optionsFor(crashed));
      assert.equal(await reopened.revision(), last, `attempt ${attempt}: every acknowledged commit is back`);
      assert.deepEqual(
        await values(reopened, 60),
        Array.from({ length: 60 }, (_, index) => `v${index}`),
      );
      const { events } = await reopened.history(0, 100);
      assert.deepEqual(
        events.map((event) => event.revision),
        Array.from({ length: last }, (_, index) => index + 1),
        'the change log has every revision once',
      );
      assert.equal(
        (await reopened.recentlyModified(1, T0))[0]?.key,
        attempt === 1 ? 'k59' : `after1`,
        'the recent index was replayed',
      );
      assert.equal(await put(reopened, `after${attempt}`, 'x'), last + 1, 'revisions continue after the replayed ones');
      await reopened.close();
      // The same crash state again: lmdb behind, the WAL (now also holding revision 61) ahead.
      if (attempt === 1) writeFileSync(join(crashed, 'kvs.mdb'), early);
    }
    assert.ok(earlyRevision <= 10, `the copied store was at revision ${earlyRevision}`);
  });

  it('a replay longer than the change log keeps the same log the live engine had (the last logLength revisions)', async () => {
    const source = freshDirectory();
    const short = (directory: string) => optionsFor(directory, { logLength: 20 });
    const engine = await LmdbEngine.open(short(source));
    for (let index = 0; index < 5; index++) await put(engine, `k${index}`, `v${index}`);
    const early = readFileSync(join(source, 'kvs.mdb'));
    // Keys written many times (the replay keeps only their last record) and some deleted.
    for (let index = 5; index < 60; index++) await put(engine, `k${index % 7}`, `v${index}`);
    await engine.commit({ conditions: [], operations: [{ type: 'delete', key: 'k3' }] }, T0);
    const live = {
      oldest: await engine.oldestRevision(),
      history: (await engine.history(41, 100)).events.map((event) => [event.revision, event.key]),
      recent: (await engine.recentlyModified(10, T0)).map((info) => [info.key, info.modRevision]),
    };
    const crashed = crashCopy(source, early);
    await engine.close();
    const reopened = await LmdbEngine.open(short(crashed));
    assert.equal(await reopened.revision(), 61);
    assert.equal(await reopened.oldestRevision(), live.oldest);
    assert.equal(live.oldest, 42);
    assert.deepEqual(
      (await reopened.history(41, 100)).events.map((event) => [event.revision, event.key]),
      live.history,
    );
    assert.deepEqual(
      (await reopened.recentlyModified(10, T0)).map((info) => [info.key, info.modRevision]),
      live.recent,
    );
    assert.equal(await reopened.get('k3', T0), undefined, 'the delete was replayed');
    assert.equal((await reopened.get('k6', T0))?.value.toString(), 'v55');
    assert.equal(await reopened.count(), 6);
    await reopened.close();
  });

  it('a torn last record, cut at every byte, loses that record only; the store opens and goes on', async () => {
    const { base, crashed, segment } = await fiveCommitsAfterCrash();
    // Cut from where the records end: zeros preallocated after them are no record.
    const wal = recordsOnly(readFileSync(join(crashed, 'wal', segment)));
    // The last record: value "value 4" under key k4 (its payload size is what the engine wrote).
    const lastRecordStart = lastRecordOffset(wal);
    const lastSize = wal.length - lastRecordStart;
    assert.ok(lastSize >= recordSize(1), 'the last record was found');
    // Cutting only the zero padding after the payload leaves the record whole.
    const payloadLength = wal.readUInt32LE(lastRecordStart);
    const padding = lastSize - 16 - payloadLength;
    for (let cut = 0; cut <= lastSize; cut++) {
      const target = freshDirectory();
      cpSync(join(crashed, 'wal'), join(target, 'wal'), { recursive: true });
      writeFileSync(join(target, 'kvs.mdb'), base);
      truncateSync(join(target, 'wal', segment), wal.length - cut);
      const reopened = await LmdbEngine.open(optionsFor(target));
      const expected = cut <= padding ? 5 : 4;
      assert.equal(await reopened.revision(), expected, `cut ${cut} bytes`);
      assert.equal((await reopened.get('k4', T0))?.value.toString(), cut <= padding ? 'value 4' : undefined);
      assert.equal((await reopened.get('k3', T0))?.value.toString(), 'value 3', `cut ${cut}: earlier records kept`);
      assert.equal(await put(reopened, 'next', 'n'), expected + 1, `cut ${cut}: appending resumes`);
      await reopened.close();
      const again = await LmdbEngine.open(optionsFor(target));
      assert.equal(
        (await again.get('next', T0))?.value.toString(),
        'n',
        `cut ${cut}: the write after the cut survives`,
      );
      await again.close();
      rmSync(target, { recursive: true, force: true });
    }
  });

  it('new commits wait while lmdb is behind by more than the bound (unappliedBytesMax)', async () => {
    const engine = await LmdbEngine.open(optionsFor(freshDirectory(), { unappliedBytesMax: 1 }));
    for (let round = 0; round < 20; round++) {
      await put(engine, `a${round}`, 'first');
      const appliedBefore = engine.writeStats()!.appliedCommits;
      const commitsBefore = round * 2 + 1;
      await put(engine, `b${round}`, 'second');
      // The second commit started with the first one acknowledged; if lmdb had not applied it yet,
      // the overlay was over the 1-byte bound and the second waited for lmdb's transaction.
      assert.ok(
        engine.writeStats()!.appliedCommits >= Math.min(commitsBefore, appliedBefore + 1),
        `round ${round}: the commit before the second one was applied before it was answered`,
      );
    }
    assert.equal((await engine.get('b19', T0))?.value.toString(), 'second');
    await engine.close();
  });

  it('a flipped byte before the last record refuses to start, naming the segment and the offset', async () => {
    const { crashed, segment } = await fiveCommitsAfterCrash();
    const path = join(crashed, 'wal', segment);
    const wal = readFileSync(path);
    const second = SEGMENT_HEADER_BYTES + recordSize(wal.readUInt32LE(SEGMENT_HEADER_BYTES));
    wal[second + 20]! ^= 0x40; // inside the second record's payload
    writeFileSync(path, wal);
    await assert.rejects(LmdbEngine.open(optionsFor(crashed)), (error: unknown) => {
      assert.ok(error instanceof WalError);
      assert.equal(error.code, 'wal_damaged');
      assert.equal(error.segment, segment);
      assert.equal(error.offset, second);
      assert.match(error.message, new RegExp(`${segment}.*offset ${second}`));
      return true;
    });
  });

  it('a crash in the middle of a checkpoint, or while a segment was being created, opens cleanly', async () => {
    const source = freshDirectory();
    // Small segments: 40 commits make many of them.
    const options = (directory: string) => optionsFor(directory, { walSegmentBytes: 512 });
    // The source never deletes a segment, so its WAL is the state before any release.
    const engine = await LmdbEngine.open({
      ...options(source),
      walFiles: { ...nodeWalFiles, remove: async () => undefined },
    });
    for (let index = 0; index < 40; index++) await put(engine, `k${index}`, `v${index}`);
    await engine.close();
    const stopped = freshDirectory();
    cpSync(join(source, 'wal'), join(stopped, 'wal'), { recursive: true });
    // lmdb flushed through revision 40 (close waits for it), as a finished checkpoint leaves it.
    const flushed = readFileSync(join(source, 'kvs.mdb'));
    const segments = readdirSync(join(stopped, 'wal')).sort();
    assert.ok(segments.length >= 3, `several segments (${segments.length})`);
    const cases: [string, (wal: string) => void][] = [
      ['lmdb flushed, no segment released yet', () => undefined],
      ['the release stopped after deleting the oldest segment', (wal) => rmSync(join(wal, segments[0]!))],
      [
        'a newest segment created but never written',
        (wal) => writeFileSync(join(wal, '00000000000000000041.wal'), Buffer.alloc(0)),
      ],
    ];
    for (const [name, damage] of cases) {
      const target = freshDirectory();
      cpSync(join(stopped, 'wal'), join(target, 'wal'), { recursive: true });
      writeFileSync(join(target, 'kvs.mdb'), flushed);
      damage(join(target, 'wal'));
      const reopened = await LmdbEngine.open(options(target));
      assert.equal(await reopened.revision(), 40, name);
      assert.deepEqual(
        await values(reopened, 40),
        Array.from({ length: 40 }, (_, index) => `v${index}`),
        name,
      );
      assert.equal(await put(reopened, 'after', 'x'), 41, name);
      await reopened.close();
      const again = await LmdbEngine.open(options(target));
      assert.equal((await again.get('after', T0))?.value.toString(), 'x', `${name}: the write after it survives`);
      await again.close();
    }
  });
});

describe('the start-up replay into the overlay (docs/durability.md, "The write path", step 6)', () => {
  /** Every sub-database of a closed store, raw: [name, [key, value] in hex]. */
  function storeDump(path: string): Record<string, [string, string][]> {
    const root = open({ path, maxDbs: 24, readOnly: true });
    try {
      const dump: Record<string, [string, string][]> = {};
      for (const name of SUB_DATABASES) {
        const db = root.openDB({ name, encoding: 'binary', keyEncoding: 'binary' });
        dump[name] = [...db.getRange()].map(({ key, value }) => [
          Buffer.from(key as Uint8Array).toString('hex'),
          Buffer.from(value as Uint8Array).toString('hex'),
        ]);
      }
      return dump;
    } finally {
      root.close();
    }
  }

  for (const replay of ['background', 'before-open'] as const) {
    it(`lmdb ends up holding what the live engine wrote, byte for byte (replay: ${replay})`, async () => {
      const source = freshDirectory();
      const options = (directory: string) => optionsFor(directory, { logLength: 300, replay });
      const engine = await LmdbEngine.open(options(source));
      await put(engine, 'seed', 'x');
      const early = readFileSync(join(source, 'kvs.mdb'));
      // 2,200 commits (more than two of lmdb's apply batches of 1,024): puts over a few keys in
      // folders, multi-key transactions, deletes, puts with an expiry and the sweeper's expire.
      for (let index = 0; index < 2_200; index++) {
        const key = `app/k${index % 37}`;
        const operations: Operation[] =
          index % 11 === 0
            ? [{ type: 'delete', key }]
            : index % 13 === 0
              ? [{ type: 'expire', key: `app/k${(index + 1) % 37}` }]
              : [
                  {
                    type: 'put',
                    key,
                    value: Buffer.from(`v${index}`),
                    contentType: 'text/plain',
                    expires: index % 5 === 0 ? T0 + 1_000_000 : null,
                  },
                  ...(index % 7 === 0
                    ? [
                        {
                          type: 'put' as const,
                          key: `b/k${index}`,
                          value: Buffer.from('t'),
                          contentType: null,
                          expires: null,
                        },
                      ]
                    : []),
                ];
        await engine.commit({ conditions: [], operations }, T0 + index);
      }
      const last = await engine.revision();
      const crashed = crashCopy(source, early);
      await engine.close();
      const live = storeDump(join(source, 'kvs.mdb'));

      const reopened = await LmdbEngine.open(options(crashed));
      // Every commit after the copy's (the first, or none if lmdb had not applied it yet) is
      // replayed: waiting for lmdb in the background, or applied before the open returned.
      const unapplied = reopened.writeStats()!.unappliedCommits;
      if (replay === 'background') assert.ok(unapplied === last || unapplied === last - 1, `${unapplied} of ${last}`);
      else assert.equal(unapplied, 0);
      assert.equal(await reopened.revision(), last);
      await reopened.close();
      const replayed = storeDump(join(crashed, 'kvs.mdb'));
      for (const name of SUB_DATABASES) {
        if (name === 'meta') continue;
        assert.deepEqual(replayed[name], live[name], `sub-database ${name}`);
      }
      // meta: the same, but for the history extent's point-in-time reach, which the replay keeps
      // conservative (the WAL does not say whether a key held a value before a commit).
      const metaWithoutHistory = (dump: Record<string, [string, string][]>) =>
        dump.meta!.filter(([key]) => Buffer.from(key, 'hex').toString('latin1').indexOf('history') === -1);
      assert.deepEqual(metaWithoutHistory(replayed), metaWithoutHistory(live));
    });
  }
});

/**
 * Five commits (k0 = v0, then k1..k4 = "value N") with lmdb as it was after the first: the WAL's
 * single segment must replay four of them.
 */
async function fiveCommitsAfterCrash(): Promise<{ base: Buffer; crashed: string; segment: string }> {
  const source = freshDirectory();
  const engine = await LmdbEngine.open(optionsFor(source));
  await put(engine, 'k0', 'v0');
  const base = readFileSync(join(source, 'kvs.mdb'));
  for (let index = 1; index < 5; index++) await put(engine, `k${index}`, `value ${index}`);
  const crashed = crashCopy(source, base);
  await engine.close();
  const segment = readdirSync(join(crashed, 'wal')).find((name) => name.endsWith('.wal'))!;
  return { base, crashed, segment };
}

/** Offset of the last record of a segment. */
function lastRecordOffset(segment: Buffer): number {
  const scan = scanSegment(segment);
  assert.ok(scan.kind === 'clean' && scan.records.length > 0, `segment scan: ${scan.kind}`);
  return scan.records.at(-1)!.offset;
}

/** The segment without the zeros preallocated after its records (write-ahead-log.ts). */
function recordsOnly(segment: Buffer): Buffer {
  const scan = scanSegment(segment);
  assert.ok(scan.kind === 'clean', `segment scan: ${scan.kind}`);
  return segment.subarray(0, scan.end);
}
