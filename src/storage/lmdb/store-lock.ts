// One kvs server (or one --workers group) per lmdb store: the exclusive writer mode assigns
// revisions in memory, so a second server on the same data directory must be refused, not
// silently allowed to interleave. A lock file holds the owner's pid; a lock left by a process
// that no longer exists (kill -9, power loss) is taken over.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class StoreLockedError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`another kvs process (pid ${pid}) is using the data directory ${dataDir}`);
    this.name = 'StoreLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data directory's lock; returns the function that releases it. */
export function acquireStoreLock(dataDir: string): () => void {
  const path = join(dataDir, 'kvs.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) throw new StoreLockedError(dataDir, owner);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not take the lock ${path}`);
}
