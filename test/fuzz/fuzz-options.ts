// The contract every fuzzer in test/fuzz/ follows, so that the test suite (fixed seeds, a few
// thousand cases) and `npm run fuzz -- --duration 600` (long campaigns) drive them alike.
//
// A campaign is reproducible from its seed: the same seed and case count generate the same
// inputs. The seed is printed at the start of every campaign; KVS_FUZZ_SEED replays one.

export interface FuzzOptions {
  /** Seed of the generators (fast-check `seed`, or a PRNG seeded with it). */
  readonly seed: number;
  /** Most cases to run. */
  readonly cases: number;
  /** Stop after this long even if cases remain (ms). */
  readonly durationMs: number;
  /** Progress and findings go here (console.log by default). */
  readonly log?: (line: string) => void;
}

export interface FuzzFinding {
  /** Which invariant broke: '5xx', 'crash', 'hang', 'partial-write', 'model-mismatch', 'rss', 'health'. */
  readonly invariant: string;
  /** What was sent, printable (JSON or an escaped byte string), enough to write a regression test. */
  readonly input: string;
  readonly detail: string;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  readonly casesRun: number;
  readonly findings: readonly FuzzFinding[];
  /** Highest resident memory of the server seen during the campaign, in bytes (the RESP fuzzer: RssAnon). */
  readonly rssPeakBytes: number;
}

/** Seed from KVS_FUZZ_SEED when set (replay), else the given default (CI's fixed seed). */
export function fuzzSeed(defaultSeed: number): number {
  const fromEnv = process.env.KVS_FUZZ_SEED;
  if (fromEnv === undefined || fromEnv === '') return defaultSeed;
  const seed = Number(fromEnv);
  if (!Number.isSafeInteger(seed)) throw new Error(`KVS_FUZZ_SEED must be an integer, got ${fromEnv}`);
  return seed;
}

/** Server RSS in bytes, read from /proc (Linux), for the memory-bound invariant. */
export async function rssBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/mu.exec(status);
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}
