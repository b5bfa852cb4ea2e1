// Mounts test/faults/power-loss-fs.py: a FUSE pass-through that keeps unsynced writes in memory,
// so that killing it is a power cut. Needs root, /dev/fuse and python3-fusepy; without them the
// tests are skipped, and with CI=true they fail instead (scripts/test.sh installs the packages).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const script = new URL('../../../test/faults/power-loss-fs.py', import.meta.url).pathname;
/** Debian's python3 (fusepy is a Debian package), not whatever python3 is first on PATH. */
const python = '/usr/bin/python3';

export interface LossyMount {
  /** Where the program under test reads and writes. */
  readonly mountPoint: string;
  /** What a disk would hold: only synced data reaches it. */
  readonly backing: string;
  /** The power cut: kills the file system (unsynced writes are lost) and unmounts. */
  cut(): void;
  /** Removes the mount point, and the backing directory unless it was given (after cut). */
  remove(): void;
}

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'FUSE mounts need root';
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing';
  if (!existsSync(python)) return `${python} is missing`;
  const probe = spawnSync(python, ['-c', 'import fusepy'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'python3-fusepy is not installed (apt-get install python3-fusepy fuse3)';
  return undefined;
}

/** The reason the power-loss tests cannot run here, or undefined; throws under CI=true. */
export function powerLossUnavailable(testFile: string): string | undefined {
  const reason = missing();
  if (reason !== undefined && process.env.CI === 'true') {
    throw new Error(`${testFile}: ${reason}; CI=true does not allow skipping`);
  }
  return reason;
}

function mounted(mountPoint: string): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === mountPoint);
}

/** Mounts the lossy file system over `backing` (a new empty directory when not given). */
export async function mountLossy(existingBacking?: string): Promise<LossyMount> {
  const root = mkdtempSync(join(tmpdir(), 'kvs-power-'));
  const backing = existingBacking ?? join(root, 'disk');
  const mountPoint = join(root, 'mnt');
  if (existingBacking === undefined) mkdirSync(backing);
  mkdirSync(mountPoint);
  const daemon: ChildProcess = spawn(python, [script, backing, mountPoint], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  for (let attempt = 0; attempt < 200 && !mounted(mountPoint); attempt++) {
    if (daemon.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!mounted(mountPoint)) {
    daemon.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
    throw new Error(`power-loss-fs did not mount: ${stderr.trim()}`);
  }
  return {
    mountPoint,
    backing,
    cut() {
      daemon.kill('SIGKILL');
      spawnSync('fusermount', ['-u', '-z', mountPoint]);
    },
    remove() {
      if (mounted(mountPoint)) spawnSync('fusermount', ['-u', '-z', mountPoint]);
      // Never a recursive delete through the mount point: if it were still mounted, the deletes
      // would pass through to the backing directory and erase the store under test.
      rmdirSync(mountPoint);
      if (existingBacking === undefined) rmSync(backing, { recursive: true, force: true });
      rmdirSync(root);
    },
  };
}
