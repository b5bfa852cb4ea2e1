// Starts the bystander process (bystander-process.ts) next to an attacked server and collects
// its figures: a baseline before the attack, and the figures during it.

import { join } from 'node:path';
import { startChild, stopChild, type Child } from '../lib/children.js';
import type { PhaseFigures } from './bystander-process.js';

export type { PhaseFigures } from './bystander-process.js';

export interface BystanderOptions {
  readonly repoRoot: string;
  readonly httpPort: number;
  readonly respPort: number;
  readonly path: string;
  readonly connections: number;
  readonly timeoutMs: number;
  readonly baselineSeconds: number;
  /** Safety bound: the bystander stops by itself after this. */
  readonly maxSeconds: number;
}

export class Bystander {
  private constructor(
    private readonly child: Child,
    readonly baseline: PhaseFigures,
  ) {}

  /** Starts the bystander and resolves once its baseline is measured. */
  static async start(options: BystanderOptions): Promise<Bystander> {
    const script = join(options.repoRoot, 'dist', 'bench', 'attacks', 'bystander-process.js');
    const child = startChild('bystander', process.execPath, [
      script,
      '--http-port',
      String(options.httpPort),
      '--resp-port',
      String(options.respPort),
      '--path',
      options.path,
      '--connections',
      String(options.connections),
      '--timeout-ms',
      String(options.timeoutMs),
      '--baseline-ms',
      String(options.baselineSeconds * 1000),
      '--max-seconds',
      String(options.maxSeconds),
    ]);
    try {
      const match = await child.waitForLine(/^BYSTANDER-BASELINE (.*)$/, options.baselineSeconds * 1000 + 31_000);
      return new Bystander(child, JSON.parse(match[1]!) as PhaseFigures);
    } catch (error) {
      await stopChild(child);
      throw error;
    }
  }

  /** Ends the measured phase and returns its figures (undefined if the bystander failed). */
  async finish(): Promise<PhaseFigures | undefined> {
    const result = this.child.waitForLine(/^BYSTANDER-RESULT (.*)$/, 20_000).then(
      (match) => JSON.parse(match[1]!) as PhaseFigures,
      () => undefined,
    );
    try {
      process.kill(this.child.pid, 'SIGUSR2');
    } catch {
      // already gone: the result promise reports it
    }
    const figures = await result;
    await stopChild(this.child, 2000);
    return figures;
  }
}
