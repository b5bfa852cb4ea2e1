// Finds the lmdb environment kvs created inside its data directory, so the loader can open the
// same store without knowing how the server lays out its data directory.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function findLmdbStore(dataDir: string): string {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        // Subdirectory layout: DIR/data.mdb + DIR/lock.mdb.
        if (existsSync(join(path, 'data.mdb'))) found.push(path);
        else walk(path);
      } else if (!name.endsWith('-lock') && existsSync(`${path}-lock`)) {
        // lmdb-js default layout: FILE + FILE-lock.
        found.push(path);
      }
    }
  };
  if (existsSync(join(dataDir, 'data.mdb'))) found.push(dataDir);
  walk(dataDir);
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one lmdb store in ${dataDir}, found ${found.length} (${found.join(', ') || 'none'}); ` +
        'use --startup-loader http to load through the HTTP API instead.',
    );
  }
  return found[0]!;
}
