// `kvs check` reads the write-ahead log too (docs/durability.md, "kvs check"). A real server
// writes 20 keys and stops; lmdb's file is copied aside; a second run overwrites, deletes and
// adds keys and is killed with SIGKILL; putting the copy back leaves a store as a crash right
// before lmdb's checkpoint leaves it: the WAL holds acknowledged commits lmdb lacks. Then:
// - a clean WAL and one with unapplied records check clean, with their counts;
// - a flipped byte in a record before the last one is damage (exit 1) naming the segment and the
//   offset, and the server refuses to start on it (wal_damaged);
// - a torn tail is a note (exit 0), and the server starts on it;
// - `--salvage` carries the writes only the WAL holds (their final record per key wins over
//   lmdb's older one, a deletion drops the key), and `kvs import` restores them.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanSegment } from '../../src/storage/wal/wal-scan.js';
import { authed, kvsBin, removeDir, startServer, tempDir } from '../helpers/server-process.js';

const SEGMENT_HEADER_BYTES = 32;
const RECORD_HEADER_BYTES = 16;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) removeDir(dir);
});

function kvsCheck(dataDir: string, extra: string[] = []): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [kvsBin, 'check', '--data', dataDir, ...extra], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function segmentOf(dataDir: string): string {
  const segments = readdirSync(join(dataDir, 'wal')).filter((name) => name.endsWith('.wal'));
  assert.equal(segments.length, 1, `one WAL segment: ${segments.join(', ')}`);
  return segments[0]!;
}

function copyOf(source: string): string {
  const dir = tempDir('kvs-walcheck');
  dirs.push(dir);
  cpSync(source, dir, { recursive: true });
  return dir;
}

async function put(server: { url: string; token: string }, key: string, value: string): Promise<void> {
  const response = await fetch(`${server.url}/v1/kv/${key}`, authed(server, { method: 'PUT', body: value }));
  assert.ok(response.ok, `PUT ${key}: ${response.status} ${await response.text()}`);
}

describe('kvs check and the write-ahead log', () => {
  const clean = tempDir('kvs-walcheck-clean');
  const crashed = tempDir('kvs-walcheck-crashed');
  dirs.push(clean, crashed);
  /** What an acknowledged write left: every key's value, null for a deleted key. */
  const expected = new Map<string, string | null>();

  before(async () => {
    const first = await startServer({ dataDir: clean });
    for (let index = 0; index < 20; index++) {
      await put(first, `k${index}`, `old-${index}`);
      expected.set(`k${index}`, `old-${index}`);
    }
    await first.stop();
    cpSync(clean, crashed, { recursive: true });
    const lmdbBefore = readFileSync(join(crashed, 'kvs.mdb'));
    const second = await startServer({ dataDir: crashed });
    try {
      for (let index = 0; index < 5; index++) {
        await put(second, `k${index}`, `new-${index}`);
        expected.set(`k${index}`, `new-${index}`);
      }
      const deleted = await fetch(`${second.url}/v1/kv/k5`, authed(second, { method: 'DELETE' }));
      assert.ok(deleted.ok, `delete k5: ${deleted.status}`);
      expected.set('k5', null);
      for (let index = 0; index < 5; index++) {
        await put(second, `n${index}`, `added-${index}`);
        expected.set(`n${index}`, `added-${index}`);
      }
    } finally {
      await second.kill9();
    }
    writeFileSync(join(crashed, 'kvs.mdb'), lmdbBefore);
  });

  it('a clean WAL: its counts, nothing waiting for lmdb, exit 0', () => {
    const check = kvsCheck(clean);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, /wal: 1 segments, 20 records \(revisions 1 to 20\), 0 not yet in lmdb \(0 keys\)/);
    assert.doesNotMatch(check.output, /note:|problem:/);
  });

  it('a WAL holding acknowledged commits lmdb lacks: counted, exit 0', () => {
    const check = kvsCheck(copyOf(crashed));
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, /revision: 20 /);
    assert.match(check.output, /wal: 1 segments, 31 records \(revisions 1 to 31\), 11 not yet in lmdb \(11 keys\)/);
  });

  it('a flipped byte before the last record: damaged, exit 1, segment and offset named; the server refuses', async () => {
    const dir = copyOf(crashed);
    const segment = segmentOf(dir);
    const path = join(dir, 'wal', segment);
    const bytes = readFileSync(path);
    // Inside the payload of the first record, which many valid records follow.
    bytes[SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 2]! ^= 0x40;
    writeFileSync(path, bytes);
    const check = kvsCheck(dir);
    assert.equal(check.status, 1, check.output);
    assert.match(
      check.output,
      new RegExp(`problem: WAL segment ${segment} is damaged at offset ${SEGMENT_HEADER_BYTES}: `),
    );
    assert.match(check.output, /result: damaged/);
    await assert.rejects(startServer({ dataDir: dir }), /wal_damaged: WAL segment \S+ is damaged at offset 32/);
  });

  it('a torn tail: a note, exit 0; the server starts on it', async () => {
    const dir = copyOf(crashed);
    const segment = segmentOf(dir);
    const path = join(dir, 'wal', segment);
    // Into the last record's payload (past its zero padding, at most 7 bytes), counted from where
    // the records end: the zeros preallocated after them (write-ahead-log.ts) are no record.
    const scan = scanSegment(readFileSync(path));
    assert.ok(scan.kind === 'clean', scan.kind);
    truncateSync(path, scan.end - 10);
    const check = kvsCheck(dir);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, new RegExp(`note: WAL segment ${segment} has a torn tail at offset \\d+`));
    assert.match(check.output, /30 records \(revisions 1 to 30\), 10 not yet in lmdb/);
    assert.match(check.output, /result: clean/);
    const server = await startServer({ dataDir: dir });
    await server.stop();
  });

  it('--salvage carries the writes only the WAL holds, and kvs import restores them', async () => {
    const dir = copyOf(crashed);
    const salvage = join(dir, 'intact.ndjson');
    const check = kvsCheck(dir, ['--salvage', salvage]);
    assert.equal(check.status, 0, check.output);
    // lmdb's k6-k19, and from the WAL k0-k4 (newer values) and n0-n4; k5 was deleted.
    assert.match(check.output, /salvaged: 24 intact records/);
    const fresh = await startServer({});
    dirs.push(fresh.dataDir);
    try {
      const imported = spawnSync(
        process.execPath,
        [kvsBin, 'import', salvage, '--url', fresh.url, '--token', fresh.token],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(imported.status, 0, `${imported.stdout}${imported.stderr}`);
      for (const [key, value] of expected) {
        const response = await fetch(`${fresh.url}/v1/kv/${key}`, authed(fresh));
        if (value === null) assert.equal(response.status, 404, key);
        else assert.equal(await response.text(), value, key);
      }
    } finally {
      await fresh.stop();
    }
  });
});
