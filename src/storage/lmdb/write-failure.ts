// What a failed lmdb-js commit means, measured on a full 16 MiB tmpfs (docs/durability.md,
// "Disk full and I/O errors"): the write thread's pwrite64 of a data page comes back short,
// and LMDB reports a short write as EIO (5), not ENOSPC; a write refused outright reports
// ENOSPC (28). lmdb-js rejects every write of the batch with "Commit failed" and puts the LMDB
// error on `commitError`, a second promise that rejects with `code` set to the errno.
//
// So an EIO counts as "disk full" only when the filesystem has almost no space left afterwards
// (a short write to a regular file happens only when space runs out); any other failure is an
// I/O error, after which kvs refuses writes until restarted (see lmdb-engine.ts).

import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { EDQUOT, EIO, ENOSPC } from './lmdb-errors.js';

export type WriteFailureKind = 'full' | 'io';

export interface WriteFailure {
  readonly kind: WriteFailureKind;
  /** errno of the LMDB error, when known. */
  readonly code: number | string | undefined;
  readonly cause: unknown;
}

/** Free bytes below which a short write (EIO) is taken for a full disk: LMDB writes pages of 4 KiB. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/** The LMDB error behind lmdb-js's "Commit failed"; also marks `commitError` as handled. */
export async function lmdbErrorOf(error: unknown): Promise<unknown> {
  const commitError = (error as { commitError?: unknown } | null)?.commitError;
  if (!(commitError instanceof Promise)) return error;
  // lmdb-js rejects commitError in the same callback that rejected the write, so it has settled.
  return commitError.then(
    () => error,
    (reason: unknown) => reason,
  );
}

export function freeBytes(storePath: string): number | undefined {
  try {
    const stats = statfsSync(dirname(storePath));
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

export async function classifyWriteFailure(error: unknown, storePath: string): Promise<WriteFailure> {
  const cause = await lmdbErrorOf(error);
  const code = (cause as { code?: number | string } | null)?.code;
  if (code === ENOSPC || code === 'ENOSPC' || code === EDQUOT || code === 'EDQUOT')
    return { kind: 'full', code, cause };
  if (code === EIO || code === 'EIO') {
    const free = freeBytes(storePath);
    if (free !== undefined && free < NEARLY_FULL_BYTES) return { kind: 'full', code, cause };
  }
  return { kind: 'io', code, cause };
}

export function describeFailure(failure: WriteFailure): string {
  const message = failure.cause instanceof Error ? failure.cause.message : String(failure.cause);
  return failure.code === undefined ? message : `${message} (code ${String(failure.code)})`;
}
