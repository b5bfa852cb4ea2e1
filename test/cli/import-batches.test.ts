// How import groups records into transactions (no server needed).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TxnOperation } from '../../src/client/index.js';
import { importBatches, plan, type BatchLimits, type ImportCounts } from '../../src/cli/commands/import-batches.js';
import type { KvRecord } from '../../src/cli/formats/index.js';

function text(key: string, value: string, expires: number | null = null): KvRecord {
  return { key, value: Buffer.from(value), contentType: null, expires };
}

async function batches(
  records: KvRecord[],
  limits: Partial<BatchLimits> = {},
): Promise<{ batches: TxnOperation[][]; counts: ImportCounts }> {
  const counts: ImportCounts = { skippedExpired: 0 };
  const result: TxnOperation[][] = [];
  async function* source() {
    yield* records;
  }
  for await (const batch of importBatches(
    source(),
    { maxKeys: 1000, maxBytes: 1 << 20, now: 1_000_000, ...limits },
    counts,
  ))
    result.push(batch);
  return { batches: result, counts };
}

const keysOf = (batch: TxnOperation[]) => batch.map((operation) => operation.key);

describe('import batches', () => {
  it('cuts batches at maxKeys', async () => {
    const records = Array.from({ length: 2500 }, (_, index) => text(`k${index}`, 'v'));
    const { batches: result } = await batches(records);
    assert.deepEqual(
      result.map((batch) => batch.length),
      [1000, 1000, 500],
    );
    assert.deepEqual(
      result.flatMap(keysOf),
      records.map((record) => record.key),
    );
  });

  it('cuts batches at maxBytes, and sends a record larger than maxBytes alone', async () => {
    const big = 'x'.repeat(4000);
    const records = [
      text('a', big),
      text('b', big),
      text('c', big),
      text('huge', 'y'.repeat(20_000)),
      text('d', 'small'),
    ];
    const { batches: result } = await batches(records, { maxBytes: 9000 });
    assert.deepEqual(result.map(keysOf), [['a', 'b'], ['c'], ['huge'], ['d']]);
  });

  it('skips and counts records that already expired; keeps future expiries', async () => {
    const { batches: result, counts } = await batches([
      text('old', 'x', 999_999),
      text('now', 'x', 1_000_000),
      text('later', 'x', 1_000_001),
      text('never', 'x'),
    ]);
    assert.deepEqual(result.map(keysOf), [['later', 'never']]);
    assert.equal(counts.skippedExpired, 2);
    const later = result[0]![0]!;
    assert.ok(later.op === 'put' && later.expires?.getTime() === 1_000_001);
  });

  it('a key repeated within a batch keeps its last record', async () => {
    const { batches: result } = await batches([text('a', '1'), text('b', '2'), text('a', '3')]);
    assert.deepEqual(
      result[0]!.map((operation) => operation.op === 'put' && [operation.key, operation.value]),
      [
        ['a', '3'],
        ['b', '2'],
      ],
    );
  });

  it('sends text values as text and other values as bytes (base64), whichever is smaller in JSON', () => {
    const textual = plan(text('t', 'hello')).operation;
    assert.ok(textual.op === 'put' && textual.value === 'hello');
    const binary = plan({
      key: 'b',
      value: Buffer.from([0xff, 0xfe]),
      contentType: 'application/octet-stream',
      expires: null,
    }).operation;
    assert.ok(
      binary.op === 'put' && Buffer.isBuffer(binary.value) && binary.contentType === 'application/octet-stream',
    );
    // Control characters cost 6 bytes each as JSON escapes: base64 is smaller.
    const escaped = plan(text('e', '\u0001'.repeat(300))).operation;
    assert.ok(escaped.op === 'put' && Buffer.isBuffer(escaped.value));
  });
});
