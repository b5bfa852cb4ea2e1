// A bulk answer gives way between its slices (src/model/turn-budget.ts, giveWay): one turn when
// the loop is idle, more while other clients keep each turn long, never more than the bound. The
// clock and the turn are injected: a turn "takes" what the test says, so nothing depends on timing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BUSY_EXTRA_TURNS, BUSY_TURN_MS, giveWay } from '../../src/model/turn-budget.js';

/** A clock moved only by the turns, each taking the next of `durations` (ms). */
function playedLoop(durations: readonly number[]) {
  let now = 0;
  let turns = 0;
  const clock = () => now;
  const turn = async () => {
    now += durations[turns] ?? 0;
    turns++;
  };
  return { clock, turn, turns: () => turns };
}

describe('giveWay', () => {
  it('takes one turn when the loop is idle', async () => {
    const loop = playedLoop([0.01, 0.01, 0.01]);
    await giveWay(loop.turn, loop.clock);
    assert.equal(loop.turns(), 1);
  });

  it('takes the extra turns while others keep the loop busy, and no more', async () => {
    const loop = playedLoop(new Array(20).fill(3));
    await giveWay(loop.turn, loop.clock);
    assert.equal(loop.turns(), 1 + BUSY_EXTRA_TURNS);
  });

  it('stops at the first short turn', async () => {
    const loop = playedLoop([3, 2, BUSY_TURN_MS / 2, 3]);
    await giveWay(loop.turn, loop.clock);
    assert.equal(loop.turns(), 3);
  });

  it('for any turns: 1 to 1 + BUSY_EXTRA_TURNS turns, ending at the first short one (property)', async (t) => {
    const seed = Number(process.env.KVS_GIVE_WAY_SEED ?? Math.floor(Math.random() * 2 ** 31));
    t.diagnostic(`seed ${seed} (replay: KVS_GIVE_WAY_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 8, maxLength: 8 }),
        async (durations) => {
          const loop = playedLoop(durations);
          await giveWay(loop.turn, loop.clock);
          const firstShort = durations.findIndex((ms) => ms < BUSY_TURN_MS);
          const expected = firstShort === -1 ? 1 + BUSY_EXTRA_TURNS : Math.min(firstShort + 1, 1 + BUSY_EXTRA_TURNS);
          assert.equal(loop.turns(), expected);
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
