// The folder-count index the engines keep with every commit (docs/ui.md, "Folders"): for each
// folder, a prefix of a key that ends at one of its first FOLDER_INDEX_DEPTH '/'s, how many keys
// are stored under it. The web UI's folder view reads it instead of counting keys on each view.
// Pure helpers shared by the lmdb and memory engines; etcd counts with its own index instead.

/**
 * Folder levels the engines count (docs/limits.md): a key `a/b/c` counts in `a/` and `a/b/`.
 * Each key created or removed costs one counter update per level, so the depth bounds what a
 * write costs; a deeper folder is counted by a bounded scan instead (src/core/key-browsing.ts).
 */
export const FOLDER_INDEX_DEPTH = 8;

/** The folders of `key` that are counted: each prefix ending at one of its first FOLDER_INDEX_DEPTH '/'s. */
export function indexedFolders(key: string): string[] {
  const folders: string[] = [];
  let slash = key.indexOf('/');
  while (slash !== -1 && folders.length < FOLDER_INDEX_DEPTH) {
    folders.push(key.slice(0, slash + 1));
    slash = key.indexOf('/', slash + 1);
  }
  return folders;
}

/** Whether the engines keep a count for `folder`: it ends with '/' and holds at most FOLDER_INDEX_DEPTH of them. */
export function isIndexedFolder(folder: string): boolean {
  if (!folder.endsWith('/')) return false;
  let slashes = 0;
  for (let at = folder.indexOf('/'); at !== -1; at = folder.indexOf('/', at + 1))
    if (++slashes > FOLDER_INDEX_DEPTH) return false;
  return true;
}

/** How a write changes the number of stored keys: +1 when it creates one, -1 when it removes one. */
export function storedKeyDelta(existed: boolean, exists: boolean): -1 | 0 | 1 {
  return existed === exists ? 0 : exists ? 1 : -1;
}

/**
 * Folder counts of keys visited in key order (an index built from scratch, in memory bounded by
 * FOLDER_INDEX_DEPTH): a folder's keys are contiguous in key order, so each folder is complete,
 * and handed to `emit`, once a key outside it comes or at `finish`.
 */
export class FolderCountStream {
  private readonly open: { folder: string; count: number }[] = [];

  constructor(private readonly emit: (folder: string, count: number) => void) {}

  add(key: string): void {
    while (this.open.length > 0 && !key.startsWith(this.open.at(-1)!.folder)) this.close();
    const folders = indexedFolders(key);
    // The open folders are a chain of prefixes of this key now; the deeper ones are opened.
    for (let level = this.open.length; level < folders.length; level++)
      this.open.push({ folder: folders[level]!, count: 0 });
    for (let level = 0; level < folders.length; level++) this.open[level]!.count++;
  }

  finish(): void {
    while (this.open.length > 0) this.close();
  }

  private close(): void {
    const { folder, count } = this.open.pop()!;
    this.emit(folder, count);
  }
}
