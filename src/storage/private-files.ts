// Store files are private to the server's user (docs/durability.md, "File permissions"): the
// data directory is created 0700 and the files kvs creates in it are 0600, whatever the umask
// (lmdb-js has no mode option and LMDB creates its files 0664 minus the umask; with umask 000
// the directory was 0777 and kvs.mdb world-writable). A directory the operator made is left as
// it is; files kvs owns are set to 0600 at every start.

import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Creates `dir` (and missing parents) mode 0700; an existing directory is not changed. One
 * directory at a time: Node's recursive mkdir never returns for a path under /proc (it retries
 * the ENOENT forever), so this one fails with that ENOENT instead.
 */
export function makePrivateDir(dir: string): void {
  if (existsSync(dir)) return;
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at) && dirname(at) !== at; at = dirname(at)) missing.unshift(at);
  for (const path of missing) {
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      // Made by someone else in between: left as it is, like any existing directory.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    // mkdir applies the umask; chmod does not.
    chmodSync(path, 0o700);
  }
}

/** Sets each existing file to 0600. */
export function makeFilesPrivate(paths: readonly string[]): void {
  for (const path of paths) if (existsSync(path)) chmodSync(path, 0o600);
}
