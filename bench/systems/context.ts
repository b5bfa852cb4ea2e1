// What every system starter gets: where to put its files, the keys and the value.

import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestSet } from '../lib/request-set.js';

export interface BenchContext {
  /** The repository root (where bin/kvs.js and dist/ are). */
  readonly repoRoot: string;
  /** A temporary directory owned by this run; every system gets its own directory inside it. */
  readonly workDir: string;
  /** The keys GET reads and PUT spreads its writes over. */
  readonly keys: readonly string[];
  /** The 100-byte value. */
  readonly value: string;
  /** Every kvs this run starts has its HTTP fast paths on (the default) or off (`--fast-paths off`). */
  readonly kvsFastPaths: boolean;
}

export function systemDir(context: BenchContext, name: string): string {
  return mkdtempSync(join(context.workDir, `${name.replace(/[^a-z0-9]+/gi, '-')}-`));
}

/** A running HTTP system and the requests that load it. */
export interface HttpSystem {
  readonly name: string;
  readonly baseUrl: string;
  readonly getSet: RequestSet;
  readonly putSet: RequestSet;
  /** Throws unless a GET of `key` answers 2xx carrying the value (run after the preload). */
  checkGet(key: string): Promise<void>;
  stop(): Promise<void>;
}
