// The value diff's bounds (src/core/value-diff.ts, src/core/diff-runner.ts; docs/limits.md):
// binary and over-1-MiB verdicts, small values inline, large ones in worker threads with at
// most DIFF_WORKERS_MAX running and DIFF_WAITING_MAX waiting.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIFF_WAITING_MAX, DIFF_WORKERS_MAX, DiffRunner } from '../../src/core/diff-runner.js';
import { DIFF_VALUE_MAX_BYTES, diffValues } from '../../src/core/value-diff.js';

const side = (label: string, text: string | Buffer) => ({ label, value: Buffer.from(text) });

function lines(count: number, changedAt: number): string {
  return `${Array.from({ length: count }, (_, index) => (index === changedAt ? 'changed' : `line ${index}`)).join('\n')}\n`;
}

describe('value diff', () => {
  it('diffs text, and answers binary and too-large values with a verdict', () => {
    const text = diffValues(side('k@1', 'a\nb\n'), side('k@2', 'a\nc\n'));
    assert.deepEqual(text, {
      binary: false,
      patch:
        '===================================================================\n--- k@1\n+++ k@2\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n',
      added: 1,
      removed: 1,
    });
    assert.deepEqual(diffValues(side('a', Buffer.from([0xff])), side('b', Buffer.from([0xff]))), {
      binary: true,
      message: 'binary values are identical',
    });
    const big = diffValues(side('a', 'x'), side('b', Buffer.alloc(DIFF_VALUE_MAX_BYTES + 1, 'y')));
    assert.equal('tooLarge' in big && big.tooLarge, true);
  });

  it(`runs large diffs in workers, at most ${DIFF_WORKERS_MAX} at once and ${DIFF_WAITING_MAX} waiting`, async () => {
    const runner = new DiffRunner();
    const from = side('k@1', lines(20_000, -1));
    const to = side('k@2', lines(20_000, 7));
    const answers = await Promise.all(
      Array.from({ length: DIFF_WORKERS_MAX + DIFF_WAITING_MAX + 1 }, () => runner.diff(from, to)),
    );
    const refused = answers.filter((answer) => 'tooLarge' in answer);
    assert.equal(refused.length, 1);
    assert.match((refused[0] as { message: string }).message, /too many large diffs in progress/);
    for (const answer of answers.filter((answer) => !('tooLarge' in answer)))
      assert.deepEqual([answer.binary, 'added' in answer && answer.added], [false, 1]);
    // The slots are free again.
    const again = await runner.diff(from, to);
    assert.equal('patch' in again, true);
  });
});
