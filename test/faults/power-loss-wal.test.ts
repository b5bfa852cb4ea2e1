// Power loss under the WAL: a writer process appends with 20 concurrent writers on a file system
// that loses every unsynced byte when it is cut (power-loss-fs.py). The cut comes at a seeded
// random number of acknowledgements; afterwards the WAL must open from what the "disk" holds and
// replay every acknowledged record, byte for byte. The negative control runs the same with
// fdatasync off (the relaxed mode) and must lose acknowledged records, or the harness proves nothing.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WalError, WriteAheadLog } from '../../src/storage/wal/write-ahead-log.js';
import { fuzzSeed } from '../fuzz/fuzz-options.js';
import { Random } from '../helpers/random.js';
import { powerLossPayload } from '../wal/wal-writer-process.js';
import { mountLossy, powerLossUnavailable } from './power-loss-fs.js';

const writerScript = new URL('../wal/wal-writer-process.js', import.meta.url).pathname;
const unavailable = powerLossUnavailable('test/faults/power-loss-wal.test.ts');
const seed = fuzzSeed(7);

interface Round {
  readonly acknowledged: number;
  readonly replayed: number[];
}

/** Runs the writer until `cutAfter` acknowledgements, cuts the power, and recovers from the disk. */
async function round(sync: boolean, cutAfter: number): Promise<Round> {
  const mount = await mountLossy();
  let writer: ChildProcess | undefined;
  try {
    writer = spawn(process.execPath, [writerScript, join(mount.mountPoint, 'wal'), '20', sync ? '1' : '0', '100000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = writer;
    let highest = 0;
    let buffered = '';
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${cutAfter} acks in 60 s (${highest}); ${stderr}`)), 60_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) highest = Math.max(highest, Number(line.slice(4)));
        if (highest >= cutAfter) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (highest >= cutAfter) resolve();
        else reject(new Error(`writer exited with ${code} after ${highest} acks: ${stderr}`));
      });
    });
    // The power cut, then the process dies with it. Acks printed after the cut are still valid:
    // the fdatasync behind them completed before the file system went.
    mount.cut();
    child.kill('SIGKILL');
    await new Promise<void>((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve() : child.on('exit', () => resolve()),
    );
    for (const line of buffered.split('\n'))
      if (line.startsWith('ack ')) highest = Math.max(highest, Number(line.slice(4)));
    let opened: Awaited<ReturnType<typeof WriteAheadLog.open>>;
    try {
      opened = await WriteAheadLog.open(join(mount.backing, 'wal'), { checkpoint: 0 });
    } catch (error) {
      // Without fdatasync a power cut can also leave a segment that never reached the disk before
      // a newer one: the log refuses to open, which loses every acknowledged record too.
      if (!sync && error instanceof WalError) return { acknowledged: highest, replayed: [] };
      throw error;
    }
    const { wal, replay } = opened;
    for (const record of replay) assert.deepEqual(Buffer.from(record.payload), powerLossPayload(record.revision));
    await wal.close();
    return { acknowledged: highest, replayed: replay.map((record) => record.revision) };
  } finally {
    if (writer !== undefined && writer.exitCode === null && writer.signalCode === null) writer.kill('SIGKILL');
    mount.remove();
  }
}

describe('WAL under power loss', { skip: unavailable }, () => {
  const random = new Random(seed);
  const next = () => random.next();
  console.log(`power-loss-wal: seed ${seed} (KVS_FUZZ_SEED replays)`);

  it('keeps every acknowledged record over many cuts, and opens cleanly after each', async () => {
    for (let index = 0; index < 12; index++) {
      const cutAfter = 1 + Math.floor(next() * 600);
      const { acknowledged, replayed } = await round(true, cutAfter);
      assert.ok(acknowledged >= cutAfter);
      // Revisions are consecutive from 1, and everything acknowledged is there.
      assert.deepEqual(
        replayed,
        Array.from({ length: replayed.length }, (_, offset) => offset + 1),
      );
      assert.ok(
        replayed.length >= acknowledged,
        `cut ${index} after ${cutAfter}: ${acknowledged} acknowledged, ${replayed.length} recovered`,
      );
    }
  });

  it('negative control: without fdatasync the same cuts lose acknowledged records', async () => {
    let lost = 0;
    for (let index = 0; index < 3; index++) {
      const { acknowledged, replayed } = await round(false, 50 + Math.floor(next() * 300));
      if (replayed.length < acknowledged) lost++;
    }
    assert.ok(
      lost > 0,
      'the power-loss harness did not lose unsynced acknowledged writes: it would not catch a missing fdatasync',
    );
  });
});
