// kvs check reads the lmdb audit trail (docs/audit.md): a damaged entry, or one under a revision
// the store never reached, is reported; an intact trail is not.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { open } from 'lmdb';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';
import { checkStore } from '../../src/storage/lmdb/store-check.js';

const directory = mkdtempSync(join(tmpdir(), 'kvs-audit-check-'));
after(() => rmSync(directory, { recursive: true, force: true }));

describe('kvs check and the audit trail', () => {
  it('reports a damaged entry and one past the store revision', async () => {
    const path = join(directory, 'kvs.mdb');
    const engine = await LmdbEngine.open({ path, durability: 'relaxed', logLength: 100, logValueMax: 16 });
    const origin = { tokenId: 'tok_x', label: 'x', via: 'v1' as const, address: '127.0.0.1' };
    for (const key of ['a', 'b'])
      assert.ok(
        (
          await engine.commit(
            {
              conditions: [],
              operations: [{ type: 'put', key, value: Buffer.from('v'), contentType: null, expires: null }],
              origin,
            },
            Date.now(),
          )
        ).ok,
      );
    await engine.close();
    assert.deepEqual((await checkStore(directory)).problems, [], 'an intact trail');
    const raw = open({ path, maxDbs: 16 });
    const audit = raw.openDB<Buffer, number>({ name: 'audit', encoding: 'binary' });
    const entry = audit.getBinary(1)!;
    const flipped = Buffer.from(entry);
    flipped[flipped.length - 1]! ^= 0x01;
    await audit.put(1, flipped);
    await audit.put(99, entry);
    await raw.close();
    assert.deepEqual((await checkStore(directory)).problems, [
      'audit trail: the entry of revision 1 failed its checksum',
      'audit trail: revision 99 is outside 1-2',
    ]);
  });
});
