// The lmdb engine's change-log entries (src/storage/lmdb/log-codec.ts): a store whose log was
// written before the entries had checksums (lmdb-js's msgpack) stays readable after the upgrade,
// new entries are checksummed from the revision recorded at the first open, and an entry from
// there on that fails its checksum is refused, not served.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open } from 'lmdb';
import type { ChangeEvent } from '../../src/model/events.js';
import { RecordDamagedError } from '../../src/storage/errors.js';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';

const T0 = 1_700_000_000_000;

describe('lmdb change-log format', () => {
  it('old msgpack entries stay readable; new ones are checksummed; a damaged new one is refused', async () => {
    const path = mkdtempSync(join(tmpdir(), 'kvs-log-format-'));
    const options = { path, durability: 'relaxed' as const, logLength: 100, logValueMax: 64 };
    try {
      // A log as kvs wrote it before checksums: msgpack events, meta revision and oldest.
      const raw = open({ path, maxDbs: 8, compression: false });
      const oldLog = raw.openDB<ChangeEvent[], number>({ name: 'log', encoding: 'msgpack' });
      const meta = raw.openDB<number, string>({ name: 'meta', encoding: 'msgpack' });
      const old: ChangeEvent = { type: 'delete', key: 'gone', revision: 1, version: 0 };
      await oldLog.put(1, [old]);
      await meta.put('revision', 1);
      await meta.put('oldest', 1);
      await raw.close();

      let engine = new LmdbEngine(options);
      const value = Buffer.from([0, 1, 2, 255]);
      await engine.commit(
        { conditions: [], operations: [{ type: 'put', key: 'k', value, contentType: 'x/y', expires: null }] },
        T0,
      );
      const { events } = await engine.history(0, 10);
      assert.deepEqual(events[0], old, 'the entry from before checksums is read as it was');
      assert.equal(events[1]!.key, 'k');
      assert.deepEqual(events[1]!.value, value, 'the value round-trips as bytes');
      assert.equal(events[1]!.contentType, 'x/y');
      await engine.close();

      // Damage revision 2's entry (checksummed: the store recorded checksums from revision 2).
      const again = open({ path, maxDbs: 8, compression: false });
      const bytes = again.openDB<Buffer, number>({ name: 'log', encoding: 'binary' });
      const entry = Buffer.from(bytes.getBinary(2)!);
      entry[entry.length - 1]! ^= 0x01;
      await bytes.put(2, entry);
      await again.close();

      engine = new LmdbEngine(options);
      await assert.rejects(engine.history(0, 10), RecordDamagedError);
      assert.deepEqual((await engine.history(0, 1)).events, [old], 'the entries before it are still served');
      await engine.close();
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
});
