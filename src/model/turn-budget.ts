// How long one piece of a long answer may hold the event loop before it gives other clients a
// turn. The listings, RESP key walks and large pages are cut into slices of a bounded count of
// items (docs/limits.md), but an item's cost varies tenfold (a key alone, or a 100 KiB value to
// checksum, decode and base64), so a slice also ends once it has used its time. The clock is read
// every few items only, and is injected so that tests can make slices end by time at will.

/** A source of milliseconds that never goes back (performance.now()). */
export type TurnClock = () => number;

/**
 * CPU time one turn of a long answer may use, ms. The stall suite's plain GET costs 57-88 us of
 * the server's CPU (server CPU per second over GETs per second in the idle phases of two runs on
 * 100,000 keys, a shared 2-core machine: bench/suites/stall.ts), so 1 ms is 11-18 of them: a heavy
 * client taking turns with 50 plain ones holds the loop for less than a third of what they do.
 */
export const TURN_BUDGET_MS = 1;

/**
 * Items between two looks at the clock. A listing entry costs 5-10 us on lmdb and performance.now()
 * about 0.05 us, so looking every 8 entries costs under 0.1% and overshoots the budget by at most
 * 8 entries (under 0.1 ms) unless single items are large.
 */
export const CLOCK_CHECK_ITEMS = 8;

const performanceClock: TurnClock = () => performance.now();

/** The time used by the current turn of one long answer. */
export class TurnBudget {
  private turnStarted: number;
  private sinceCheck = 0;

  constructor(
    private readonly clock: TurnClock = performanceClock,
    private readonly budgetMs = TURN_BUDGET_MS,
  ) {
    this.turnStarted = clock();
  }

  /** Starts the next turn's time (call it once the answer has yielded). */
  newTurn(): void {
    this.turnStarted = this.clock();
    this.sinceCheck = 0;
  }

  /** Counts one item done; true once the turn has used its time (the clock is read every CLOCK_CHECK_ITEMS items). */
  tick(): boolean {
    if (++this.sinceCheck < CLOCK_CHECK_ITEMS) return false;
    return this.spent();
  }

  /** Reads the clock: true once the turn has used its time. */
  spent(): boolean {
    this.sinceCheck = 0;
    return this.clock() - this.turnStarted >= this.budgetMs;
  }
}

/**
 * A turn of other clients' work longer than this, ms, says the event loop is busy with them: a
 * bulk answer then gives them more turns before its next slice (giveWay). Four plain GETs' worth
 * (57-88 us each, above); an idle loop's turn takes a few microseconds.
 */
export const BUSY_TURN_MS = 0.25;

/**
 * Extra turns a bulk answer gives other clients between two of its slices while the loop is busy.
 * With 50 plain GET clients a turn holds about 3 ms of their work, so a 1 ms slice after each
 * turn took about a fifth of the loop from them (the stall suite's export phase: plain GETs' p99
 * about 3x the idle phases'); after four such turns it takes about a fourteenth. An answer on an
 * idle loop is not slowed: its turns come back at once and it goes on after the first.
 */
export const BUSY_EXTRA_TURNS = 3;

/**
 * Gives other clients the event loop between two slices of a bulk answer (a listing or export
 * page, a key walk): one turn, and up to BUSY_EXTRA_TURNS more while each turn comes back later
 * than BUSY_TURN_MS (others had work). `turn` is one macrotask turn (setImmediate); injected so
 * that this module stays free of Node's timers and tests can play any load.
 */
export async function giveWay(turn: () => Promise<unknown>, clock: TurnClock = performanceClock): Promise<void> {
  for (let turns = 0; turns <= BUSY_EXTRA_TURNS; turns++) {
    const started = clock();
    await turn();
    if (clock() - started < BUSY_TURN_MS) return;
  }
}
