// What an attack is, what it gets to work with, and what it reports.

import type { Socket } from 'node:net';
import type { AttackServer } from './attack-server.js';
import type { AttackSettings } from './attack-settings.js';
import type { StatusTally } from './status-tally.js';

export interface AttackContext {
  readonly server: AttackServer;
  readonly settings: AttackSettings;
  readonly repoRoot: string;
  /** A directory of this attack's own. */
  readonly home: string;
  log(message: string): void;
  /** Registers a socket the harness destroys when the attack ends, whatever happens. */
  track<T extends Socket>(socket: T): T;
  /** False once the attack's time is up (its own bound, or the harness's deadline). */
  active(): boolean;
}

export interface AttackFindings {
  /** What was sent, e.g. "40 watch streams, 2.1 GB read". */
  readonly tried: string;
  readonly tally: StatusTally;
  /** Attack-specific figures, [label, value]. */
  readonly details: readonly (readonly [string, string])[];
}

export interface AttackStorage {
  readonly dataDir: string;
  /** Undoes the storage set-up (unmounts); returns notes for the report. */
  teardown(): Promise<readonly string[]>;
}

export interface Attack {
  readonly name: string;
  /** One sentence for the report. */
  readonly summary: string;
  /** Extra `kvs serve` flags. */
  serverArgs?(settings: AttackSettings): readonly string[];
  /** Where the store lives, when it is not a plain directory (disk-full's tmpfs). */
  storage?(home: string, settings: AttackSettings): Promise<AttackStorage>;
  /** Work before the bystander's baseline (loading data); not measured as the attack. */
  prepare?(context: AttackContext): Promise<readonly (readonly [string, string])[]>;
  run(context: AttackContext): Promise<AttackFindings>;
  /** The attack's own bound, seconds; the harness gives up on it a minute later. */
  maxSeconds(settings: AttackSettings): number;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
