// Store files are private to the server's user (docs/durability.md, "File permissions"): the
// data directory is created 0700 and the files kvs creates in it are 0600, whatever the umask
// (lmdb-js has no mode option and LMDB creates its files 0664 minus the umask; with umask 000
// the directory was 0777 and kvs.mdb world-writable). A directory the operator made is left as
// it is; files kvs owns are set to 0600 at every start.

import { chmodSync, existsSync, mkdirSync } from 'node:fs';

/** Creates `dir` (and missing parents) mode 0700; an existing directory is not changed. */
export function makePrivateDir(dir: string): void {
  if (existsSync(dir)) return;
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir applies the umask; chmod does not. Only the directories this call created.
  if (created !== undefined) chmodSync(dir, 0o700);
}

/** Sets each existing file to 0600. */
export function makeFilesPrivate(paths: readonly string[]): void {
  for (const path of paths) if (existsSync(path)) chmodSync(path, 0o600);
}
