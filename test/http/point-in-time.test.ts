// Point in time over HTTP (docs/history.md, "Point in time"), on the memory, lmdb and etcd engines with a
// small history (--history-versions 3, so entries are dropped and the reach moves): seeded random
// sequences of puts, deletes and transactions, with a model of the store after every revision.
// Then, against the model:
// - GET /v1/snapshot at every revision: the store as it was then, or history_not_kept naming an
//   oldest revision; every revision from that one on answers, none before it;
// - a time between two commits names the newer one at or before it (from the audit trail);
// - POST /v1/restore of a prefix: the dry run lists exactly the keys that differ and writes
//   nothing; the restore brings the prefix back in one commit audited as via restore, leaves the
//   other keys alone, and is itself a point that can be read;
// - hostile `at` / `to` values: a coded 4xx, never a 5xx.
// KVS_FUZZ_SEED replays a run.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzzSeed } from '../fuzz/fuzz-options.js';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

const seed = fuzzSeed(20261130);
const KEYS = ['p/a', 'p/b', 'p/c', 'q/d'];

type State = ReadonlyMap<string, string>;
/** An HTTP answer: the test reads many JSON shapes (pages, errors, audit entries) field by field. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Answer = { status: number; json: any };

type Step =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'txn'; readonly puts: readonly [string, string][]; readonly deletes: readonly string[] };

const keyArbitrary = fc.constantFrom(...KEYS);
const valueArbitrary = fc.string({ minLength: 0, maxLength: 12 });
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArbitrary, value: valueArbitrary }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArbitrary }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('txn' as const),
      puts: fc.uniqueArray(fc.tuple(keyArbitrary, valueArbitrary), { maxLength: 3, selector: ([key]) => key }),
      deletes: fc.uniqueArray(keyArbitrary, { maxLength: 2 }),
    }),
  },
);

const stores = ['memory', 'lmdb', 'etcd'] as const;
if (!etcdInstalled() && process.env.CI === 'true')
  throw new Error('etcd is required for test/http/point-in-time.test.ts; CI=true does not allow skipping');

for (const store of stores) {
  describe(`point in time over HTTP (${store}, seed ${seed})`, { skip: store === 'etcd' && !etcdInstalled() }, () => {
    let server: ServerProcess;
    let cluster: EtcdCluster | undefined;
    before(async () => {
      const history = ['--history-versions', '3'];
      if (store !== 'etcd') {
        server = await startServer({ args: ['--store', store, ...history] });
        return;
      }
      cluster = await startEtcdCluster({ size: 1 });
      server = await startServer({ args: ['--store', cluster.storeUrl, '--etcd-prefix', 'pit/', ...history] });
    });
    after(async () => {
      await server?.stop();
      await cluster?.stop();
    });

    /** The newest audit entry's revision: what moves when, and only when, kvs commits. */
    const newestCommit = async (): Promise<number> =>
      ((await call('GET', '/v1/audit?limit=1')).json.entries[0]?.revision as number | undefined) ?? 0;

    const call = async (method: string, path: string, body?: unknown): Promise<Answer> => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${server.token}`,
          ...(body !== undefined && { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' }),
        },
        ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
    };

    /** Applies one step; the revision it made (or the same one when it changed nothing). */
    async function apply(step: Step, model: Map<string, string>, revision: number): Promise<number> {
      if (step.kind === 'put') {
        const answer = await fetch(`${server.url}/v1/kv/${step.key}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${server.token}`, 'content-type': 'text/plain' },
          body: step.value,
        });
        assert.ok(answer.status === 200 || answer.status === 201, `PUT ${answer.status}`);
        model.set(step.key, step.value);
        return ((await answer.json()) as { modRevision: number }).modRevision;
      }
      if (step.kind === 'delete') {
        const answer = await call('DELETE', `/v1/kv/${step.key}`);
        if (!model.has(step.key)) {
          assert.equal(answer.status, 404);
          return revision;
        }
        assert.equal(answer.status, 200, JSON.stringify(answer.json));
        model.delete(step.key);
        return answer.json.revision as number;
      }
      const operations: { op: 'put' | 'delete'; key: string; value?: string }[] = [
        ...step.puts.map(([key, value]) => ({ op: 'put' as const, key, value })),
        ...step.deletes
          .filter((key) => !step.puts.some(([put]) => put === key))
          .map((key) => ({ op: 'delete' as const, key })),
      ];
      if (operations.length === 0) return revision;
      const changes = operations.some((operation) => operation.op === 'put' || model.has(operation.key));
      const answer = await call('POST', '/v1/txn', { operations });
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      for (const operation of operations)
        if (operation.op === 'put') model.set(operation.key, operation.value!);
        else model.delete(operation.key);
      return changes ? (answer.json.revision as number) : revision;
    }

    async function snapshotAt(at: string, prefix = ''): Promise<Answer & { state?: State }> {
      const answer = await call(
        'GET',
        `/v1/snapshot?at=${encodeURIComponent(at)}&values=1&limit=1000&prefix=${prefix}`,
      );
      if (answer.status !== 200) return answer;
      assert.equal(answer.json.next, null);
      const state = new Map<string, string>(
        (answer.json.items as { key: string; value: string }[]).map((item) => [
          item.key,
          Buffer.from(item.value, 'base64').toString(),
        ]),
      );
      return { ...answer, state };
    }

    it('reads every reachable revision as the model had it, and restores a prefix to one', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(stepArbitrary, { minLength: 5, maxLength: 30 }), (steps) =>
          checkRun(steps).catch((error: unknown) => {
            // node:test shows the property's counterexample; the assertion that failed goes here.
            console.log(`# ${(error as Error).message}`);
            throw error;
          }),
        ),
        { seed, numRuns: 6, endOnFailure: true },
      );
    });

    /** A 410 history_not_kept whose oldest reachable revision is past `target`: the reach moved. */
    function movedPast(answer: Answer, target: number): boolean {
      return (
        store === 'lmdb' &&
        answer.status === 410 &&
        answer.json.error.code === 'history_not_kept' &&
        (answer.json.error.oldestRevision as number) > target
      );
    }

    async function checkRun(steps: Step[]): Promise<void> {
      {
        // Each run starts from what the previous left: the model starts from the store as it is.
        const start = await snapshotAt(String((await call('GET', '/v1/kv?limit=1')).json.revision));
        assert.equal(start.status, 200, JSON.stringify(start.json));
        const model = new Map(start.state!);
        let revision = start.json.at.revision as number;
        const states = new Map<number, State>([[revision, new Map(model)]]);
        for (const step of steps) {
          revision = await apply(step, model, revision);
          states.set(revision, new Map(model));
        }
        // Every revision the runs made, from the start of this run.
        const first = start.json.at.revision as number;
        let oldest: number | undefined;
        let state: State = states.get(first)!;
        for (let at = first; at <= revision; at++) {
          state = states.get(at) ?? state;
          const answer = await snapshotAt(String(at));
          if (answer.status === 410) {
            assert.equal(answer.json.error.code, 'history_not_kept');
            const named = answer.json.error.oldestRevision as number;
            assert.ok(named > at && named <= revision, `oldest ${named} for ${at} (now ${revision})`);
            // (lmdb's write-ahead log path drops entries as it applies commits, in the background: the reach may move while these are read, so a revision older than one that answered may now be refused.)
            continue;
          }
          assert.equal(answer.status, 200, JSON.stringify(answer.json));
          oldest ??= at;
          assert.deepEqual([...answer.state!].sort(), [...state].sort(), `the store at revision ${at}`);
        }
        assert.ok(oldest !== undefined, 'the newest revision is always readable');

        // A restore of p/ to a reachable revision (chosen from the steps, so it replays).
        // The reach as it is now (see above), then a target within it. On lmdb's write-ahead log
        // path the background apply may still drop entries and move the reach past the target
        // between the probe and the restore: a 410 naming a newer oldest revision is then right,
        // and the target is chosen again from it (at most 5 times).
        let target = 0;
        let then: State = new Map();
        let differing: string[] = [];
        let restored: Answer | undefined;
        const inPrefix = (map: State) => [...map].filter(([key]) => key.startsWith('p/')).sort();
        for (let attempt = 0; attempt < 5 && restored === undefined; attempt++) {
          const probe = await snapshotAt(String(first));
          const reachable = probe.status === 200 ? first : (probe.json.error.oldestRevision as number);
          target = reachable + (steps.length % (revision - reachable + 1));
          then = [...states.entries()].filter(([at]) => at <= target).at(-1)![1];
          const thenState = then;
          differing = KEYS.filter(
            (key) => key.startsWith('p/') && (thenState.get(key) ?? null) !== (model.get(key) ?? null),
          ).sort();
          const lastCommit = await newestCommit();
          const dry = await call('POST', `/v1/restore?to=${target}&prefix=p/&dryRun=1`);
          if (movedPast(dry, target)) continue;
          assert.equal(dry.status, 200, JSON.stringify(dry.json));
          assert.deepEqual(dry.json.changes.map((change: { key: string }) => change.key).sort(), differing);
          assert.equal(await newestCommit(), lastCommit, 'a dry run writes nothing');
          const answer = await call('POST', `/v1/restore?to=${target}&prefix=p/`);
          if (movedPast(answer, target)) {
            assert.equal(await newestCommit(), lastCommit, 'a refused restore writes nothing');
            continue;
          }
          restored = answer;
        }
        assert.ok(restored !== undefined, 'the reach kept moving past every target for 5 tries');
        assert.equal(restored.status, 200, JSON.stringify(restored.json));
        if (differing.length === 0) {
          assert.equal(restored.json.revision, null);
          return;
        }
        const restoredAt = restored.json.revision as number;
        assert.ok(restoredAt > revision, 'a new commit');
        for (const key of KEYS.filter((key) => key.startsWith('p/'))) {
          if (then.has(key)) model.set(key, then.get(key)!);
          else model.delete(key);
        }
        const now = await snapshotAt(String(restoredAt));
        assert.deepEqual(inPrefix(now.state!), inPrefix(then));
        assert.deepEqual(
          [...now.state!].filter(([key]) => !key.startsWith('p/')),
          [...model].filter(([key]) => !key.startsWith('p/')),
          'keys outside the prefix are left alone',
        );
        const audit = await call('GET', `/v1/audit?limit=1`);
        assert.equal(audit.json.entries[0].revision, restoredAt, 'one commit: the newest in the audit trail');
        assert.equal(audit.json.entries[0].via, 'restore');
      }
    }

    it('a time names the newest commit at or before it', async () => {
      for (let index = 0; index < 3; index++) await call('PUT', '/v1/kv/t/k', `v${index}`);
      const entries = (await call('GET', '/v1/audit?limit=3')).json.entries as { revision: number; timeMs: number }[];
      for (const entry of entries) {
        const newestAtThatTime = Math.max(
          ...entries.filter((other) => other.timeMs <= entry.timeMs).map((other) => other.revision),
        );
        const answer = await call('GET', `/v1/snapshot?at=${new Date(entry.timeMs).toISOString()}&limit=1`);
        assert.equal(answer.status, 200, JSON.stringify(answer.json));
        assert.equal(answer.json.at.revision, newestAtThatTime);
      }
    });

    it('hostile at and to values: a coded 4xx, never a 5xx', async () => {
      const current = (await call('GET', '/v1/kv?limit=1')).json.revision as number;
      const lastCommit = await newestCommit();
      const fixed = ['', '-1', '1.5', '1e3', 'now', '99999999999999999', String(current + 1), '2026-13-45', '0x10'];
      const generated = fc.sample(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.nat().map(String)), {
        seed,
        numRuns: 60,
      });
      for (const value of [...fixed, ...generated]) {
        const encoded = encodeURIComponent(value);
        for (const [method, path] of [
          ['GET', `/v1/snapshot?at=${encoded}`],
          ['POST', `/v1/restore?to=${encoded}&dryRun=1`],
        ] as const) {
          const answer = await call(method, path);
          assert.ok(answer.status < 500, `${method} ${path}: ${answer.status}`);
          if (answer.status >= 400)
            assert.match(answer.json.error.code, /^(invalid_point_in_time|history_not_kept|bad_request)$/, path);
        }
      }
      assert.equal(await newestCommit(), lastCommit, 'nothing was written');
    });
  });
}
