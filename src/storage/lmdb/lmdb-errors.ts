// LMDB's error codes for a store whose pages fail its own checks (lmdb.h): reads that meet them
// answer record_damaged, and `kvs check` counts them.

const MDB_PAGE_NOTFOUND = -30797;
const MDB_CORRUPTED = -30796;
const MDB_BAD_TXN = -30782;
const MDB_INVALID = -30793;

const DAMAGE_CODES = new Set<unknown>([MDB_PAGE_NOTFOUND, MDB_CORRUPTED, MDB_BAD_TXN, MDB_INVALID]);

export function isLmdbDamage(error: unknown): boolean {
  return DAMAGE_CODES.has((error as { code?: unknown } | null)?.code);
}

const MDB_PANIC = -30795;

/**
 * LMDB's fatal state: a write of its meta page failed (an I/O error, a full disk at the wrong
 * moment), and from then on every read and write of the environment fails until it is reopened.
 */
export function isLmdbPanic(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === MDB_PANIC || (typeof message === 'string' && message.includes('MDB_PANIC'));
}
