// Record checksums (src/storage/lmdb/record-codec.ts): every single-byte change of a stored
// record is caught, a record is not accepted under another key, records from before checksums
// (format 1) stay readable and are upgraded when the engine opens their store, and a store
// created with checksums refuses format 1 as damage.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { open } from 'lmdb';
import { RecordDamagedError } from '../../src/storage/errors.js';
import { tableCrc32 } from '../../src/storage/lmdb/crc32.js';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';
import { decodeRecord, encodeRecord, recordState } from '../../src/storage/lmdb/record-codec.js';
import { utf8KeyEncoder } from '../../src/storage/lmdb/utf8-key-encoder.js';
import type { StoredRecord } from '../../src/storage/txn-plan.js';
import { fuzzSeed } from '../fuzz/fuzz-options.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const record: StoredRecord = {
  createRevision: 3,
  modRevision: 7,
  version: 2,
  updated: 1_700_000_000_000,
  expires: null,
  contentType: 'text/plain',
  value: Buffer.from('hello, world'),
};

/** The format-1 bytes older kvs versions wrote: no checksums. */
function encodeFormat1(stored: StoredRecord): Buffer {
  const type = stored.contentType ?? '';
  const buffer = Buffer.alloc(42 + type.length + stored.value.length);
  buffer[0] = 1;
  buffer.writeDoubleLE(stored.createRevision, 1);
  buffer.writeDoubleLE(stored.modRevision, 9);
  buffer.writeDoubleLE(stored.version, 17);
  buffer.writeDoubleLE(stored.updated, 25);
  buffer.writeDoubleLE(stored.expires ?? Number.NaN, 33);
  buffer[41] = type.length;
  buffer.write(type, 42, 'latin1');
  stored.value.copy(buffer, 42 + type.length);
  return buffer;
}

describe('record codec', () => {
  it("the portable CRC-32 gives zlib's numbers", () => {
    const builtin = (zlib as unknown as { crc32?: (data: Uint8Array | string, initial?: number) => number }).crc32;
    assert.equal(tableCrc32('123456789'), 0xcbf43926, 'the CRC-32 check value');
    if (builtin === undefined) return;
    const seed = fuzzSeed(20261129);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string(), fc.nat(), (bytes, text, initial) => {
        assert.equal(tableCrc32(bytes, initial >>> 0), builtin(bytes, initial >>> 0));
        assert.equal(tableCrc32(text), builtin(text));
      }),
      { seed, numRuns: 300 },
    );
  });

  it('round-trips, and catches every single-byte change and a record under another key', () => {
    const encoded = encodeRecord(record, 'some/key');
    const decoded = decodeRecord(encoded, 'some/key', false);
    assert.deepEqual({ ...decoded, value: Buffer.from(decoded.value) }, record);
    for (let offset = 0; offset < encoded.length; offset++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const damaged = Buffer.from(encoded);
        damaged[offset] = damaged[offset]! ^ mask;
        assert.throws(() => decodeRecord(damaged, 'some/key', false), RecordDamagedError, `byte ${offset} ^ ${mask}`);
      }
    }
    assert.throws(() => decodeRecord(encoded, 'some/kez', false), RecordDamagedError);
    assert.throws(() => decodeRecord(encoded.subarray(0, 20), 'some/key', false), RecordDamagedError);
  });

  it('reads format 1 only while the store may hold it', () => {
    const old = encodeFormat1(record);
    assert.equal(recordState(old, 'k', true), 'unchecked');
    assert.deepEqual(Buffer.from(decodeRecord(old, 'k', true).value), record.value);
    assert.throws(() => decodeRecord(old, 'k', false), RecordDamagedError);
  });
});

describe('lmdb engine and records from before checksums', () => {
  function storeWithFormat1(count: number): string {
    const dir = mkdtempSync(join(tmpdir(), 'kvs-format1-'));
    dirs.push(dir);
    const root = open({ path: dir, maxDbs: 8, compression: false });
    const kv = root.openDB<Buffer, string>({ name: 'kv', encoding: 'binary', keyEncoder: utf8KeyEncoder } as {
      name: string;
      encoding: 'binary';
    });
    const meta = root.openDB<number, string>({ name: 'meta', encoding: 'msgpack' });
    root.transactionSync(() => {
      for (let index = 0; index < count; index++)
        kv.putSync(`k${index}`, encodeFormat1({ ...record, value: Buffer.from(`v${index}`) }));
      meta.putSync('revision', 7);
    });
    root.close();
    return dir;
  }

  it('serves an old store, upgrading every record to format 2 at open (in batches)', async () => {
    const dir = storeWithFormat1(2500);
    const engine = new LmdbEngine({ path: dir, durability: 'strict', logLength: 100, logValueMax: 100 });
    try {
      assert.equal((await engine.get('k1234', Date.now()))?.value.toString(), 'v1234');
      const listed = (await engine.listEntries({ prefix: '', limit: 3000 }, Date.now())).items;
      assert.equal(listed.length, 2500);
    } finally {
      await engine.close();
    }
    const root = open({ path: dir, maxDbs: 8, compression: false, readOnly: true });
    const kv = root.openDB<Buffer, string>({ name: 'kv', encoding: 'binary', keyEncoder: utf8KeyEncoder } as {
      name: string;
      encoding: 'binary';
    });
    for (const { key, value } of kv.getRange({ start: '' })) assert.equal(recordState(value, key, false), 'ok', key);
    root.close();
  });

  it('a store created with checksums refuses a format-1 record as damage', async () => {
    const dir = storeWithFormat1(3);
    const engine = new LmdbEngine({
      path: dir,
      durability: 'strict',
      logLength: 100,
      logValueMax: 100,
      alwaysChecksummed: true,
    });
    try {
      assert.throws(() => engine.getSync('k1', Date.now()), RecordDamagedError);
      await assert.rejects(engine.list({ prefix: '', limit: 10 }, Date.now()), RecordDamagedError);
    } finally {
      await engine.close();
    }
  });
});
