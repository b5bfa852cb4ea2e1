// The etcd engine's pure parts, without etcd: where keys go (key-space.ts), the value envelope
// (envelope.ts) and the commit record (commit-record.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IKeyValue } from 'etcd3';
import { decodeCommitRecord, encodeCommitRecord } from '../../src/storage/etcd/commit-record.js';
import { decodeEnvelope, encodeEnvelope, recordOf } from '../../src/storage/etcd/envelope.js';
import { KeySpace, rangeEndOfPrefix } from '../../src/storage/etcd/key-space.js';

const hex = (buffer: Buffer) => buffer.toString('hex');

describe('etcd key space', () => {
  const space = new KeySpace('ns/');

  it('stores a key at prefix + UTF-8 bytes and reads it back; bookkeeping keys are no kvs keys', () => {
    const key = 'a/\u{1F600}\u0000z';
    const etcdKey = space.dataKey(key);
    assert.equal(hex(etcdKey), hex(Buffer.concat([Buffer.from('ns/'), Buffer.from(key, 'utf8')])));
    assert.equal(space.keyOf(etcdKey), key);
    assert.equal(space.keyOf(space.commitKey), undefined);
    assert.ok(space.isCommitKey(space.commitKey));
    assert.equal(space.keyOf(Buffer.from('ns/')), undefined);
    assert.equal(space.keyOf(Buffer.from('other/x')), undefined);
  });

  it('the range of a key prefix ends before the bookkeeping keys and covers U+10FFFF', () => {
    const all = space.allData();
    assert.equal(hex(all.start), hex(Buffer.from('ns/')));
    assert.equal(hex(all.end), hex(Buffer.from([...Buffer.from('ns/'), 0xff])));
    assert.ok(Buffer.compare(space.commitKey, all.end) >= 0, 'the commit record is outside');
    const highest = space.dataKey('p\u{10FFFF}\u{10FFFF}');
    const range = space.dataRange('p')!;
    assert.ok(Buffer.compare(highest, range.start) >= 0 && Buffer.compare(highest, range.end) < 0);
  });

  it('`after` starts just past that key, and a range that cannot hold anything is undefined', () => {
    const range = space.dataRange('b/', 'b/1')!;
    assert.equal(hex(range.start), hex(Buffer.concat([Buffer.from('ns/b/1'), Buffer.from([0])])));
    assert.equal(hex(space.dataRange('b/', 'a')!.start), hex(Buffer.from('ns/b/')));
    assert.equal(space.dataRange('b/', 'c'), undefined);
    assert.equal(space.dataRange('\uE000', '\u{10000}'), undefined);
  });

  it('history entry names carry the key and the entry, sort in key order, and each key has a range of its own', () => {
    const commit = Buffer.from('00000000000000070123456789abcdef', 'hex');
    const name = { commit, size: 148, valueSize: 100, version: 7, type: 'expire' as const };
    // In byte order; keys may hold U+0000 and start one another.
    const keys = ['a', 'a\u0000', 'a\u0000\u0000', 'a\u0000b', 'a/\u{1F600}', 'ab', 'b'];
    const etcdKeys = keys.map((key) => space.historyEntryKey(key, name));
    keys.forEach((key, index) => {
      assert.deepEqual(space.historyEntryName(etcdKeys[index]!), { key, ...name });
      const range = space.historyEntries(key);
      etcdKeys.forEach((other, at) => {
        const inside = Buffer.compare(other, range.start) >= 0 && Buffer.compare(other, range.end) < 0;
        assert.equal(inside, at === index, `${JSON.stringify(keys[at])} in the range of ${JSON.stringify(key)}`);
      });
    });
    const sorted = [...etcdKeys].sort(Buffer.compare);
    assert.deepEqual(
      sorted.map((etcdKey) => space.historyEntryName(etcdKey).key),
      keys,
    );
    // A prefix's range holds the keys that start with it, after `after`.
    const under = space.historyKeysRange('a\u0000', 'a\u0000');
    assert.deepEqual(
      etcdKeys
        .filter((etcdKey) => Buffer.compare(etcdKey, under.start) >= 0 && Buffer.compare(etcdKey, under.end) < 0)
        .map((etcdKey) => space.historyEntryName(etcdKey).key),
      ['a\u0000\u0000', 'a\u0000b'],
    );
  });

  it('the change range holds the kvs keys, the commit record and audit entries, and no history key or system record', () => {
    const range = space.changeRange();
    const inside = (etcdKey: Buffer) =>
      Buffer.compare(etcdKey, range.start) >= 0 && Buffer.compare(etcdKey, range.end) < 0;
    for (const key of ['a', '\u0000', '\u{10FFFF}\u{10FFFF}']) assert.ok(inside(space.dataKey(key)), key);
    assert.ok(inside(space.commitKey));
    assert.ok(inside(space.auditKey(Date.now(), Buffer.alloc(8, 0xff))));
    const commit = Buffer.alloc(16, 0xff);
    const outside = [
      space.historyEntryKey('a', { commit, size: 1, valueSize: 1, version: 1, type: 'put' }),
      space.historyEntryKey('\u0000', { commit, size: 1, valueSize: 1, version: 1, type: 'delete' }),
      space.historyOrderKey(commit),
      space.historyBytesKey(63),
      space.historyStartedKey(),
      space.systemKey('tokens'),
      Buffer.from('ns0'),
    ];
    for (const etcdKey of outside) assert.ok(!inside(etcdKey), etcdKey.toString('latin1'));
  });

  it("the watch range of a prefix follows etcd's rule, including trailing 0xFF bytes and the empty prefix", () => {
    assert.equal(hex(rangeEndOfPrefix(Buffer.from('kvs/'))), hex(Buffer.from('kvs0')));
    assert.equal(hex(rangeEndOfPrefix(Buffer.from([0x61, 0xff, 0xff]))), hex(Buffer.from([0x62])));
    assert.equal(hex(rangeEndOfPrefix(Buffer.alloc(0))), hex(Buffer.from([0])));
    assert.equal(hex(new KeySpace('').whole().end), hex(Buffer.from([0])));
  });
});

describe('etcd value envelope', () => {
  const kv = (value: Buffer, meta: Partial<IKeyValue> = {}): IKeyValue => ({
    key: Buffer.from('k'),
    create_revision: '10',
    mod_revision: '20',
    version: '3',
    lease: '0',
    value,
    ...meta,
  });

  it('round-trips every field, in 11 bytes of overhead for a plain key', () => {
    const value = Buffer.from([0, 1, 2, 0xff]);
    const plain = encodeEnvelope({
      updated: 1234.5,
      expires: null,
      contentType: null,
      versionOffset: 0,
      createRevision: 0,
      value,
    });
    assert.equal(plain.length, 11 + value.length);
    assert.deepEqual(decodeEnvelope(plain), {
      updated: 1234.5,
      expires: null,
      contentType: null,
      versionOffset: 0,
      createRevision: 0,
      value,
    });
    const full = {
      updated: 1,
      expires: 1_700_000_000_123,
      contentType: 'application/json; charset=utf-8',
      versionOffset: -1,
      createRevision: -1,
      value: Buffer.alloc(0),
    };
    assert.deepEqual(decodeEnvelope(encodeEnvelope(full)), full);
  });

  it('kvs meta comes from etcd meta corrected by the incarnation fields', () => {
    const plain = recordOf(
      kv(
        encodeEnvelope({
          updated: 5,
          expires: 9,
          contentType: 'text/x',
          versionOffset: 0,
          createRevision: 0,
          value: Buffer.from('v'),
        }),
      ),
    );
    assert.deepEqual(
      { ...plain, value: plain.value.toString() },
      { value: 'v', contentType: 'text/x', expires: 9, updated: 5, modRevision: 20, version: 3, createRevision: 10 },
    );
    const reborn = recordOf(
      kv(
        encodeEnvelope({
          updated: 5,
          expires: null,
          contentType: null,
          versionOffset: 2,
          createRevision: -1,
          value: Buffer.from('v'),
        }),
      ),
    );
    assert.deepEqual([reborn.version, reborn.createRevision], [1, 20]);
    const carried = recordOf(
      kv(
        encodeEnvelope({
          updated: 5,
          expires: null,
          contentType: null,
          versionOffset: 1,
          createRevision: 17,
          value: Buffer.from('v'),
        }),
      ),
    );
    assert.deepEqual([carried.version, carried.createRevision], [2, 17]);
  });

  it('a value not written by kvs reads as a bare value', () => {
    const foreign = Buffer.from('written by etcdctl');
    assert.deepEqual(decodeEnvelope(foreign), {
      updated: 0,
      expires: null,
      contentType: null,
      versionOffset: 0,
      createRevision: 0,
      value: foreign,
    });
  });
});

describe('etcd commit record', () => {
  it('is empty when etcd events suffice, and otherwise carries the events, values limited on reading', () => {
    assert.equal(encodeCommitRecord(undefined).length, 0);
    assert.equal(decodeCommitRecord(Buffer.alloc(0), 7, 100), undefined);
    const events = [
      {
        type: 'put' as const,
        key: 'k',
        revision: 0,
        version: 1,
        value: Buffer.from('first'),
        contentType: 'text/x',
        expires: null,
      },
      {
        type: 'put' as const,
        key: 'k',
        revision: 0,
        version: 2,
        value: Buffer.from('second!'),
        contentType: null,
        expires: 42,
      },
      { type: 'expire' as const, key: 'old', revision: 0, version: 0 },
    ];
    const decoded = decodeCommitRecord(encodeCommitRecord(events), 7, 6)!;
    assert.deepEqual(
      decoded.map((event) => [
        event.type,
        event.key,
        event.revision,
        event.version,
        event.value?.toString(),
        event.contentType,
        event.expires,
      ]),
      [
        ['put', 'k', 7, 1, 'first', 'text/x', null],
        ['put', 'k', 7, 2, undefined, null, 42],
        ['expire', 'old', 7, 0, undefined, undefined, undefined],
      ],
    );
  });
});
