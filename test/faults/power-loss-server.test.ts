// Power loss under the server: kvs runs on a file system that loses every unsynced byte when it is
// cut (power-loss-fs.py). 16 clients write distinct keys; after a seeded random number of
// acknowledgements the power is cut and the server killed; kvs then starts on what the "disk"
// holds and every acknowledged write of every round so far must be there with its value. Several
// rounds on one store. The negative control runs the same with `--durability relaxed` (acknowledged
// before fdatasync) and must lose acknowledged writes (or refuse to start on an emptied store),
// or this harness would not catch a missing flush.
//
// Unlike crash-durability.test.ts (kill -9, where the page cache keeps unflushed data), this
// drops what was never synced, so it proves the flush itself. Directory entries are kept at once
// by the file system model (see power-loss-fs.py).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fuzzSeed } from '../fuzz/fuzz-options.js';
import { type ServerProcess, startServer } from '../helpers/server-process.js';
import { mountLossy, powerLossUnavailable } from './power-loss-fs.js';
import { Random } from './write-load.js';

const unavailable = powerLossUnavailable('test/faults/power-loss-server.test.ts');
const seed = fuzzSeed(11);
const CLIENTS = 16;

interface Written {
  readonly key: string;
  readonly value: string;
}

/**
 * One round: mounts the lossy file system over `backing`, writes until `cutAfter` acknowledgements,
 * cuts the power, kills the server. Returns the writes that were acknowledged.
 */
async function loadAndCut(backing: string, round: number, cutAfter: number, args: string[]): Promise<Written[]> {
  const mount = await mountLossy(backing);
  let server: ServerProcess | undefined;
  try {
    mkdirSync(join(mount.mountPoint, 'data'), { recursive: true });
    server = await startServer({ dataDir: join(mount.mountPoint, 'data'), args });
    const live = server;
    const acknowledged: Written[] = [];
    let cut = false;
    const client = async (clientId: number) => {
      for (let index = 0; !cut; index++) {
        const written = { key: `r${round}/c${clientId}/${index}`, value: `value ${round} ${clientId} ${index}` };
        let status: number;
        try {
          const response = await fetch(`${live.url}/v1/kv/${written.key}`, {
            method: 'PUT',
            body: written.value,
            headers: { authorization: `Bearer ${live.token}`, 'content-type': 'text/plain' },
          });
          status = response.status;
          await response.arrayBuffer();
        } catch {
          return; // the server died with the power
        }
        if (status === 200 || status === 201) {
          acknowledged.push(written);
          if (!cut && acknowledged.length >= cutAfter) {
            cut = true;
            mount.cut();
            void live.kill9();
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, clientId) => client(clientId)));
    await live.kill9();
    return acknowledged;
  } finally {
    await server?.kill9();
    mount.cut();
    mount.remove();
  }
}

/** Starts kvs on the disk as the power cut left it; returns the missing writes, or the refusal. */
async function recover(
  backing: string,
  expected: Written[],
): Promise<{ missing: Written[]; refused?: string; firstAnswer?: string }> {
  let server: ServerProcess | undefined;
  try {
    server = await startServer({ dataDir: join(backing, 'data') });
  } catch (error) {
    return { missing: expected, refused: (error as Error).message };
  }
  try {
    const missing: Written[] = [];
    let firstAnswer: string | undefined;
    for (const written of expected) {
      const response = await fetch(`${server.url}/v1/kv/${written.key}`);
      const body = await response.text();
      if (response.status !== 200 || body !== written.value) {
        missing.push(written);
        firstAnswer ??= `${written.key}: ${response.status} ${body.slice(0, 200)}`;
      }
    }
    return firstAnswer === undefined ? { missing } : { missing, firstAnswer };
  } finally {
    await server.stop();
  }
}

describe('kvs under power loss', { skip: unavailable }, () => {
  const random = new Random(seed);
  console.log(`power-loss-server: seed ${seed} (KVS_FUZZ_SEED replays)`);

  // The default write path (the write-ahead log). The open finding of the lmdb-only path
  // (`--wal off`: 2 of about 20 runs lost every key at round 5 of seed 11) is described in
  // docs/durability.md; this path passed 12 of 12 runs, seed 11 among them.
  it('keeps every acknowledged write over 6 power cuts on one store', async () => {
    const backing = mkdtempSync(join(tmpdir(), 'kvs-power-disk-'));
    let failed = true;
    try {
      const all: Written[] = [];
      for (let round = 1; round <= 6; round++) {
        const cutAfter = random.int(50, 400);
        const acknowledged = await loadAndCut(backing, round, cutAfter, []);
        assert.ok(acknowledged.length >= cutAfter, `round ${round}: ${acknowledged.length} acknowledged`);
        all.push(...acknowledged);
        const { missing, refused, firstAnswer } = await recover(backing, all);
        assert.equal(refused, undefined, `round ${round}: kvs refused to start after the cut: ${refused}`);
        assert.deepEqual(
          missing.slice(0, 5),
          [],
          `round ${round}: ${missing.length} of ${all.length} acknowledged writes lost after the power cut; first: ${firstAnswer}; the disk is kept in ${backing}`,
        );
      }
      failed = false;
    } finally {
      // A failed run keeps its disk for inspection (the path is in the failure message).
      if (!failed) rmSync(backing, { recursive: true, force: true });
    }
  });

  it('negative control: with --durability relaxed a power cut loses acknowledged writes', async () => {
    const backing = mkdtempSync(join(tmpdir(), 'kvs-power-disk-'));
    try {
      const acknowledged = await loadAndCut(backing, 1, random.int(100, 300), ['--durability', 'relaxed']);
      const { missing, refused } = await recover(backing, acknowledged);
      assert.ok(
        missing.length > 0 || refused !== undefined,
        'relaxed durability lost nothing: the power-loss harness would not catch a missing fdatasync',
      );
    } finally {
      rmSync(backing, { recursive: true, force: true });
    }
  });
});
