// Peer binaries come from Debian packages; a missing one stops the run before anything starts,
// with the command that installs it.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Binary -> Debian package that provides it. */
export const debianPackageOf: Readonly<Record<string, string>> = {
  wrk: 'wrk',
  'redis-server': 'redis-server',
  'redis-benchmark': 'redis-tools',
  'redis-cli': 'redis-tools',
  webdis: 'webdis',
  etcd: 'etcd-server',
};

export class MissingBinaryError extends Error {}

export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Throws one error naming every missing binary and the apt-get command that installs them all. */
export function requireBinaries(names: Iterable<string>): void {
  const missing = [...new Set(names)].filter((name) => findBinary(name) === undefined);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((name) => debianPackageOf[name] ?? name))];
  throw new MissingBinaryError(
    `missing peer binaries: ${missing.join(', ')} (Debian packages: ${packages.join(' ')}).\n` +
      `Install them with:\n  apt-get update && apt-get install -y ${packages.join(' ')}`,
  );
}
