// The history retention settings (`--history-versions` and the byte bounds, docs/history.md)
// reach the engine that openEngine opens, on every engine that keeps history.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_HISTORY_RETENTION, openEngine, type StorageOptions } from '../../src/storage/index.js';

const T0 = 1_700_000_000_000;

for (const kind of ['memory', 'lmdb'] as const) {
  describe(`openEngine passes the history retention (${kind})`, () => {
    for (const versions of [0, 2]) {
      it(`--history-versions ${versions}`, async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'kvs-history-options-'));
        const options: StorageOptions = {
          store: { kind },
          dataDir,
          durability: 'strict',
          logLength: 1000,
          logValueMax: 64,
          workers: 1,
          writeAheadLog: true,
          historyRetention: { ...DEFAULT_HISTORY_RETENTION, versions },
        };
        const engine = await openEngine(options);
        try {
          for (let index = 0; index < 5; index++) {
            const operation = {
              type: 'put' as const,
              key: 'k',
              value: Buffer.from(`v${index}`),
              contentType: null,
              expires: null,
            };
            assert.ok((await engine.commit({ conditions: [], operations: [operation] }, T0 + index)).ok);
          }
          const page = await engine.keyHistory!('k', { limit: 100, values: true });
          assert.deepEqual(
            page.versions.map((version) => version.value?.toString()),
            ['v4', 'v3'].slice(0, versions),
          );
        } finally {
          await engine.close();
          rmSync(dataDir, { recursive: true, force: true });
        }
      });
    }
  });
}
