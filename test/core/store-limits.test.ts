// The limits fitted to the store at start-up (src/core/store-limits.ts, docs/limits.md "On etcd
// with per-key history"): on etcd with history the defaults of maxBatch and maxValueBytes come
// down to what one etcd commit holds, values given above it are refused with a coded ConfigError,
// and every other store or --history-versions 0 keeps them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Config, ConfigError, defaultConfig, parseStore } from '../../src/core/config.js';
import { defaultLimits, type Limits } from '../../src/core/limits.js';
import { fitLimitsToStore, storeBounds } from '../../src/core/store-limits.js';

const onEtcd = (changes: Partial<Config> = {}, limits: Partial<Limits> = {}): Config => ({
  ...defaultConfig,
  store: parseStore('etcd://127.0.0.1:2379'),
  ...changes,
  limits: { ...defaultLimits, ...limits },
});

describe('limits fitted to the store', () => {
  it('on etcd with history, defaults come down to what one commit holds; the other limits stay', () => {
    const fitted = fitLimitsToStore(onEtcd(), new Set());
    assert.equal(fitted.limits.maxBatch, 54);
    assert.ok(fitted.limits.maxValueBytes > 770_000 && fitted.limits.maxValueBytes < 786_000);
    assert.deepEqual(fitted.limits, { ...defaultLimits, ...storeBounds(onEtcd()) });
  });

  it('values given at or under the bound are kept; above it the start is refused, naming flag and bound', () => {
    const under = fitLimitsToStore(
      onEtcd({}, { maxBatch: 54, maxValueBytes: 1000 }),
      new Set(['maxBatch', 'maxValueBytes']),
    );
    assert.equal(under.limits.maxBatch, 54);
    assert.equal(under.limits.maxValueBytes, 1000);
    assert.throws(
      () => fitLimitsToStore(onEtcd({}, { maxBatch: 55 }), new Set(['maxBatch'])),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.code === 'limit_above_store' &&
        /^limit_above_store: --max-batch 55 is above the 54 keys .*; give --max-batch 54 or less/.test(error.message),
    );
    const bound = storeBounds(onEtcd())!.maxValueBytes;
    assert.throws(
      () => fitLimitsToStore(onEtcd({}, { maxValueBytes: bound + 1 }), new Set(['maxValueBytes'])),
      (error: unknown) =>
        error instanceof ConfigError && error.message.startsWith(`limit_above_store: --max-value-bytes ${bound + 1} `),
    );
  });

  it('longer keys leave room for smaller values, and keys that leave no room refuse the start', () => {
    const longKeys = storeBounds(onEtcd({}, { maxKeyBytes: 8192 }))!;
    assert.ok(longKeys.maxValueBytes > 0 && longKeys.maxValueBytes < storeBounds(onEtcd())!.maxValueBytes);
    // 64 KiB of U+0000 takes more than one etcd request in its names and JSON listings alone.
    assert.throws(
      () => fitLimitsToStore(onEtcd({}, { maxKeyBytes: 65_536 }), new Set(['maxKeyBytes'])),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^limit_above_store: --max-value-bytes: --etcd-prefix and --max-key-bytes leave no room/.test(error.message),
    );
  });

  it('--history-versions 0, lmdb and memory keep the defaults', () => {
    const historyOff = onEtcd({ historyRetention: { ...defaultConfig.historyRetention, versions: 0 } });
    for (const config of [historyOff, defaultConfig, { ...defaultConfig, store: parseStore('memory') }]) {
      assert.equal(storeBounds(config), undefined);
      assert.deepEqual(fitLimitsToStore(config, new Set()).limits, defaultLimits);
    }
  });
});
