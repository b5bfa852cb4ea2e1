// The WAL segment scanner: a torn tail is cut at its first bad byte, damage anywhere before the
// tail is refused with its offset, and generated segments round-trip (seeded; KVS_FUZZ_SEED replays).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  encodeRecord,
  encodeSegmentHeader,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from '../../src/storage/wal/wal-format.js';
import { scanSegment } from '../../src/storage/wal/wal-scan.js';
import { fuzzSeed } from '../fuzz/fuzz-options.js';

const seed = fuzzSeed(20261129);

function segment(firstRevision: number, payloads: Buffer[]): { bytes: Buffer; starts: number[] } {
  const parts = [encodeSegmentHeader(firstRevision)];
  const starts: number[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  payloads.forEach((payload, index) => {
    const frame = encodeRecord(firstRevision + index, payload);
    starts.push(offset);
    offset += frame.length;
    parts.push(frame);
  });
  return { bytes: Buffer.concat(parts), starts };
}

const payloads = (count: number) =>
  Array.from({ length: count }, (_, index) => Buffer.from(`value-${index}-`.repeat(index + 1)));

describe('WAL segment scan', () => {
  it('reads back generated segments exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }),
        (first, arrays) => {
          const bodies = arrays.map((array) => Buffer.from(array));
          const { bytes } = segment(first, bodies);
          const scan = scanSegment(bytes, first);
          assert.equal(scan.kind, 'clean');
          if (scan.kind !== 'clean') return;
          assert.equal(scan.end, bytes.length);
          assert.deepEqual(
            scan.records.map((record) => [record.revision, Buffer.from(record.payload)]),
            bodies.map((body, index) => [first + index, body]),
          );
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it('cuts a torn last record at every byte and keeps every record before it', () => {
    const { bytes, starts } = segment(7, payloads(5));
    const lastStart = starts.at(-1)!;
    for (let cut = lastStart; cut < bytes.length; cut++) {
      const scan = scanSegment(bytes.subarray(0, cut), 7);
      assert.equal(scan.kind, cut === lastStart ? 'clean' : 'torn', `cut at ${cut}`);
      if (scan.kind !== 'torn' && scan.kind !== 'clean') return;
      assert.equal(scan.end, lastStart);
      assert.deepEqual(
        scan.records.map((record) => record.revision),
        [7, 8, 9, 10],
      );
    }
  });

  it('ends the records where zeros start: a torn tail or preallocated space', () => {
    const { bytes, starts } = segment(1, payloads(3));
    const lastStart = starts.at(-1)!;
    for (let from = lastStart; from < bytes.length; from += 3) {
      const zeroed = Buffer.from(bytes);
      zeroed.fill(0, from);
      const scan = scanSegment(zeroed, 1);
      assert.ok(scan.kind === 'torn' || scan.kind === 'clean', `zeros from ${from}: ${scan.kind}`);
      if (scan.kind === 'torn' || scan.kind === 'clean') assert.equal(scan.end, lastStart);
    }
    // A file extended by zeros after its last whole record (preallocated, or a size-extending
    // write lost to a crash) is clean, its records ending where the zeros start.
    const extended = Buffer.concat([bytes, Buffer.alloc(4096)]);
    const scan = scanSegment(extended, 1);
    assert.equal(scan.kind, 'clean');
    if (scan.kind === 'clean') assert.equal(scan.end, bytes.length);
  });

  it('refuses a flipped byte in any record but the last, naming the offset of the bad record', () => {
    const { bytes, starts } = segment(100, payloads(6));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: starts.length - 2 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (recordIndex, position, flip) => {
          const start = starts[recordIndex]!;
          const end = starts[recordIndex + 1]!;
          const length = bytes.readUInt32LE(start);
          // Padding bytes are not covered by the checksum (and carry nothing): flip inside the frame.
          const target = start + (position % (16 + length));
          const damaged = Buffer.from(bytes);
          damaged[target] = damaged[target]! ^ flip;
          const scan = scanSegment(damaged, 100);
          assert.equal(scan.kind, 'damaged', `flip at ${target} (record ${recordIndex}, ${start}..${end})`);
          if (scan.kind === 'damaged') assert.equal(scan.offset, start);
        },
      ),
      { seed, numRuns: 400 },
    );
  });

  it('refuses a segment that does not start where the previous one ended, or has a bad header', () => {
    const { bytes } = segment(50, payloads(2));
    assert.equal(scanSegment(bytes, 49).kind, 'damaged');
    assert.equal(scanSegment(bytes, 50).kind, 'clean');
    const badMagic = Buffer.from(bytes);
    badMagic[0] = 0x41;
    assert.equal(scanSegment(badMagic, 50).kind, 'damaged');
    const badHeaderCrc = Buffer.from(bytes);
    badHeaderCrc[17] = badHeaderCrc[17]! ^ 1;
    assert.equal(scanSegment(badHeaderCrc, 50).kind, 'damaged');
  });

  it('calls a segment without a complete header unborn', () => {
    const { bytes } = segment(3, payloads(1));
    for (let cut = 0; cut < SEGMENT_HEADER_BYTES; cut++)
      assert.equal(scanSegment(bytes.subarray(0, cut)).kind, 'unborn');
    assert.equal(scanSegment(Buffer.alloc(4096)).kind, 'unborn');
  });

  it('names segments so that names sort in revision order', () => {
    const revisions = [1, 9, 10, 99, 100, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const names = revisions.map(segmentFileName);
    assert.deepEqual([...names].sort(), names);
    assert.deepEqual(names.map(parseSegmentFileName), revisions);
    assert.equal(parseSegmentFileName('kvs.mdb'), undefined);
    assert.equal(parseSegmentFileName('00000000000000000001.wal.tmp'), undefined);
  });
});
