// The audit trail's part of the engine conformance suite (docs/audit.md): every engine records
// one entry per commit that changed something, in the same transaction, newest first in pages,
// and drops the oldest past its bounds. Called by runEngineConformance.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIT_KEYS_MAX, type AuditEntry, type WriteOrigin } from '../../src/model/audit.js';
import type { Operation, Txn } from '../../src/model/txn.js';
import type { Engine } from '../../src/storage/engine.js';
import type { EngineTestOptions, OpenedEngine, OpenEngine } from './conformance.js';

const T0 = 1_700_000_000_000;
const OPTIONS: EngineTestOptions = { logLength: 10_000, logValueMax: 64 };
const ALICE: WriteOrigin = { tokenId: 'tok_alice', label: 'alice', via: 'v1', address: '10.0.0.1' };
const BOB: WriteOrigin = { tokenId: 'file:0123456789ab', label: 'token#2(write)', via: 'resp', address: '::1' };

export interface AuditTraits {
  readonly durable: boolean;
  /** The engine drops entries past the byte bound (etcd keeps the age bound only). */
  readonly boundedBySize: boolean;
}

function put(key: string, value = 'v', expires: number | null = null): Operation {
  return { type: 'put', key, value: Buffer.from(value), contentType: null, expires };
}

function txn(operations: Operation[], origin: WriteOrigin, conditions: Txn['conditions'] = []): Txn {
  return { conditions, operations, origin };
}

async function commit(engine: Engine, transaction: Txn, now = T0): Promise<number> {
  const result = await engine.commit(transaction, now);
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { revision: number }).revision;
}

/** Every entry, newest first, through pages of `limit`. */
async function allEntries(engine: Engine, limit = 1000): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let before: number | undefined;
  for (let page = 0; page < 1000; page++) {
    const answer = await engine.audit({ before, limit });
    entries.push(...answer.entries);
    if (answer.before === undefined) return entries;
    before = answer.before;
  }
  throw new Error('the audit trail did not end within 1000 pages');
}

function who(entry: AuditEntry) {
  return { tokenId: entry.tokenId, label: entry.label, via: entry.via, address: entry.address };
}

export function describeAuditConformance(open: OpenEngine, traits: AuditTraits): void {
  async function withEngine(options: EngineTestOptions, body: (opened: OpenedEngine) => Promise<void>): Promise<void> {
    const opened = await open(options);
    try {
      await body(opened);
    } finally {
      await opened.cleanup();
    }
  }

  describe('audit trail', () => {
    it('one entry per commit that changed something, with its origin, revision, time and keys', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const first = await commit(engine, txn([put('a'), put('b'), put('c')], ALICE), T0);
        const second = await commit(engine, txn([{ type: 'delete', key: 'b' }], BOB), T0 + 5);
        // A failed check, a delete of an absent key: nothing committed, no entry.
        const refused = await engine.commit(
          txn([put('a', 'x')], ALICE, [{ key: 'a', kind: 'version', version: 7 }]),
          T0 + 6,
        );
        assert.equal(refused.ok, false);
        const nothing = await engine.commit(txn([{ type: 'delete', key: 'absent' }], ALICE), T0 + 7);
        assert.equal(nothing.ok, true);
        const entries = await allEntries(engine);
        assert.deepEqual(
          entries.map((entry) => ({
            ...who(entry),
            revision: entry.revision,
            time: entry.time,
            keys: entry.keys,
            keyCount: entry.keyCount,
          })),
          [
            { ...BOB, revision: second, time: T0 + 5, keys: ['b'], keyCount: 1 },
            { ...ALICE, revision: first, time: T0, keys: ['a', 'b', 'c'], keyCount: 3 },
          ],
        );
      }));

    it('a commit without an origin, and an expiry by the sweeper, are recorded too', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        await commit(engine, { conditions: [], operations: [put('x')] }, T0);
        const expiry: WriteOrigin = { tokenId: null, label: null, via: 'expiry', address: null };
        await commit(engine, { conditions: [], operations: [put('t', 'v', T0 + 10)], origin: ALICE }, T0);
        const expired = await engine.commit(
          { conditions: [], operations: [{ type: 'expire', key: 't' }], origin: expiry },
          T0 + 20,
        );
        assert.equal(expired.ok, true);
        const [newest, , oldest] = await allEntries(engine);
        assert.deepEqual({ ...who(newest!), keys: newest!.keys }, { ...expiry, keys: ['t'] });
        assert.equal(oldest!.tokenId, null);
        assert.deepEqual(oldest!.keys, ['x']);
      }));

    it(`names at most ${AUDIT_KEYS_MAX} keys and counts them all`, () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const keys = Array.from({ length: AUDIT_KEYS_MAX + 8 }, (_, index) => `k${String(index).padStart(3, '0')}`);
        await commit(
          engine,
          txn(
            keys.map((key) => put(key)),
            ALICE,
          ),
        );
        const [entry] = await allEntries(engine);
        assert.deepEqual(entry!.keys, keys.slice(0, AUDIT_KEYS_MAX));
        assert.equal(entry!.keyCount, keys.length);
      }));

    it('pages newest first with a cursor, and filters by time', () =>
      withEngine(OPTIONS, async ({ engine }) => {
        const revisions: number[] = [];
        for (let index = 0; index < 7; index++)
          revisions.push(await commit(engine, txn([put(`p${index}`)], ALICE), T0 + index * 1000));
        const paged = await allEntries(engine, 3);
        assert.deepEqual(
          paged.map((entry) => entry.revision),
          [...revisions].reverse(),
        );
        const first = await engine.audit({ limit: 3 });
        assert.equal(first.entries.length, 3);
        assert.equal(first.before, revisions[4]);
        const ranged: number[] = [];
        let before: number | undefined;
        for (let page = 0; page < 100; page++) {
          const answer = await engine.audit({ before, since: T0 + 2000, until: T0 + 4000, limit: 2 });
          ranged.push(...answer.entries.map((entry) => entry.time));
          if (answer.before === undefined) break;
          before = answer.before;
        }
        assert.deepEqual(ranged, [T0 + 4000, T0 + 3000, T0 + 2000]);
        assert.deepEqual((await engine.audit({ before: revisions[0], limit: 10 })).entries, []);
      }));

    if (traits.boundedBySize)
      it('drops the oldest entries past the byte bound, a few per later commit, until within it', () =>
        withEngine({ ...OPTIONS, auditRetention: { maxBytes: 2000, maxAgeMs: 1e12 } }, async ({ engine }) => {
          const revisions: number[] = [];
          for (let index = 0; index < 300; index++)
            revisions.push(await commit(engine, txn([put(`key${index}`)], ALICE), T0 + index));
          // lmdb's WAL path drops entries as lmdb holds them, a batch of commits later: the
          // backlog drains over later commits (AUDIT_DROP_MAX each).
          let kept = await allEntries(engine);
          for (let round = 0; round < 100 && kept.length >= 40; round++) {
            revisions.push(await commit(engine, txn([put(`more${round}`)], ALICE), T0 + 1000 + round));
            await new Promise((resolve) => setTimeout(resolve, 25));
            kept = await allEntries(engine);
          }
          // About 2000 bytes of entries of about 70 bytes: the newest few dozen.
          assert.ok(kept.length > 0 && kept.length < 40, `kept ${kept.length}`);
          // Exactly the newest ones, in order: the oldest went first.
          assert.deepEqual(
            kept.map((entry) => entry.revision),
            revisions.slice(-kept.length).reverse(),
          );
        }));

    it('drops entries older than the age bound, oldest first', () =>
      withEngine(
        { ...OPTIONS, auditRetention: { maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 } },
        async ({ engine }) => {
          for (let index = 0; index < 5; index++) await commit(engine, txn([put(`old${index}`)], ALICE), T0 + index);
          const late = T0 + 10 * 60_000;
          // etcd drops them in the background after a commit: a few commits, each waited for.
          let kept: AuditEntry[] = [];
          for (let round = 0; round < 50; round++) {
            await commit(engine, txn([put(`new${round}`)], BOB), late + round * 2000);
            kept = await allEntries(engine);
            if (kept.every((entry) => entry.time >= late)) break;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          assert.ok(
            kept.every((entry) => entry.tokenId === BOB.tokenId),
            JSON.stringify(kept.map(who)),
          );
        },
      ));

    if (traits.durable)
      it('entries survive close and reopen', () =>
        withEngine(OPTIONS, async (opened) => {
          await commit(opened.engine, txn([put('a')], ALICE), T0);
          await commit(opened.engine, txn([put('b'), put('c')], BOB), T0 + 1);
          const before = await allEntries(opened.engine);
          await opened.engine.close();
          const reopened = await opened.reopen!();
          assert.deepEqual(await allEntries(reopened), before);
          await commit(reopened, txn([put('d')], ALICE), T0 + 2);
          assert.equal((await allEntries(reopened)).length, 3);
          await reopened.close();
        }));
  });
}
