// Model-based test: fast-check generates random sequences of put / delete / compare-and-swap /
// create-only / transactions (with checks) / reads / listings, of the per-key history's
// operations (history pages, reads of a kept version or revision, diffs, reverts, the deleted-keys
// listing; docs/history.md), and of point in time (snapshots at a revision, paged, under a
// prefix; dry-run and real restores with and without a prefix; restores older than the reach;
// refused `at` / `to` values: restore-commands.ts), runs each against the real server over HTTP
// and against a tiny in-memory model, and compares every answer: status, error code, version,
// revisions, value, content type, TTL reporting, the whole listing, every history entry, every
// snapshot item and restore change, and the oldest revision a refused point names. Each run uses
// its own key prefix on one server; the store-wide revision is predicted exactly because runs are
// sequential and one client issues every request. The server keeps few versions per key
// (HISTORY_VERSIONS) so that runs see retention drop entries and the reach move. The reach is
// store-wide: a run starts from the one the server reports, checked against where the last
// passing run left it, and ends by comparing it again. It runs on the memory and the lmdb
// engines (lmdb's reach within bounds: history-model.ts, ModelReach). On failure fast-check
// prints the seed and the shrunk command sequence; replay with KVS_MODEL_SEED=<seed> (see
// replayParameters for the shrunk case alone).

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { useServer } from '../helpers/use-server.js';
import {
  DeletedCommand,
  DiffCommand,
  type EntrySpec,
  GetEntryCommand,
  HistoryCommand,
  INVALID_HISTORY_QUERIES,
  InvalidHistoryQueryCommand,
  RevertCommand,
} from './history-commands.js';
import { ModelHistory, type ModelReach } from './history-model.js';
import { KvHttp } from './kv-http.js';
import {
  checkExpires,
  type Command,
  commitOne,
  expectMeta,
  HISTORY_VERSIONS,
  historyEntry,
  type Model,
  type ModelEntry,
  outcomes,
  parseEtag,
  type Real,
  RELATIVE_KEYS,
  showValue,
  TTL_SECONDS,
  written,
} from './model-state.js';
import {
  expectRunReach,
  HOSTILE_POINTS,
  HostilePointCommand,
  RestoreCommand,
  reportedReach,
  SUB_PREFIXES,
  SnapshotCommand,
  UnreachableRestoreCommand,
} from './restore-commands.js';

const CONTENT_TYPES = ['text/plain', 'application/json', 'application/octet-stream'] as const;

const keyArb = fc.constantFrom(...RELATIVE_KEYS);
const valueArb = fc.string({ unit: 'binary', maxLength: 12 });
/** Text of a few short lines from a small alphabet, so that diffs find lines kept, added and removed. */
const linesArb = fc
  .tuple(fc.array(fc.constantFrom('x', 'y', 'z', '', 'x y'), { maxLength: 5 }), fc.constantFrom('', '\n', '\r\n'))
  .map(([lines, end]) => lines.join('\n') + (lines.length > 0 ? end : ''));
/** Raw bytes, mostly not UTF-8: what a diff must call binary. */
const bytesArb = fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes));
const contentTypeArb = fc.constantFrom(...CONTENT_TYPES);
const subPrefixArb = fc.constantFrom(...SUB_PREFIXES);

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

class PutCommand implements Command {
  constructor(
    readonly key: string,
    readonly value: string | Buffer,
    readonly contentType: string,
    readonly ttl: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const key = real.prefix + this.key;
    const from = Date.now();
    const answer = await real.kv.put(key, this.value, {
      contentType: this.contentType,
      ttl: this.ttl ? TTL_SECONDS : undefined,
    });
    const window = { from, to: Date.now() };
    const previous = model.keys.get(this.key);
    const entry = written(previous, Buffer.from(this.value), this.contentType, model.revision + 1);
    assert.equal(answer.status, previous ? 200 : 201, answer.text);
    entry.expires = checkExpires(answer.headers.get('kvs-expires'), this.ttl, window, 'PUT Kvs-Expires');
    expectMeta(answer.json, key, entry, 'PUT answer');
    assert.equal(parseEtag(answer.headers.get('etag')), entry.version);
    commitOne(model, this.key, entry, window, 'v1');
  }
  toString = () =>
    `put(${JSON.stringify(this.key)}, ${showValue(this.value)}, ${this.contentType}${this.ttl ? ', ttl' : ''})`;
}

class CasPutCommand implements Command {
  constructor(
    readonly key: string,
    readonly value: string,
    /** If-Match = current version + offset (at least 0). */
    readonly offset: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const key = real.prefix + this.key;
    const previous = model.keys.get(this.key);
    const current = previous?.version ?? 0;
    const ifMatch = Math.max(0, current + this.offset);
    const from = Date.now();
    const answer = await real.kv.put(key, this.value, { ifMatch: `"${ifMatch}"` });
    const window = { from, to: Date.now() };
    if (ifMatch !== current) {
      assert.equal(answer.status, 412, answer.text);
      assert.equal(answer.json.error.code, 'version_mismatch');
      assert.equal(answer.json.error.currentVersion, current);
      assert.equal(parseEtag(answer.headers.get('etag')), previous?.version);
      return;
    }
    const entry = written(previous, Buffer.from(this.value), 'text/plain', model.revision + 1);
    assert.equal(answer.status, previous ? 200 : 201, answer.text);
    expectMeta(answer.json, key, entry, 'CAS PUT answer');
    commitOne(model, this.key, entry, window, 'v1');
  }
  toString = () =>
    `casPut(${JSON.stringify(this.key)}, ${JSON.stringify(this.value)}, current${this.offset >= 0 ? '+' : ''}${this.offset})`;
}

class CreateCommand implements Command {
  constructor(
    readonly key: string,
    readonly value: string,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const key = real.prefix + this.key;
    const previous = model.keys.get(this.key);
    const from = Date.now();
    const answer = await real.kv.put(key, this.value, { ifNoneMatch: '*' });
    const window = { from, to: Date.now() };
    if (previous) {
      assert.equal(answer.status, 412, answer.text);
      assert.equal(answer.json.error.code, 'key_exists');
      assert.equal(answer.json.error.currentVersion, previous.version);
      assert.equal(parseEtag(answer.headers.get('etag')), previous.version);
      return;
    }
    const entry = written(undefined, Buffer.from(this.value), 'text/plain', model.revision + 1);
    assert.equal(answer.status, 201, answer.text);
    expectMeta(answer.json, key, entry, 'create answer');
    commitOne(model, this.key, entry, window, 'v1');
  }
  toString = () => `create(${JSON.stringify(this.key)}, ${JSON.stringify(this.value)})`;
}

class DeleteCommand implements Command {
  constructor(
    readonly key: string,
    /** undefined: unconditional; else If-Match = current version + offset (at least 0). */
    readonly offset: number | undefined,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const key = real.prefix + this.key;
    const previous = model.keys.get(this.key);
    const current = previous?.version ?? 0;
    const ifMatch = this.offset === undefined ? undefined : Math.max(0, current + this.offset);
    const from = Date.now();
    const answer = await real.kv.delete(key, ifMatch === undefined ? undefined : `"${ifMatch}"`);
    const window = { from, to: Date.now() };
    if (ifMatch !== undefined && ifMatch !== current) {
      assert.equal(answer.status, 412, answer.text);
      assert.equal(answer.json.error.code, 'version_mismatch');
      assert.equal(answer.json.error.currentVersion, current);
      return;
    }
    if (!previous) {
      assert.equal(answer.status, 404, answer.text);
      assert.equal(answer.json.error.code, 'not_found');
      return;
    }
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, { deleted: true, revision: model.revision + 1 });
    commitOne(model, this.key, null, window, 'v1');
  }
  toString = () =>
    `delete(${JSON.stringify(this.key)}${this.offset === undefined ? '' : `, current${this.offset >= 0 ? '+' : ''}${this.offset}`})`;
}

type CheckSpec =
  | { key: string; kind: 'version'; offset: number }
  | { key: string; kind: 'absent' }
  | { key: string; kind: 'exists' };
type OperationSpec =
  | { op: 'put'; key: string; value: string; ttl: boolean; contentType: string | undefined }
  | { op: 'delete'; key: string };

class TxnCommand implements Command {
  constructor(
    readonly checks: readonly CheckSpec[],
    readonly operations: readonly OperationSpec[],
  ) {}
  check = () => this.checks.length + this.operations.length > 0;
  async run(model: Model, real: Real): Promise<void> {
    const checks = this.checks.map((check) => {
      if (check.kind !== 'version')
        return { key: real.prefix + check.key, [check.kind]: true as const } as { key: string; absent: true };
      const version = Math.max(0, (model.keys.get(check.key)?.version ?? 0) + check.offset);
      return { key: real.prefix + check.key, version };
    });
    const operations = this.operations.map((operation) =>
      operation.op === 'delete'
        ? { op: 'delete' as const, key: real.prefix + operation.key }
        : {
            op: 'put' as const,
            key: real.prefix + operation.key,
            value: operation.value,
            ...(operation.ttl ? { ttl: TTL_SECONDS } : {}),
            ...(operation.contentType === undefined ? {} : { contentType: operation.contentType }),
          },
    );
    const from = Date.now();
    const answer = await real.kv.txn({ checks, operations });
    const window = { from, to: Date.now() };

    for (let index = 0; index < checks.length; index++) {
      const check = this.checks[index]!;
      const live = model.keys.get(check.key);
      const version = (checks[index] as { version?: number }).version;
      const holds =
        check.kind === 'absent' ? !live : check.kind === 'exists' ? !!live : (live?.version ?? 0) === version;
      if (holds) continue;
      assert.equal(answer.status, 409, answer.text);
      assert.equal(answer.json.error.code, 'txn_check_failed');
      const failed = {
        index,
        key: real.prefix + check.key,
        kind: check.kind,
        ...(check.kind === 'version' ? { version } : {}),
      };
      assert.deepEqual(answer.json.error.failed, failed);
      assert.deepEqual(
        answer.json.error.current,
        live ? { version: live.version, modRevision: live.modRevision } : null,
      );
      return;
    }

    assert.equal(answer.status, 200, answer.text);
    const revision = model.revision + 1;
    const pending = new Map<string, ModelEntry | null>();
    const view = (key: string) => (pending.has(key) ? (pending.get(key) ?? undefined) : model.keys.get(key));
    const puts: ModelEntry[] = [];
    const deleted: string[] = [];
    for (let index = 0; index < this.operations.length; index++) {
      const operation = this.operations[index]!;
      if (operation.op === 'put') {
        const entry = written(
          view(operation.key),
          Buffer.from(operation.value),
          operation.contentType ?? null,
          revision,
        );
        const reported = answer.json.puts[puts.length];
        assert.ok(reported, `txn answer lists put #${puts.length}`);
        entry.expires = checkExpires(reported.expires, operation.ttl, window, 'txn put expires');
        expectMeta(reported, real.prefix + operation.key, entry, `txn put #${puts.length}`);
        pending.set(operation.key, entry);
        puts.push(entry);
      } else if (view(operation.key)) {
        pending.set(operation.key, null);
        deleted.push(real.prefix + operation.key);
      }
    }
    assert.equal(answer.json.puts.length, puts.length);
    assert.deepEqual(answer.json.deleted, deleted);
    const changed = pending.size > 0;
    assert.equal(answer.json.revision, changed ? revision : model.revision);
    // One history entry per key the commit changed: the state it left the key in.
    for (const [key, entry] of pending) {
      if (entry === null) model.keys.delete(key);
      else model.keys.set(key, entry);
      model.history.record(key, historyEntry(entry, revision, window, 'txn'));
    }
    if (changed) model.revision = revision;
  }
  toString = () => `txn(${JSON.stringify(this.checks)}, ${JSON.stringify(this.operations)})`;
}

class GetCommand implements Command {
  constructor(readonly key: string) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const answer = await real.kv.get(real.prefix + this.key);
    const entry = model.keys.get(this.key);
    if (!entry) {
      assert.equal(answer.status, 404, answer.text);
      return;
    }
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.bytes, entry.value);
    assert.equal(parseEtag(answer.headers.get('etag')), entry.version);
    assert.equal(answer.headers.get('kvs-version'), String(entry.version));
    assert.equal(answer.headers.get('kvs-revision'), String(entry.modRevision));
    assert.equal(answer.headers.get('kvs-create-revision'), String(entry.createRevision));
    assert.equal(answer.headers.get('content-type'), entry.contentType ?? 'text/plain; charset=utf-8');
    const expires = answer.headers.get('kvs-expires');
    assert.equal(expires === null ? null : Date.parse(expires), entry.expires);
  }
  toString = () => `get(${JSON.stringify(this.key)})`;
}

class ListCommand implements Command {
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const { items, revision } = await real.kv.list(real.prefix, { values: true, limit: 2 });
    assert.equal(revision, model.revision, 'listing revision');
    const expected = [...model.keys.keys()].sort(byteOrder);
    assert.deepEqual(
      items.map((item) => item.key),
      expected.map((key) => real.prefix + key),
    );
    for (const item of items) {
      const entry = model.keys.get(item.key.slice(real.prefix.length))!;
      expectMeta(item, item.key, entry, `listing ${item.key}`);
      assert.deepEqual(Buffer.from(item.value!, 'base64'), entry.value);
    }
  }
  toString = () => 'list()';
}

const versionOffsetArb = fc.integer({ min: -2, max: 2 });

const checkArb: fc.Arbitrary<CheckSpec> = fc.oneof(
  fc.record({ key: keyArb, kind: fc.constant('version' as const), offset: fc.oneof(fc.constant(0), versionOffsetArb) }),
  fc.record({ key: keyArb, kind: fc.constant('absent' as const) }),
  fc.record({ key: keyArb, kind: fc.constant('exists' as const) }),
);

const operationArb: fc.Arbitrary<OperationSpec> = fc.oneof(
  fc.record({
    op: fc.constant('put' as const),
    key: keyArb,
    value: valueArb,
    ttl: fc.boolean(),
    contentType: fc.option(contentTypeArb, { nil: undefined }),
  }),
  fc.record({ op: fc.constant('delete' as const), key: keyArb }),
);

const entrySpecArb: fc.Arbitrary<EntrySpec> = fc.oneof(
  fc.record({ kind: fc.constant('version' as const), version: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('revision' as const), pick: fc.nat(1000) }),
  fc.record({ kind: fc.constant('kept' as const), index: fc.nat(HISTORY_VERSIONS), byVersion: fc.boolean() }),
);

const commandArbs: fc.Arbitrary<Command>[] = [
  fc
    .tuple(keyArb, valueArb, contentTypeArb, fc.boolean())
    .map(([key, value, type, ttl]) => new PutCommand(key, value, type, ttl)),
  fc
    .tuple(keyArb, valueArb, fc.oneof(fc.constant(0), versionOffsetArb))
    .map(([key, value, offset]) => new CasPutCommand(key, value, offset)),
  fc.tuple(keyArb, valueArb).map(([key, value]) => new CreateCommand(key, value)),
  fc
    .tuple(keyArb, fc.option(fc.oneof(fc.constant(0), versionOffsetArb), { nil: undefined }))
    .map(([key, offset]) => new DeleteCommand(key, offset)),
  fc
    .tuple(fc.array(checkArb, { maxLength: 3 }), fc.array(operationArb, { maxLength: 4 }))
    .map(([checks, operations]) => new TxnCommand(checks, operations)),
  keyArb.map((key) => new GetCommand(key)),
  fc.constant(new ListCommand()),
  // History: more writes (lines and binary values, for diffs) so that keys outgrow their bound.
  fc
    .tuple(keyArb, fc.oneof(linesArb, bytesArb), contentTypeArb, fc.boolean())
    .map(([key, value, type, ttl]) => new PutCommand(key, value, type, ttl)),
  fc
    .tuple(keyArb, fc.constantFrom(1, 2, 3, 100), fc.boolean(), fc.oneof(fc.constant(0), fc.nat(HISTORY_VERSIONS)))
    .map(([key, limit, values, skip]) => new HistoryCommand(key, limit, values, skip)),
  fc.tuple(keyArb, entrySpecArb).map(([key, spec]) => new GetEntryCommand(key, spec)),
  fc
    .tuple(keyArb, entrySpecArb, fc.option(entrySpecArb, { nil: undefined }))
    .map(([key, from, to]) => new DiffCommand(key, from, to)),
  fc
    .tuple(keyArb, entrySpecArb, fc.option(fc.oneof(fc.constant(0), versionOffsetArb), { nil: undefined }))
    .map(([key, target, offset]) => new RevertCommand(key, target, offset)),
  fc.constantFrom(1, 2, 100).map((limit) => new DeletedCommand(limit)),
  fc.nat(INVALID_HISTORY_QUERIES.length - 1).map((index) => new InvalidHistoryQueryCommand(index)),
  // Point in time.
  fc
    .tuple(fc.nat(1000), subPrefixArb, fc.constantFrom(1, 2, 100), fc.boolean())
    .map(([pick, sub, limit, values]) => new SnapshotCommand(pick, sub, limit, values)),
  fc
    .tuple(fc.nat(1000), fc.option(subPrefixArb, { nil: undefined }), fc.boolean())
    .map(([pick, sub, dryRun]) => new RestoreCommand(pick, sub, dryRun)),
  // Refused points share one slot: each is cheap to get right and would otherwise crowd out the writes.
  fc.oneof(
    fc
      .tuple(fc.nat(1000), fc.option(subPrefixArb, { nil: undefined }), fc.boolean())
      .map(([back, sub, dryRun]): Command => new UnreachableRestoreCommand(back, sub, dryRun)),
    fc
      .tuple(fc.nat(HOSTILE_POINTS.length - 1), fc.boolean())
      .map(([index, dryRun]): Command => new HostilePointCommand(index, dryRun)),
  ),
];

/**
 * A fresh seed each run, or a failure's replay: KVS_MODEL_SEED=<seed> runs the same cases (and
 * shrinks the same way); adding KVS_MODEL_PATH=<path> and KVS_MODEL_REPLAY=<replayPath>, both
 * from fast-check's report, runs only the shrunk counterexample.
 */
function replayParameters(): { seed: number; path?: string; replayPath?: string } {
  const given = process.env.KVS_MODEL_SEED;
  const seed = given === undefined || given === '' ? Date.now() % 2 ** 31 : Number(given);
  if (!Number.isSafeInteger(seed)) throw new Error(`KVS_MODEL_SEED must be an integer, got ${given}`);
  const path = process.env.KVS_MODEL_PATH || undefined;
  const replayPath = process.env.KVS_MODEL_REPLAY || undefined;
  return { seed, ...(path === undefined ? {} : { path }), ...(replayPath === undefined ? {} : { replayPath }) };
}

/** Whatever a run did, a final listing, every key's whole history and the deleted keys must agree with the model. */
async function expectRunState(model: Model, real: Real): Promise<void> {
  await new ListCommand().run(model, real);
  for (const key of RELATIVE_KEYS) await new HistoryCommand(key, 100, true, 0).run(model, real);
  await new DeletedCommand(100).run(model, real);
}

/**
 * The store's reach when a run begins, as the server reports it: on memory exactly where the last
 * run left it when that run passed; on lmdb at most the bound it left (or, after a failed run,
 * the store's revision), as lmdb may still be applying the last run's commits.
 */
async function startingReach(
  store: 'memory' | 'lmdb',
  real: Real,
  revision: number,
  left: ModelReach | undefined,
): Promise<ModelReach> {
  const reported = await reportedReach(real);
  if (store === 'memory') {
    if (left !== undefined) assert.equal(reported, left.exact, 'the reach where the last run left it');
    return { exact: reported, atMost: reported };
  }
  const atMost = left === undefined ? revision : left.atMost;
  assert.ok(reported <= atMost, `the reach ${reported} past the bound ${atMost} the last run left`);
  return { exact: reported, atMost: Math.max(atMost, reported) };
}

for (const store of ['memory', 'lmdb'] as const) {
  describe(`model-based on ${store}: random command sequences agree with an in-memory model`, () => {
    let kv: KvHttp;
    let runs = 0;
    /** The reach the last run left, when it passed (so the model knew every commit since it began). */
    let reachLeft: ModelReach | undefined;
    /** The model of every run that passed, with its prefix: what the store must still hold after a restart. */
    const passed: { model: Model; prefix: string }[] = [];

    const server = useServer({ args: ['--store', store, '--history-versions', String(HISTORY_VERSIONS)] });
    before(async () => {
      kv = new KvHttp(server.url, server.token);
    });

    it('every answer matches the model', async (t) => {
      const { replayPath, ...replay } = replayParameters();
      outcomes.clear();
      let dropped = 0;
      t.diagnostic(`seed ${replay.seed} (replay: KVS_MODEL_SEED=${replay.seed})`);
      await fc.assert(
        fc.asyncProperty(
          fc.commands(commandArbs, {
            maxCommands: 60,
            size: 'large',
            ...(replayPath === undefined ? {} : { replayPath }),
          }),
          async (commands) => {
            const prefix = `run${runs++}/`;
            const real: Real = { kv, prefix };
            const revision = await kv.revision();
            const reach = await startingReach(store, real, revision, reachLeft);
            reachLeft = undefined;
            const model: Model = {
              keys: new Map(),
              history: new ModelHistory(HISTORY_VERSIONS, reach),
              revision,
              startRevision: revision,
              reachExact: store === 'memory',
              reachFloor: reach.exact,
            };
            await fc.asyncModelRun(() => ({ model, real }), commands);
            await expectRunState(model, real);
            await expectRunReach(model, real);
            dropped += model.history.dropped;
            passed.push({ model, prefix });
            reachLeft = {
              exact: model.history.reach.exact,
              atMost: Math.max(model.history.reach.atMost, model.reachFloor),
            };
          },
        ),
        { numRuns: 100, includeErrorInReport: true, ...replay },
      );
      t.diagnostic(`${runs} runs (including shrinking), final revision ${await kv.revision()}`);
      t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}, entries dropped ${dropped}`);
    });

    // lmdb keeps history across restarts, a kill -9 (no orderly shutdown) included. The runs have
    // ended by then, so the write-ahead log's apply has usually caught up: this checks what lmdb
    // stored, not the start-up's replay of unapplied commits (docs/history.md).
    if (store === 'lmdb')
      it('after a kill -9 and a restart, the keys, history and deleted keys of every run still agree with its model', async () => {
        assert.ok(passed.length > 0, 'runs passed before the restart');
        await server.kill9();
        await server.restart();
        kv = new KvHttp(server.url, server.token);
        const revision = await kv.revision();
        for (const { model, prefix } of passed) {
          // The store moved on since this run: only its listing's revision is no longer the run's.
          model.revision = revision;
          await expectRunState(model, { kv, prefix });
        }
      });
  });
}
