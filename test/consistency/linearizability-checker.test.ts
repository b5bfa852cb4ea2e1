// The linearizability checker must itself be right before its "ok" means anything: it accepts
// hand-made linearizable histories and histories produced by simulating concurrent clients
// against the model, and it rejects stale reads, lost updates and other impossible answers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  applyKeyInput,
  checkLinearizable,
  checkPartitioned,
  keyModel,
  type HistoryOperation,
  type KeyInput,
  type KeyOutput,
  type KeyState,
} from '../helpers/linearizability.js';

type Op = HistoryOperation<KeyInput, KeyOutput>;

const op = (client: number, call: number, ret: number, input: KeyInput, output: KeyOutput | undefined): Op => ({
  client,
  call,
  return: ret,
  input,
  output,
});

function assertAccepted(history: Op[]): void {
  const result = checkLinearizable(history, keyModel);
  assert.equal(result.ok, true, result.ok ? '' : result.explanation);
}

function assertRejected(history: Op[]): string {
  const result = checkLinearizable(history, keyModel);
  assert.equal(result.ok, false, 'the checker accepted a history that is not linearizable');
  return result.ok ? '' : result.explanation;
}

describe('linearizability checker on hand-made histories', () => {
  it('accepts the empty history and a sequential one', () => {
    assertAccepted([]);
    assertAccepted([
      op(1, 0, 1, { op: 'read' }, { found: false }),
      op(1, 2, 3, { op: 'create', value: 'a' }, { ok: true, version: 1 }),
      op(1, 4, 5, { op: 'cas', version: 1, value: 'b' }, { ok: true, version: 2 }),
      op(1, 6, 7, { op: 'cas', version: 1, value: 'c' }, { ok: false, currentVersion: 2 }),
      op(1, 8, 9, { op: 'read' }, { found: true, value: 'b', version: 2 }),
      op(1, 10, 11, { op: 'delete', version: 2 }, { deleted: true }),
      op(1, 12, 13, { op: 'delete' }, { deleted: false }),
      op(1, 14, 15, { op: 'put', value: 'd' }, { ok: true, version: 1 }),
    ]);
  });

  it('accepts a read overlapping a write whether it sees the old or the new value', () => {
    const write = op(1, 10, 20, { op: 'put', value: 'new' }, { ok: true, version: 2 });
    const setup = op(1, 0, 1, { op: 'put', value: 'old' }, { ok: true, version: 1 });
    assertAccepted([setup, write, op(2, 12, 18, { op: 'read' }, { found: true, value: 'old', version: 1 })]);
    assertAccepted([setup, write, op(2, 12, 18, { op: 'read' }, { found: true, value: 'new', version: 2 })]);
    // Even a read that starts before the write and ends inside it may see the new value.
    assertAccepted([setup, write, op(2, 5, 15, { op: 'read' }, { found: true, value: 'new', version: 2 })]);
  });

  it('rejects a stale read (a read after a completed write returns the older value)', () => {
    const explanation = assertRejected([
      op(1, 0, 1, { op: 'put', value: 'v1' }, { ok: true, version: 1 }),
      op(1, 2, 3, { op: 'put', value: 'v2' }, { ok: true, version: 2 }),
      op(2, 4, 5, { op: 'read' }, { found: true, value: 'v1', version: 1 }),
    ]);
    assert.match(explanation, /read/);
  });

  it('rejects a read that goes back in time after another reader saw the new value', () => {
    assertRejected([
      op(1, 0, 1, { op: 'put', value: 'v1' }, { ok: true, version: 1 }),
      op(1, 2, 100, { op: 'put', value: 'v2' }, { ok: true, version: 2 }),
      op(2, 10, 20, { op: 'read' }, { found: true, value: 'v2', version: 2 }),
      op(3, 30, 40, { op: 'read' }, { found: true, value: 'v1', version: 1 }),
    ]);
  });

  it('rejects a lost update: two concurrent compare-and-swaps from the same version both succeed', () => {
    assertRejected([
      op(1, 0, 1, { op: 'create', value: '0' }, { ok: true, version: 1 }),
      op(1, 2, 10, { op: 'cas', version: 1, value: '1' }, { ok: true, version: 2 }),
      op(2, 3, 9, { op: 'cas', version: 1, value: '1' }, { ok: true, version: 2 }),
    ]);
  });

  it('rejects a lost update seen by a final read (two acknowledged increments, the counter moved by one)', () => {
    assertRejected([
      op(1, 0, 1, { op: 'create', value: '0' }, { ok: true, version: 1 }),
      op(1, 2, 10, { op: 'cas', version: 1, value: '1' }, { ok: true, version: 2 }),
      op(2, 11, 12, { op: 'cas', version: 2, value: '2' }, { ok: true, version: 3 }),
      op(3, 13, 14, { op: 'read' }, { found: true, value: '1', version: 2 }),
    ]);
  });

  it('rejects a failed compare-and-swap that reports a version the key never had at that time', () => {
    assertRejected([
      op(1, 0, 1, { op: 'create', value: 'a' }, { ok: true, version: 1 }),
      op(2, 2, 3, { op: 'cas', version: 1, value: 'b' }, { ok: false, currentVersion: 2 }),
    ]);
  });

  it('rejects two creates of the same absent key that both succeed', () => {
    assertRejected([
      op(1, 0, 10, { op: 'create', value: 'a' }, { ok: true, version: 1 }),
      op(2, 0, 10, { op: 'create', value: 'b' }, { ok: true, version: 1 }),
    ]);
  });

  it('lets an operation with an unknown answer take effect or not', () => {
    const pending = op(1, 0, Infinity, { op: 'put', value: 'x' }, undefined);
    assertAccepted([pending, op(2, 5, 6, { op: 'read' }, { found: true, value: 'x', version: 1 })]);
    assertAccepted([pending, op(2, 5, 6, { op: 'read' }, { found: false })]);
    // ...but once seen, it cannot be unseen.
    assertRejected([
      pending,
      op(2, 5, 6, { op: 'read' }, { found: true, value: 'x', version: 1 }),
      op(2, 7, 8, { op: 'read' }, { found: false }),
    ]);
  });

  it('checks keys apart with checkPartitioned', () => {
    const history: (Op & { key: string })[] = [
      { ...op(1, 0, 1, { op: 'put', value: 'a' }, { ok: true, version: 1 }), key: 'x' },
      { ...op(1, 2, 3, { op: 'put', value: 'b' }, { ok: true, version: 1 }), key: 'y' },
      { ...op(2, 4, 5, { op: 'read' }, { found: true, value: 'a', version: 1 }), key: 'x' },
      { ...op(2, 6, 7, { op: 'read' }, { found: false }), key: 'y' },
    ];
    const results = checkPartitioned(history, (operation) => (operation as Op & { key: string }).key, keyModel);
    assert.equal(results.get('x')?.ok, true);
    assert.equal(results.get('y')?.ok, false);
  });
});

// Simulated concurrent clients: each operation gets a real-time interval and a secret
// linearization point inside it; outputs come from applying the model in the order of those
// points. Every such history is linearizable, so the checker must accept it.
const inputArbitrary: fc.Arbitrary<KeyInput> = fc.oneof(
  fc.constant<KeyInput>({ op: 'read' }),
  fc.record({ op: fc.constant('put' as const), value: fc.constantFrom('a', 'b', 'c') }),
  fc.record({ op: fc.constant('cas' as const), version: fc.nat(4), value: fc.constantFrom('a', 'b', 'c') }),
  fc.record({ op: fc.constant('create' as const), value: fc.constantFrom('a', 'b', 'c') }),
  fc.constant<KeyInput>({ op: 'delete' }),
  fc.record({ op: fc.constant('delete' as const), version: fc.nat(3) }),
);

const simulatedHistory = fc
  .array(
    fc.record({
      input: inputArbitrary,
      start: fc.nat(1000),
      length: fc.nat(200),
      point: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    {
      minLength: 1,
      maxLength: 40,
    },
  )
  .map((specs) => {
    const timed = specs.map((spec, index) => ({ ...spec, index, at: spec.start + spec.point * spec.length }));
    const outputs = new Map<number, KeyOutput>();
    let state: KeyState = null;
    for (const spec of [...timed].sort((a, b) => a.at - b.at)) {
      const { next, output } = applyKeyInput(state, spec.input);
      state = next;
      outputs.set(spec.index, output);
    }
    return timed.map(
      (spec): Op => ({
        client: spec.index,
        input: spec.input,
        output: outputs.get(spec.index),
        call: spec.start,
        return: spec.start + spec.length,
      }),
    );
  });

describe('linearizability checker on simulated concurrent histories', () => {
  it('accepts every history produced by linearization points inside the intervals', () => {
    fc.assert(
      fc.property(simulatedHistory, (history) => {
        const result = checkLinearizable(history, keyModel);
        assert.equal(result.ok, true, result.ok ? '' : result.explanation);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects any such history after one read answer is changed to a value never written', () => {
    fc.assert(
      fc.property(simulatedHistory, fc.nat(), (history, pick) => {
        const reads = history
          .map((operation, index) => ({ operation, index }))
          .filter(({ operation }) => operation.input.op === 'read');
        fc.pre(reads.length > 0);
        const victim = reads[pick % reads.length]!.index;
        const corrupted = history.map((operation, index) =>
          index === victim
            ? { ...operation, output: { found: true, value: 'never-written', version: 1 } as KeyOutput }
            : operation,
        );
        assert.equal(checkLinearizable(corrupted, keyModel).ok, false);
      }),
      { numRuns: 200 },
    );
  });

  it('handles a long history of many concurrent clients', () => {
    // 8 clients x 150 operations each with overlapping intervals, generated as above.
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const specs: { input: KeyInput; call: number; ret: number; at: number; client: number }[] = [];
    for (let client = 0; client < 8; client++) {
      let time = 0;
      for (let n = 0; n < 150; n++) {
        const call = time + random() * 5;
        const ret = call + 1 + random() * 20;
        const choice = random();
        const input: KeyInput =
          choice < 0.5
            ? { op: 'read' }
            : choice < 0.9
              ? { op: 'cas', version: Math.floor(random() * 40), value: `v${client}.${n}` }
              : { op: 'put', value: `p${client}.${n}` };
        specs.push({ input, call, ret, at: call + random() * (ret - call), client });
        time = ret;
      }
    }
    let state: KeyState = null;
    const outputs = new Map<(typeof specs)[number], KeyOutput>();
    for (const spec of [...specs].sort((a, b) => a.at - b.at)) {
      const { next, output } = applyKeyInput(state, spec.input);
      state = next;
      outputs.set(spec, output);
    }
    const history = specs.map(
      (spec): Op => ({
        client: spec.client,
        input: spec.input,
        output: outputs.get(spec),
        call: spec.call,
        return: spec.ret,
      }),
    );
    const result = checkLinearizable(history, keyModel);
    assert.equal(result.ok, true, result.ok ? '' : result.explanation);
  });
});
