// Before LMDB creates a new store, write (and sync) as many bytes as its first pages take in a
// probe file: lmdb-js 3.x dies with SIGSEGV when writing the new file's meta pages fails (seen
// with ENOSPC, injected with strace in test/faults/open-refusals.test.ts), leaving an empty
// kvs.mdb behind. A full, read-only or failing disk is then a one-line refusal instead.

import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StoreOpenError } from '../config.js';

/** Two meta pages and the first root pages of the sub-databases, at 4 KiB pages. */
const PROBE_BYTES = 16 * 4096;
const PROBE_FILE = 'kvs.mdb-probe';
const DISK_REFUSALS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EFBIG']);

export function probeNewStoreSpace(dataDir: string): void {
  const path = join(dataDir, PROBE_FILE);
  try {
    const file = openSync(path, 'w', 0o600);
    try {
      // One positioned write, as LMDB writes its pages.
      writeSync(file, Buffer.alloc(PROBE_BYTES), 0, PROBE_BYTES, 0);
      fdatasyncSync(file);
    } finally {
      closeSync(file);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined || !DISK_REFUSALS.has(code)) throw error;
    throw new StoreOpenError(
      `store_unwritable: ${dataDir}: the disk refused a write before the new store was created (${code}); free space or fix the disk, then start again (docs/durability.md)`,
      { cause: error },
    );
  } finally {
    rmSync(path, { force: true });
  }
}
