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

/** errno values lmdb-js reports as a positive `code` when a write of the store fails. */
export const EIO = 5;
const EFBIG = 27;
export const ENOSPC = 28;
const EROFS = 30;
export const EDQUOT = 122;

/**
 * The messages msgpackr's unpack throws for bytes that are not a MessagePack value (its
 * unpack.js): a stored value of one of the msgpack databases (meta, expiry, recent, history
 * order) damaged on disk, met by a read at open. Seen in CI with 200 flipped bytes in data pages:
 * "Data read, but end of buffer not reached", reported as a bug in kvs instead of a damaged store.
 */
const MSGPACK_DECODE_FAILURES = [
  'Data read, but end of buffer not reached',
  'Unexpected end of MessagePack data',
  'Unexpected end of buffer',
  'Unknown MessagePack token',
  'Unknown extension',
  'Record id is not defined',
  'Could not find typed array',
];

export function isStoredValueDecodeError(error: unknown): boolean {
  return error instanceof Error && MSGPACK_DECODE_FAILURES.some((start) => error.message.startsWith(start));
}

/**
 * Why opening a store failed when LMDB itself refused (the open-time writes: replaying the WAL,
 * the one-time record upgrade and recent-index build, marking log checksums), as a start-up
 * refusal code; undefined for anything else, which stays an internal error.
 * - store_damaged: LMDB's page checks failed, or it tried to write a page at an offset no
 *   healthy store has (EFBIG: a page number read from a damaged page; seen with flipped bytes),
 *   or a stored value read at open does not decode (isStoredValueDecodeError).
 * - store_unwritable: the disk refused the write (full, read-only, I/O error, quota).
 */
export function lmdbOpenProblem(error: unknown): 'store_damaged' | 'store_unwritable' | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (isLmdbDamage(error) || code === EFBIG || isStoredValueDecodeError(error)) return 'store_damaged';
  if (code === EIO || code === ENOSPC || code === EROFS || code === EDQUOT || isLmdbPanic(error))
    return 'store_unwritable';
  return undefined;
}
