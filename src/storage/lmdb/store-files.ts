// The files of an lmdb data directory, checked before LMDB opens them (docs/durability.md,
// "Damaged or missing store"):
//
// - kvs.mdb, the store. Its two meta pages must be sound and the file must hold every page
//   the newest one names; otherwise kvs refuses to start with a coded one-line error instead of
//   dying inside LMDB (SIGSEGV on a zeroed meta page, SIGBUS on a truncated file).
// - kvs.store, a marker written once the store was first opened. A directory with the marker
//   but no kvs.mdb (or an empty one) held data that is gone: kvs refuses to start rather than
//   serve a new, empty store as if nothing happened.

import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { META_BYTES, MIN_PAGE_SIZE, parseMetaPage, type MetaPage } from './lmdb-meta-page.js';

export const STORE_FILE = 'kvs.mdb';
/** The write-ahead log's directory inside the data directory (docs/wal.md). */
export const WAL_DIRECTORY = 'wal';
export const MARKER_FILE = 'kvs.store';
/** The marker's line for a store created with record checksums (record-codec.ts). */
const CHECKSUMMED = 'record checksums: since creation';
/**
 * The marker's line for a store whose meta database has held the flags of its one-time builds
 * (INDEX_FLAGS in lmdb-engine.ts) since creation, or since the open that built them: a flag
 * missing later is damage, and kvs refuses the store instead of building into damaged pages.
 */
const INDEXED = 'indexes: since creation';

export type StoreFileProblem = 'store_missing' | 'store_empty' | 'store_truncated' | 'store_damaged';

export class StoreFileError extends Error {
  constructor(
    readonly code: StoreFileProblem,
    message: string,
  ) {
    super(message);
    this.name = 'StoreFileError';
  }
}

export interface StoreFilesReport {
  /** false: no store yet (a new one will be created). */
  readonly exists: boolean;
  /** The marker records that every record of this store was written with a checksum. */
  readonly alwaysChecksummed: boolean;
  /** The marker records that the store's meta database holds every one-time build's flag. */
  readonly indexedSinceCreation: boolean;
  readonly size: number;
  readonly pageSize: number;
  /** The meta page LMDB will use (the sound one with the higher transaction id). */
  readonly current: MetaPage | undefined;
}

function readAt(path: string, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    const read = readSync(fd, buffer, 0, length, offset);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Throws StoreFileError when the store in `dataDir` must not be opened. */
export function checkStoreFiles(dataDir: string): StoreFilesReport {
  const path = join(dataDir, STORE_FILE);
  const marked = existsSync(join(dataDir, MARKER_FILE));
  if (!existsSync(path)) {
    if (marked)
      throw new StoreFileError(
        'store_missing',
        `${path} is missing, but ${MARKER_FILE} records that this directory held a store; restore it or a backup (docs/durability.md)`,
      );
    return {
      exists: false,
      alwaysChecksummed: true,
      indexedSinceCreation: false,
      size: 0,
      pageSize: 0,
      current: undefined,
    };
  }
  const size = statSync(path).size;
  // LMDB writes both meta pages when it creates the file: an empty file is a store that lost its contents.
  if (size === 0)
    throw new StoreFileError(
      'store_empty',
      `${path} is empty (0 bytes)${marked ? `, but ${MARKER_FILE} records that this directory held a store` : ''}; restore it or a backup (docs/durability.md)`,
    );
  if (size < 2 * MIN_PAGE_SIZE)
    throw new StoreFileError('store_truncated', `${path} is ${size} bytes, too short to hold LMDB's two meta pages`);
  const first = parseMetaPage(readAt(path, 0, META_BYTES), 0);
  // Page 1 starts one page in: use page 0's page size when it has one, else the usual 4 KiB.
  const pageSize = first.problem === undefined ? first.pageSize : 4096;
  if (size < 2 * pageSize)
    throw new StoreFileError(
      'store_truncated',
      `${path} is ${size} bytes, shorter than its two ${pageSize}-byte meta pages`,
    );
  const second = parseMetaPage(readAt(path, pageSize, META_BYTES), 1);
  const bad = [first, second].filter((page) => page.problem !== undefined);
  if (bad.length > 0) {
    const what = bad.map((page) => `meta page ${page.index} ${page.problem}`).join('; ');
    throw new StoreFileError('store_damaged', `${path}: ${what}; LMDB cannot open it safely (docs/durability.md)`);
  }
  if (first.pageSize !== second.pageSize)
    throw new StoreFileError(
      'store_damaged',
      `${path}: the meta pages disagree on the page size (${first.pageSize}, ${second.pageSize})`,
    );
  // LMDB opens the page with the higher txnid (meta page 0 on a tie) and never reads the other's roots.
  const current = first.txnid >= second.txnid ? first : second;
  if (current.rootsProblem !== undefined)
    throw new StoreFileError(
      'store_damaged',
      `${path}: meta page ${current.index} ${current.rootsProblem}; LMDB cannot open it safely (docs/durability.md)`,
    );
  const needed = (current.lastPage + 1n) * BigInt(pageSize);
  if (BigInt(size) < needed) {
    throw new StoreFileError(
      'store_truncated',
      `${path} is ${size} bytes, but its meta page ${current.index} names pages up to ${current.lastPage} (${needed} bytes): the file was cut short`,
    );
  }
  const marker = marked ? readFileSync(join(dataDir, MARKER_FILE), 'utf8') : '';
  return {
    exists: true,
    alwaysChecksummed: marker.includes(CHECKSUMMED),
    indexedSinceCreation: marker.includes(INDEXED),
    size,
    pageSize,
    current,
  };
}

/**
 * What a --workers process needs to know about a store its primary already checked and created
 * (no meta-page or length checks: other workers may be writing the file). Refuses only a store
 * whose marker is gone, which the primary's check would have caught a moment ago.
 */
export function markedStoreFiles(dataDir: string): StoreFilesReport {
  const path = join(dataDir, STORE_FILE);
  const marker = join(dataDir, MARKER_FILE);
  if (!existsSync(marker) || !existsSync(path))
    throw new StoreFileError(
      'store_missing',
      `${path} or ${MARKER_FILE} disappeared after the primary process checked them`,
    );
  const text = readFileSync(marker, 'utf8');
  return {
    exists: true,
    alwaysChecksummed: text.includes(CHECKSUMMED),
    indexedSinceCreation: text.includes(INDEXED),
    size: statSync(path).size,
    pageSize: 0,
    current: undefined,
  };
}

/**
 * Writes the marker (once the store was opened), durably, so its absence later means something.
 * Called after the engine opened the store, which then holds every one-time build's flag: a
 * marker from before INDEXED gets that line appended (a torn append is written again next time).
 */
export function ensureStoreMarker(dataDir: string, alwaysChecksummed: boolean): void {
  const path = join(dataDir, MARKER_FILE);
  if (existsSync(path)) {
    if (readFileSync(path, 'utf8').includes(INDEXED)) return;
    appendFileSync(path, `\n${INDEXED}\n`);
    syncFile(path);
    return;
  }
  const checksums = alwaysChecksummed ? `${CHECKSUMMED}\n` : 'record checksums: added to older records at first open\n';
  try {
    writeFileSync(
      path,
      `kvs lmdb store, first opened ${new Date().toISOString()}\nIts presence tells kvs that ${STORE_FILE} must exist here.\n${checksums}${INDEXED}\n`,
      { flag: 'wx', mode: 0o600 },
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  syncFile(path);
  syncFile(dataDir);
}

function syncFile(path: string): void {
  const file = openSync(path, 'r');
  try {
    fsyncSync(file);
  } finally {
    closeSync(file);
  }
}
