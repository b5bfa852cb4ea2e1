// Reads the two meta pages at the start of an LMDB file (pages 0 and 1), so that a damaged or
// truncated store is refused before LMDB maps it: LMDB trusts these pages, and on a zeroed meta
// page or a file shorter than the pages they name, lmdb-js 3.5.6 died of SIGSEGV or SIGBUS.
//
// Layout, as lmdb-js 3.5.6 writes it (read from the file it creates, 64-bit):
//   page header (24 bytes): u64 pgno | u64 txnid | u16 pad | u16 flags (P_META = 0x08) | u16 lower | u16 upper
//   meta at 24: u32 magic (0xBEEFC0DE) | u32 version (2) | u64 address | u64 mapsize
//               | 2 x db (48 bytes: u32 pad | u16 flags | u16 depth | u64 branch, leaf, overflow pages
//               | u64 entries | u64 root) | u64 last page | u64 txnid
// The free-page db's pad (offset 48) holds the page size.

export const LMDB_MAGIC = 0xbeefc0de;
/** The data version lmdb-js 3.5.6 writes; another one means a store this lmdb-js cannot read. */
export const LMDB_DATA_VERSION = 2;
const P_META = 0x08;
const META_OFFSET = 24;
const NO_ROOT = 0xffffffffffffffffn;

export interface MetaPage {
  readonly index: number;
  /** Why the page is not a usable meta page, or undefined if it is. */
  readonly problem: string | undefined;
  readonly pageSize: number;
  readonly lastPage: bigint;
  readonly txnid: bigint;
  /**
   * A tree root outside the pages the page names. LMDB reads only the newer meta page's roots, so
   * this is damage only on that one: after a failed meta-page write LMDB writes the old txnid and
   * last page back but keeps the new roots (mdb.c, mdb_env_write_meta), leaving the older page
   * like this while the store is sound (seen under strace's pwrite64 -> ENOSPC window).
   */
  readonly rootsProblem?: string;
}

/** Smallest file LMDB can hold a meta page in; real page sizes are 4 KiB or more. */
export const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 65536;
/** Bytes of a meta page that are read: up to and including the txnid. */
export const META_BYTES = META_OFFSET + 4 + 4 + 8 + 8 + 2 * 48 + 8 + 8;

/** Parses the meta page `index` from `bytes` (the META_BYTES at its start). */
export function parseMetaPage(bytes: Buffer, index: number): MetaPage {
  const fail = (problem: string): MetaPage => ({ index, problem, pageSize: 0, lastPage: 0n, txnid: 0n });
  if (bytes.length < META_BYTES) return fail('is cut short');
  if (bytes.every((byte) => byte === 0)) return fail('is all zero bytes');
  const flags = bytes.readUInt16LE(18);
  if ((flags & P_META) === 0) return fail(`is not marked as a meta page (flags 0x${flags.toString(16)})`);
  const magic = bytes.readUInt32LE(META_OFFSET);
  if (magic !== LMDB_MAGIC)
    return fail(`has a wrong magic number 0x${magic.toString(16)} (LMDB writes 0x${LMDB_MAGIC.toString(16)})`);
  const version = bytes.readUInt32LE(META_OFFSET + 4);
  if (version !== LMDB_DATA_VERSION)
    return fail(`has data version ${version} (this lmdb-js reads version ${LMDB_DATA_VERSION})`);
  const pageSize = bytes.readUInt32LE(48);
  if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0)
    return fail(`names an impossible page size ${pageSize}`);
  const lastPage = bytes.readBigUInt64LE(144);
  const txnid = bytes.readBigUInt64LE(152);
  if (lastPage < 1n) return fail(`names last page ${lastPage}`);
  for (const [name, offset] of [
    ['free-page', 88],
    ['main', 136],
  ] as const) {
    const root = bytes.readBigUInt64LE(offset);
    if (root !== NO_ROOT && (root < 2n || root > lastPage))
      return {
        index,
        problem: undefined,
        pageSize,
        lastPage,
        txnid,
        rootsProblem: `names the ${name} tree root page ${root}, outside pages 2-${lastPage}`,
      };
  }
  return { index, problem: undefined, pageSize, lastPage, txnid };
}
