// The WAL writer and its recovery over real files in a temporary directory: group commit, segment
// roll and release, recovery of torn, empty and missing segments, preallocated zeros, and the two
// failure rules (a failed write is undone and the log goes on; a failed fdatasync stops the log),
// injected through the WalFiles interface.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SEGMENT_HEADER_BYTES, segmentFileName } from '../../src/storage/wal/wal-format.js';
import { scanSegment } from '../../src/storage/wal/wal-scan.js';
import { nodeWalFiles, type WalFiles } from '../../src/storage/wal/wal-files.js';
import { PREALLOCATE_STEP_BYTES, WalError, WriteAheadLog } from '../../src/storage/wal/write-ahead-log.js';

let directory: string;

beforeEach(async () => {
  directory = join(await mkdtemp(join(tmpdir(), 'kvs-wal-')), 'wal');
});
afterEach(async () => {
  await rm(join(directory, '..'), { recursive: true, force: true });
});

const value = (revision: number) => Buffer.from(`record ${revision} `.repeat((revision % 7) + 1));

async function appendRange(wal: WriteAheadLog, from: number, to: number): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let revision = from; revision <= to; revision++) pending.push(wal.append(revision, value(revision)));
  await Promise.all(pending);
}

/** Appends `from..to` five records per flush, so segments roll at small bounds. */
async function appendInBatches(wal: WriteAheadLog, from: number, to: number): Promise<void> {
  for (let start = from; start <= to; start += 5) await appendRange(wal, start, Math.min(start + 4, to));
}

async function reopen(checkpoint = 0, files?: WalFiles, segmentBytes?: number) {
  return WriteAheadLog.open(directory, {
    checkpoint,
    ...(files === undefined ? {} : { files }),
    ...(segmentBytes === undefined ? {} : { segmentBytes }),
  });
}

/** WalFiles that count calls and fail the chosen ones. */
function faultyFiles(plan: {
  failWrite?: (call: number) => string | undefined;
  failSync?: (call: number) => string | undefined;
}) {
  const counts = { writes: 0, syncs: 0 };
  const files: WalFiles = {
    ...nodeWalFiles,
    async writeAll(fd, data, position) {
      counts.writes++;
      const code = plan.failWrite?.(counts.writes);
      if (code !== undefined) {
        // Like a disk that fills mid-write: part of the data lands, then the error.
        await nodeWalFiles.writeAll(fd, data.subarray(0, Math.floor(data.length / 2)), position);
        throw Object.assign(new Error(`injected ${code}`), { code });
      }
      return nodeWalFiles.writeAll(fd, data, position);
    },
    async datasync(fd) {
      counts.syncs++;
      const code = plan.failSync?.(counts.syncs);
      if (code !== undefined) throw Object.assign(new Error(`injected ${code}`), { code });
      return nodeWalFiles.datasync(fd);
    },
  };
  return { files, counts };
}

describe('write-ahead log', () => {
  it('replays every acknowledged record after the checkpoint, in order, across reopenings', async () => {
    const first = await reopen();
    assert.equal(first.replay.length, 0);
    assert.equal(first.wal.nextRevision, 1);
    await appendRange(first.wal, 1, 50);
    await first.wal.close();

    const second = await reopen(20);
    assert.deepEqual(
      second.replay.map((record) => record.revision),
      Array.from({ length: 30 }, (_, index) => 21 + index),
    );
    for (const record of second.replay) assert.deepEqual(Buffer.from(record.payload), value(record.revision));
    assert.equal(second.wal.nextRevision, 51);
    await appendRange(second.wal, 51, 60);
    await second.wal.close();

    const third = await reopen(60);
    assert.equal(third.replay.length, 0);
    assert.equal(third.wal.nextRevision, 61);
    await third.wal.close();
  });

  it('commits every record appended in one turn of the event loop with one fdatasync', async () => {
    const { files, counts } = faultyFiles({});
    const { wal } = await reopen(0, files);
    await appendRange(wal, 1, 1000);
    assert.equal(wal.stats.records, 1000);
    assert.equal(wal.stats.flushes, 1);
    // One for the record batch; the new segment's directory entry is synced separately.
    assert.equal(counts.syncs, 1);
    await wal.close();
  });

  it('acknowledges nothing before its fdatasync completes (new segment and existing segment)', async () => {
    const gate: { release?: (() => void) | undefined } = {};
    const files: WalFiles = {
      ...nodeWalFiles,
      async datasync(fd) {
        await new Promise<void>((resolve) => {
          gate.release = resolve;
        });
        return nodeWalFiles.datasync(fd);
      },
    };
    const { wal } = await reopen(0, files);
    for (const revision of [1, 2]) {
      gate.release = undefined;
      let acknowledged = false;
      const append = wal.append(revision, value(revision)).then(() => {
        acknowledged = true;
      });
      while (gate.release === undefined) await new Promise((resolve) => setImmediate(resolve));
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(acknowledged, false, `revision ${revision} acknowledged before its fdatasync`);
      assert.equal(wal.durableRevision, revision - 1);
      (gate.release as () => void)();
      await append;
      assert.equal(acknowledged, true);
      assert.equal(wal.durableRevision, revision);
    }
    await wal.close();
  });

  it('rolls segments at the size bound and releases the ones a checkpoint covers', async () => {
    const { wal } = await reopen(0, undefined, 1024);
    for (let revision = 1; revision <= 200; revision += 10) await appendRange(wal, revision, revision + 9);
    const before = (await readdir(directory)).sort();
    assert.ok(before.length > 3, `expected several segments, got ${before.join(', ')}`);
    assert.equal(wal.stats.segments, before.length);

    const released = await wal.releaseThrough(100);
    const after = (await readdir(directory)).sort();
    assert.equal(after.length, before.length - released);
    assert.ok(released > 0);
    await wal.close();

    const reopened = await reopen(100, undefined, 1024);
    assert.deepEqual(
      reopened.replay.map((record) => record.revision),
      Array.from({ length: 100 }, (_, index) => 101 + index),
    );
    // Never releases the segment being written, even when the checkpoint covers all of it.
    await reopened.wal.releaseThrough(200);
    assert.equal((await readdir(directory)).length, 1);
    await reopened.wal.close();
  });

  /** Where the records of `path` end (the zeros preallocated after them are not records). */
  async function recordsEnd(path: string): Promise<number> {
    const scan = scanSegment(await readFile(path));
    assert.ok(scan.kind === 'clean', `segment scan: ${scan.kind}`);
    return scan.end;
  }

  for (const mode of ['cut short', 'zeroed'] as const) {
    // A crash loses the last write from some byte on: a file that grew by appends ends there
    // (preallocation off), a preallocated one reads zeros from there (the default).
    it(`recovers a torn tail at every byte of the last record and goes on appending (${mode})`, async () => {
      const preallocateBytes = mode === 'cut short' ? 0 : undefined;
      const open = () =>
        WriteAheadLog.open(directory, { checkpoint: 0, ...(preallocateBytes === 0 && { preallocateBytes }) });
      const { wal } = await open();
      await appendRange(wal, 1, 3);
      const path = join(directory, segmentFileName(1));
      const endBefore = await recordsEnd(path);
      await appendRange(wal, 4, 4);
      await wal.close();
      const full = await readFile(path);
      const endAfter = await recordsEnd(path);
      assert.equal(full.length > endAfter, mode === 'zeroed', `file ${full.length} bytes, records end at ${endAfter}`);
      // Record 4's frame ends before its alignment padding; a cut inside the padding keeps it whole.
      const frameEnd = endBefore + 16 + value(4).length;
      for (let cut = endBefore; cut < endAfter; cut++) {
        const torn = mode === 'cut short' ? full.subarray(0, cut) : Buffer.from(full).fill(0, cut, endAfter);
        await writeFile(path, torn);
        const { wal: recovered, replay } = await open();
        const kept = cut >= frameEnd ? [1, 2, 3, 4] : [1, 2, 3];
        assert.deepEqual(
          replay.map((record) => record.revision),
          kept,
          `cut at ${cut}`,
        );
        assert.equal(recovered.nextRevision, kept.length + 1);
        if (kept.length === 4) {
          await recovered.close();
          await writeFile(path, full);
          continue;
        }
        await appendRange(recovered, 4, 5);
        await recovered.close();
        const again = await open();
        assert.deepEqual(
          again.replay.map((record) => record.revision),
          [1, 2, 3, 4, 5],
        );
        await again.wal.close();
        await writeFile(path, full);
      }
    });
  }

  it('keeps zeros ahead of its records, overwrites them, and appends after the last record when reopened', async () => {
    const { wal } = await reopen();
    await appendRange(wal, 1, 3);
    const path = join(directory, segmentFileName(1));
    const end = await recordsEnd(path);
    // The zeros of one step past the records, written with the first flush.
    assert.equal((await readFile(path)).length, end + PREALLOCATE_STEP_BYTES);
    await appendRange(wal, 4, 6);
    await wal.close();
    assert.equal((await readFile(path)).length, end + PREALLOCATE_STEP_BYTES, 'the second flush overwrote zeros');
    const reopened = await reopen();
    assert.deepEqual(
      reopened.replay.map((record) => record.revision),
      [1, 2, 3, 4, 5, 6],
    );
    await appendRange(reopened.wal, 7, 8);
    await reopened.wal.close();
    const last = await reopen();
    assert.deepEqual(
      last.replay.map((record) => record.revision),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    await last.wal.close();
  });

  it('goes on without preallocation when the disk has no room for the zeros', async () => {
    // Write 1 is the new segment's header and records, write 2 its zeros: that one fails.
    const { files, counts } = faultyFiles({ failWrite: (call) => (call === 2 ? 'ENOSPC' : undefined) });
    const { wal } = await reopen(0, files);
    await appendRange(wal, 1, 3);
    const path = join(directory, segmentFileName(1));
    const end = await recordsEnd(path);
    assert.equal((await readFile(path)).length, end, 'the zeros written before the failure are cut');
    await appendRange(wal, 4, 5);
    assert.equal(counts.writes, 3, 'no more zeros tried in this segment');
    await wal.close();
    const { wal: reopened, replay } = await reopen();
    assert.deepEqual(
      replay.map((record) => record.revision),
      [1, 2, 3, 4, 5],
    );
    await reopened.close();
  });

  it('refuses a flipped byte in the middle with a coded error naming the segment and offset', async () => {
    const { wal } = await reopen();
    await appendRange(wal, 1, 10);
    await wal.close();
    const path = join(directory, segmentFileName(1));
    const bytes = await readFile(path);
    bytes[SEGMENT_HEADER_BYTES + 20] = bytes[SEGMENT_HEADER_BYTES + 20]! ^ 0x10;
    await writeFile(path, bytes);
    await assert.rejects(reopen(), (error: unknown) => {
      assert.ok(error instanceof WalError);
      assert.equal(error.code, 'wal_damaged');
      assert.equal(error.segment, segmentFileName(1));
      assert.equal(error.offset, SEGMENT_HEADER_BYTES);
      assert.match(error.message, /00000000000000000001\.wal is damaged at offset 32/);
      return true;
    });
  });

  it('drops an empty or header-less newest segment, and refuses a missing one in the middle', async () => {
    const { wal } = await reopen(0, undefined, 256);
    await appendInBatches(wal, 1, 40);
    await wal.close();
    const names = (await readdir(directory)).sort();
    assert.ok(names.length >= 3);

    // A crash right after creating the next segment leaves it empty: it is dropped.
    await writeFile(join(directory, segmentFileName(41)), Buffer.alloc(0));
    const afterEmpty = await reopen(0, undefined, 256);
    assert.equal(afterEmpty.replay.length, 40);
    await appendRange(afterEmpty.wal, 41, 42);
    await afterEmpty.wal.close();

    // A header cut short is the same.
    const newest = (await readdir(directory)).sort().at(-1)!;
    await writeFile(join(directory, segmentFileName(43)), Buffer.alloc(10, 0x4b));
    const afterShort = await reopen(0, undefined, 256);
    assert.equal(afterShort.replay.length, 42);
    await afterShort.wal.close();
    assert.ok((await readdir(directory)).includes(newest));

    // A segment missing between two others is damage: its records are gone.
    await rm(join(directory, names[1]!));
    await assert.rejects(reopen(0, undefined, 256), (error: unknown) => {
      assert.ok(error instanceof WalError);
      assert.equal(error.code, 'wal_damaged');
      assert.match(error.message, /missing or misplaced/);
      return true;
    });
  });

  it('refuses to start when the oldest segment begins after the checkpoint', async () => {
    const { wal } = await reopen(0, undefined, 256);
    await appendInBatches(wal, 1, 40);
    await wal.close();
    const names = (await readdir(directory)).sort();
    await rm(join(directory, names[0]!));
    await assert.rejects(reopen(0, undefined, 256), /are missing \(the index holds revision 0\)/);
  });

  it('undoes a failed write, rejects its records and everything queued behind, and goes on when the disk has room', async () => {
    let full = false;
    const { files } = faultyFiles({ failWrite: () => (full ? 'ENOSPC' : undefined) });
    const { wal } = await reopen(0, files);
    await appendRange(wal, 1, 5);
    full = true;
    const results = await Promise.allSettled([wal.append(6, value(6)), wal.append(7, value(7))]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['rejected', 'rejected'],
    );
    const reason = (results[0] as PromiseRejectedResult).reason as WalError;
    assert.equal(reason.code, 'wal_write_failed');
    assert.match(reason.message, /ENOSPC/);
    assert.equal(wal.nextRevision, 6);
    assert.equal(wal.durableRevision, 5);
    full = false;
    await appendRange(wal, 6, 8);
    await wal.close();
    const { wal: reopened, replay } = await reopen();
    assert.deepEqual(
      replay.map((record) => record.revision),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(Buffer.from(replay[5]!.payload), value(6));
    await reopened.close();
  });

  it('stops after a failed fdatasync: every later append is refused until a restart', async () => {
    let failing = false;
    const { files } = faultyFiles({ failSync: () => (failing ? 'EIO' : undefined) });
    const { wal } = await reopen(0, files);
    await appendRange(wal, 1, 3);
    failing = true;
    await assert.rejects(wal.append(4, value(4)), (error: unknown) => {
      assert.ok(error instanceof WalError);
      assert.equal(error.code, 'wal_sync_failed');
      assert.match(error.message, /restart/);
      return true;
    });
    failing = false;
    await assert.rejects(wal.append(4, value(4)), { code: 'wal_sync_failed' });
    await wal.close();
    // Record 4 was never acknowledged; after a restart it may or may not be there (the write
    // reached the page cache), and the log continues after whatever is.
    const { wal: reopened, replay } = await reopen();
    assert.ok(replay.length === 3 || replay.length === 4);
    await appendRange(reopened, reopened.nextRevision, reopened.nextRevision);
    await reopened.close();
  });

  it('does not leave a half-made segment behind when starting one fails', async () => {
    let failing = true;
    const { files } = faultyFiles({ failSync: () => (failing ? 'EIO' : undefined) });
    const { wal } = await reopen(0, files);
    await assert.rejects(wal.append(1, value(1)), { code: 'wal_write_failed' });
    assert.deepEqual(await readdir(directory), []);
    failing = false;
    await appendRange(wal, 1, 2);
    await wal.close();
    assert.equal((await reopen()).replay.length, 2);
  });

  it('starts a new segment when the index is ahead of every record', async () => {
    const { wal } = await reopen();
    await appendRange(wal, 1, 5);
    await wal.close();
    const { wal: ahead, replay } = await reopen(9);
    assert.equal(replay.length, 0);
    assert.equal(ahead.nextRevision, 10);
    await appendRange(ahead, 10, 11);
    await ahead.close();
    const { replay: after } = await reopen(9);
    assert.deepEqual(
      after.map((record) => record.revision),
      [10, 11],
    );
  });

  it('keeps records whose revisions do not fit 32 bits', async () => {
    const base = 2 ** 33 + 5;
    const { wal } = await reopen(base - 1);
    await appendRange(wal, base, base + 2);
    await wal.close();
    const { replay } = await reopen(base - 1);
    assert.deepEqual(
      replay.map((record) => record.revision),
      [base, base + 1, base + 2],
    );
  });
});
