// Two bounded walks over the key space for browsing a large store (the web UI, docs/ui.md):
// folders (the distinct next path segments under a prefix, like S3's `delimiter=/`, each with a
// capped key count) and a glob search. Both read through the caller's page reader, so they see
// only keys the caller may list, and each answer costs at most the numbers below, whatever the
// store holds (docs/limits.md, "What each read costs").

import { GlobPattern } from './glob.js';

/** Folders one answer may return (`GET /v1/folders?limit=` at most this). */
export const MAX_FOLDERS_PER_PAGE = 100;
/**
 * A folder the engine's folder index does not count (deeper than FOLDER_INDEX_DEPTH, or only partly
 * readable by the caller) is counted by a scan, exact up to this; past it the answer says "more"
 * (the UI shows 1000+).
 */
export const FOLDER_COUNT_CAP = 1000;
/** Keys directly under the prefix (not in a folder) one folders answer passes over at most. */
export const FOLDER_DIRECT_KEYS_MAX = 1000;
/** Keys one search answer examines at most; past it the answer is short and `next` goes on. */
export const SEARCH_SCAN_MAX = 10_000;

export interface KeyPageOf<T> {
  readonly items: T[];
  readonly next: string | null;
}

/** One page of keys the caller may list, starting after `after` (as KvService.list). */
export type PageReader<T> = (prefix: string, after: string | undefined, limit: number) => Promise<KeyPageOf<T>>;

/** Keys under each folder from an index (one read each), or undefined where the index cannot tell. */
export type FolderCounter = (folders: readonly string[]) => Promise<(number | undefined)[]>;

export interface Folder {
  /** The folder as a key prefix: the parent prefix plus one segment and its '/'. */
  readonly prefix: string;
  /**
   * Keys under it, exact when `more` is false, else at least this many (FOLDER_COUNT_CAP). From
   * the folder index, it also counts expired keys the sweeper has not removed yet.
   */
  readonly keys: number;
  readonly more: boolean;
}

export interface FolderPage {
  readonly folders: Folder[];
  /** Pass as `after` for the next folders (a folder prefix or a key passed over); null at the end. */
  readonly next: string | null;
}

const encoder = new TextEncoder();
const LARGEST_CHARACTER = '\u{10FFFF}';

/**
 * An `after` bound past every key under `folder`: the folder followed by more U+10FFFF (the
 * largest UTF-8 sequence) than the longest key can hold, so no key of the folder sorts after it.
 * It is only passed to the engine, never sent to a client.
 */
export function pastFolder(folder: string, maxKeyBytes: number): string {
  const room = Math.max(0, maxKeyBytes - encoder.encode(folder).length);
  return folder + LARGEST_CHARACTER.repeat(Math.floor(room / 4) + 1);
}

/**
 * The folders under `prefix` in key order, after `after`: each key below the prefix whose rest
 * holds a '/' belongs to the folder ending at that '/'. Cost of one answer: at most `limit`
 * folders, each found with one listing and counted by `count` (one index read each), plus at
 * most FOLDER_DIRECT_KEYS_MAX keys outside folders passed over; a folder the index cannot count
 * is counted with one listing of FOLDER_COUNT_CAP + 1 keys.
 */
export async function listFolders<T extends { key: string }>(
  read: PageReader<T>,
  count: FolderCounter,
  prefix: string,
  after: string | undefined,
  limit: number,
  maxKeyBytes: number,
): Promise<FolderPage> {
  const found = await findFolders(read, prefix, after, limit, maxKeyBytes);
  const indexed = await count(found.folders);
  const folders: Folder[] = [];
  for (const [index, folder] of found.folders.entries()) {
    const keys = indexed[index];
    if (keys !== undefined) {
      folders.push({ prefix: folder, keys, more: false });
      continue;
    }
    const counted = await read(folder, undefined, FOLDER_COUNT_CAP);
    folders.push({ prefix: folder, keys: counted.items.length, more: counted.next !== null });
  }
  return { folders, next: found.next };
}

/** The folder prefixes of one listFolders answer, and its `next`. */
async function findFolders<T extends { key: string }>(
  read: PageReader<T>,
  prefix: string,
  after: string | undefined,
  limit: number,
  maxKeyBytes: number,
): Promise<{ folders: string[]; next: string | null }> {
  const folders: string[] = [];
  // A folder prefix as the cursor means "after everything in that folder".
  let cursor = after?.endsWith('/') ? pastFolder(after, maxKeyBytes) : after;
  let lastSeen: string | undefined;
  let directPassed = 0;
  for (;;) {
    const page = await read(prefix, cursor, Math.min(100, FOLDER_DIRECT_KEYS_MAX - directPassed + 1));
    let folder: string | undefined;
    for (const item of page.items) {
      const slash = item.key.indexOf('/', prefix.length);
      if (slash !== -1) {
        folder = item.key.slice(0, slash + 1);
        break;
      }
      lastSeen = item.key;
      if (++directPassed >= FOLDER_DIRECT_KEYS_MAX) return { folders, next: lastSeen };
    }
    if (folder === undefined) {
      if (page.next === null) return { folders, next: null };
      cursor = page.next;
      lastSeen = page.next;
      continue;
    }
    if (folders.length === limit) return { folders, next: folders[folders.length - 1]! };
    folders.push(folder);
    cursor = pastFolder(folder, maxKeyBytes);
    lastSeen = folder;
  }
}

export function parseGlob(pattern: string): GlobPattern {
  return new GlobPattern(Buffer.from(pattern, 'utf8'));
}

/**
 * Keys matching a glob (Redis's syntax, over UTF-8 bytes), in key order, after `after`: only the
 * keys under the pattern's literal prefix are read, at most SEARCH_SCAN_MAX of them per answer.
 * A page may hold fewer than `limit` keys (even none) and still have a `next`.
 */
export async function searchKeys<T extends { key: string }>(
  read: PageReader<T>,
  pattern: string,
  after: string | undefined,
  limit: number,
  pageSize: number,
): Promise<KeyPageOf<T>> {
  const glob = parseGlob(pattern);
  const items: T[] = [];
  let cursor = after;
  let examined = 0;
  while (examined < SEARCH_SCAN_MAX) {
    const page = await read(glob.literalPrefix, cursor, Math.min(pageSize, SEARCH_SCAN_MAX - examined));
    for (const [index, item] of page.items.entries()) {
      examined++;
      if (!glob.matches(item.key)) continue;
      items.push(item);
      if (items.length === limit) {
        const last = index === page.items.length - 1 && page.next === null;
        return { items, next: last ? null : item.key };
      }
    }
    if (page.next === null) return { items, next: null };
    cursor = page.next;
  }
  return { items, next: cursor ?? null };
}
