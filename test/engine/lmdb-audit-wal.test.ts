// The lmdb engine's audit trail through the write-ahead log (docs/audit.md): the origin travels
// in the WAL record, so the start-up replay, coalesced to each key's final record, still writes
// every replayed commit's audit entry; and a WAL written before the audit trail (payloads
// without the audit section) still replays, its commits without entries.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { WriteOrigin } from '../../src/model/audit.js';
import { encodeAuditEntry } from '../../src/storage/audit-codec.js';
import { LmdbEngine, type LmdbEngineOptions } from '../../src/storage/lmdb/lmdb-engine.js';
import { encodeLogEntry } from '../../src/storage/lmdb/log-codec.js';
import { encodeRecord } from '../../src/storage/lmdb/record-codec.js';
import { decodeWalCommit, encodeWalCommit } from '../../src/storage/lmdb/wal-commit.js';
import { WriteAheadLog } from '../../src/storage/wal/write-ahead-log.js';

const T0 = 1_700_000_000_000;
const directories: string[] = [];
after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'kvs-lmdb-audit-wal-'));
  directories.push(directory);
  return directory;
}

function optionsFor(directory: string): LmdbEngineOptions {
  return {
    path: join(directory, 'kvs.mdb'),
    durability: 'strict',
    logLength: 10_000,
    logValueMax: 1024,
    walDirectory: join(directory, 'wal'),
  };
}

function origin(index: number): WriteOrigin {
  return {
    tokenId: `tok_${index}`,
    label: `label ${index}`,
    via: index % 2 === 0 ? 'v1' : 'resp',
    address: '127.0.0.1',
  };
}

describe('lmdb audit trail through the write-ahead log', () => {
  it('the replay writes every replayed commit its entry, though it coalesces the records', async () => {
    const source = freshDirectory();
    const engine = await LmdbEngine.open(optionsFor(source));
    const early = readFileSync(join(source, 'kvs.mdb'));
    // One key written 40 times: the replay writes its final record once, and 40 audit entries.
    for (let index = 0; index < 40; index++) {
      const result = await engine.commit(
        {
          conditions: [],
          operations: [{ type: 'put', key: 'same', value: Buffer.from(`v${index}`), contentType: null, expires: null }],
          origin: origin(index),
        },
        T0 + index,
      );
      assert.ok(result.ok);
    }
    const live = (await engine.audit({ limit: 100 })).entries;
    assert.equal(live.length, 40);
    const crashed = freshDirectory();
    cpSync(join(source, 'wal'), join(crashed, 'wal'), { recursive: true });
    writeFileSync(join(crashed, 'kvs.mdb'), early);
    await engine.close();

    const reopened = await LmdbEngine.open(optionsFor(crashed));
    try {
      assert.equal(await reopened.revision(), 40);
      const replayed = (await reopened.audit({ limit: 100 })).entries;
      assert.deepEqual(replayed, live);
      assert.deepEqual(
        replayed.map((entry) => [entry.revision, entry.tokenId, entry.via]),
        Array.from({ length: 40 }, (_, index) => [
          40 - index,
          `tok_${39 - index}`,
          (39 - index) % 2 === 0 ? 'v1' : 'resp',
        ]),
      );
    } finally {
      await reopened.close();
    }
  });

  it('a WAL of payloads without the audit section (written before it) still replays', async () => {
    const directory = freshDirectory();
    const { wal } = await WriteAheadLog.open(join(directory, 'wal'), { checkpoint: 0, sync: true });
    for (let revision = 1; revision <= 3; revision++) {
      const record = {
        value: Buffer.from(`old${revision}`),
        createRevision: 1,
        modRevision: revision,
        version: revision,
        updated: T0,
        expires: null,
        contentType: null,
      };
      const payload = encodeWalCommit({
        revision,
        writes: [{ key: 'k', record, encoded: encodeRecord(record, 'k'), previous: undefined }],
        logEntry: encodeLogEntry(revision, [{ type: 'put', key: 'k', revision, version: revision }]),
      });
      assert.equal(decodeWalCommit(payload, revision).audit, undefined);
      await wal.append(revision, payload);
    }
    await wal.close();
    const engine = await LmdbEngine.open(optionsFor(directory));
    try {
      assert.equal(await engine.revision(), 3);
      assert.equal((await engine.get('k', T0))?.value.toString(), 'old3');
      assert.deepEqual((await engine.audit({ limit: 10 })).entries, []);
      // New commits get their entries.
      const result = await engine.commit(
        {
          conditions: [],
          operations: [{ type: 'delete', key: 'k' }],
          origin: origin(1),
        },
        T0,
      );
      assert.ok(result.ok);
      assert.deepEqual(
        (await engine.audit({ limit: 10 })).entries.map((entry) => [entry.revision, entry.tokenId, entry.keys]),
        [[4, 'tok_1', ['k']]],
      );
    } finally {
      await engine.close();
    }
  });

  it('a payload with the audit section carries the entry bytes unchanged', () => {
    const bytes = encodeAuditEntry({ ...origin(2), revision: 9, time: T0, keys: ['a'], keyCount: 1 });
    const payload = encodeWalCommit({
      revision: 9,
      writes: [{ key: 'a', record: null, encoded: null, previous: undefined }],
      logEntry: encodeLogEntry(9, [{ type: 'delete', key: 'a', revision: 9, version: 0 }]),
      audit: { bytes, time: T0 },
    });
    const decoded = decodeWalCommit(payload, 9);
    assert.ok(decoded.audit?.equals(bytes));
    assert.deepEqual(
      decoded.writes.map((write) => write.key),
      ['a'],
    );
  });
});
