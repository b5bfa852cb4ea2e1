// The limits the store can honour. On etcd with per-key history a commit is one etcd transaction
// that also writes each key's history entry, a second copy of its value, so it holds fewer keys
// and smaller values than kvs's defaults (docs/limits.md, "On etcd with per-key history"). The
// defaults the operator did not set are lowered to what the store takes, and a value set above
// it refuses the start: no request meets a limit the operator never configured.

import { etcdWriteBounds } from '../storage/index.js';
import { type Config, ConfigError } from './config.js';
import type { Limits } from './limits.js';

/** The limits the store bounds; the others do not depend on it. */
type StoreBoundLimit = 'maxBatch' | 'maxValueBytes';

/** What the store takes at most, or undefined when it takes whatever kvs is configured with. */
export function storeBounds(config: Config): Pick<Limits, StoreBoundLimit> | undefined {
  if (config.store.kind !== 'etcd' || config.historyRetention.versions === 0) return undefined;
  return etcdWriteBounds({
    prefix: config.store.prefix,
    withHistory: true,
    maxKeyBytes: config.limits.maxKeyBytes,
    maxContentTypeBytes: config.limits.maxContentTypeBytes,
  });
}

/** How a refusal names each limit and what the store's bound is. */
const described: Record<StoreBoundLimit, { flag: string; what: (bound: number, config: Config) => string }> = {
  maxBatch: {
    flag: '--max-batch',
    what: (bound) => `the ${bound} keys one etcd transaction can write with per-key history`,
  },
  maxValueBytes: {
    flag: '--max-value-bytes',
    what: (bound, config) =>
      `the ${bound} bytes one etcd request can carry with per-key history (the value travels twice, in its key and in its history entry, with keys of up to ${config.limits.maxKeyBytes} bytes)`,
  },
};

/**
 * The config with maxBatch and maxValueBytes fitted to the store: lowered to its bound when not
 * `given` (set by a flag or its environment variable), a refusal (limit_above_store) when given
 * above it.
 */
export function fitLimitsToStore(config: Config, given: ReadonlySet<keyof Limits>): Config {
  const bounds = storeBounds(config);
  if (bounds === undefined) return config;
  const limits: Record<keyof Limits, number> = { ...config.limits };
  for (const name of ['maxBatch', 'maxValueBytes'] as const) {
    const bound = bounds[name];
    const { flag, what } = described[name];
    if (bound < 1)
      throw new ConfigError(
        `${flag}: --etcd-prefix and --max-key-bytes leave no room in one etcd commit with per-key history (${flag} would be ${bound}); give a shorter prefix or --max-key-bytes, or turn history off with --history-versions 0`,
        'limit_above_store',
      );
    if (limits[name] <= bound) continue;
    if (given.has(name))
      throw new ConfigError(
        `${flag} ${limits[name]} is above ${what(bound, config)}; give ${flag} ${bound} or less, or turn history off with --history-versions 0`,
        'limit_above_store',
      );
    limits[name] = bound;
  }
  return { ...config, limits };
}
