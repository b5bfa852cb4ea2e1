// A small tmpfs for the disk-full tests: mounting needs root. Without it the tests are skipped,
// and with CI=true they fail instead (a fault test that silently does not run proves nothing).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  readonly dir: string;
  unmount(): void;
}

/** Mounts a tmpfs of `megabytes` MiB on a fresh directory, or returns the reason it could not. */
export function mountTmpfs(megabytes: number): Tmpfs | string {
  const dir = mkdtempSync(join(tmpdir(), 'kvs-tmpfs-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m,mode=0700`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed (${(mounted.stderr || mounted.error?.message || '').trim()}); these tests need root`;
  }
  return {
    dir,
    unmount() {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Mounts, or throws under CI=true, or returns the skip reason. */
export function tmpfsOrSkip(megabytes: number, testFile: string): Tmpfs | string {
  const result = mountTmpfs(megabytes);
  if (typeof result === 'string' && process.env.CI === 'true')
    throw new Error(`${testFile}: ${result}; CI=true does not allow skipping`);
  return result;
}
