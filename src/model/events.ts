// Committed changes as engines report them and the watch hub fans them out.

import type { ChangeType } from './change-type.js';

export interface ChangeEvent {
  readonly type: ChangeType;
  readonly key: string;
  readonly revision: number;
  /** The key's version after a put; 0 after delete/expire. */
  readonly version: number;
  /** The value after a put, when the engine kept it in the change log (small values only). */
  readonly value?: Buffer | undefined;
  readonly contentType?: string | null | undefined;
  readonly expires?: number | null | undefined;
}
