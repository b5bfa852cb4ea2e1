// Bytes a directory's files take on disk, for the store-size gauge (read at scrape time).
// Allocated blocks, not apparent sizes: lmdb's map file may be sparse, and the disk filling up
// is what an operator watches for.

import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The store's own tree is shallow (a few files, one WAL directory); deeper entries are not counted. */
const MAX_DEPTH = 3;

export async function diskUsageBytes(dir: string, depth = 0): Promise<number> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    // A directory that vanished between listing and reading (a WAL segment removed) takes no space.
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth + 1 < MAX_DEPTH) total += await diskUsageBytes(path, depth + 1);
    } else if (entry.isFile()) {
      try {
        total += (await lstat(path)).blocks * 512;
      } catch {
        // Removed since the listing.
      }
    }
  }
  return total;
}
