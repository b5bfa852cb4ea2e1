// Model-based test: fast-check generates random sequences of put / delete / compare-and-swap /
// create-only / transactions (with checks) / reads / listings, runs each against the real
// server over HTTP and against a tiny in-memory model, and compares every answer: status, error
// code, version, revisions, value, content type, TTL reporting and the whole listing. Each run
// uses its own key prefix on one server; the store-wide revision is predicted exactly because
// runs are sequential and one client issues every request. On failure fast-check prints the
// shrunk command sequence.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { useServer } from '../helpers/use-server.js';
import { KvHttp, type EntryMeta } from './kv-http.js';

const TTL_SECONDS = 3600;

interface ModelEntry {
  value: string;
  version: number;
  createRevision: number;
  modRevision: number;
  contentType: string | null;
  /** Exact expiry (ms) once the server reported it, checked to lie within the write window. */
  expires: number | null;
}

interface Model {
  readonly keys: Map<string, ModelEntry>;
  revision: number;
}

interface Real {
  readonly kv: KvHttp;
  readonly prefix: string;
}

const RELATIVE_KEYS = ['a', 'b', 'c/d', 'é', 'sp ace'] as const;
const CONTENT_TYPES = ['text/plain', 'application/json', 'application/octet-stream'] as const;

const keyArb = fc.constantFrom(...RELATIVE_KEYS);
const valueArb = fc.string({ unit: 'binary', maxLength: 12 });
const contentTypeArb = fc.constantFrom(...CONTENT_TYPES);

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function parseEtag(header: string | null): number | undefined {
  return header === null ? undefined : Number(header.replaceAll('"', ''));
}

/** Checks the server-reported expiry against the write window, or its absence. */
function checkExpires(
  reported: string | null,
  ttl: boolean,
  window: { from: number; to: number },
  what: string,
): number | null {
  if (!ttl) {
    assert.equal(reported, null, `${what}: no TTL was set, but expiry ${reported} reported`);
    return null;
  }
  assert.ok(reported, `${what}: TTL set, but no expiry reported`);
  const at = Date.parse(reported);
  assert.ok(
    at >= window.from + TTL_SECONDS * 1000 && at <= window.to + TTL_SECONDS * 1000,
    `${what}: expiry ${reported} outside the write window`,
  );
  return at;
}

function expectMeta(meta: EntryMeta, key: string, entry: ModelEntry, what: string): void {
  assert.equal(meta.key, key, what);
  assert.equal(meta.version, entry.version, `${what}: version`);
  assert.equal(meta.createRevision, entry.createRevision, `${what}: createRevision`);
  assert.equal(meta.modRevision, entry.modRevision, `${what}: modRevision`);
  assert.equal(meta.contentType, entry.contentType, `${what}: contentType`);
  assert.equal(meta.size, Buffer.byteLength(entry.value), `${what}: size`);
  assert.equal(meta.expires === null ? null : Date.parse(meta.expires), entry.expires, `${what}: expires`);
}

/** Applies a successful write of `key` at `revision` to the model (or to a transaction's pending view). */
function written(
  previous: ModelEntry | undefined,
  value: string,
  contentType: string | null,
  revision: number,
): ModelEntry {
  return {
    value,
    contentType,
    version: (previous?.version ?? 0) + 1,
    createRevision: previous?.createRevision ?? revision,
    modRevision: revision,
    expires: null,
  };
}

type Command = fc.AsyncCommand<Model, Real>;

class PutCommand implements Command {
  constructor(
    readonly key: string,
    readonly value: string,
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
    const entry = written(previous, this.value, this.contentType, model.revision + 1);
    assert.equal(answer.status, previous ? 200 : 201, answer.text);
    entry.expires = checkExpires(answer.headers.get('kvs-expires'), this.ttl, window, 'PUT Kvs-Expires');
    expectMeta(answer.json, key, entry, 'PUT answer');
    assert.equal(parseEtag(answer.headers.get('etag')), entry.version);
    model.keys.set(this.key, entry);
    model.revision++;
  }
  toString = () =>
    `put(${JSON.stringify(this.key)}, ${JSON.stringify(this.value)}, ${this.contentType}${this.ttl ? ', ttl' : ''})`;
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
    const answer = await real.kv.put(key, this.value, { ifMatch: `"${ifMatch}"` });
    if (ifMatch !== current) {
      assert.equal(answer.status, 412, answer.text);
      assert.equal(answer.json.error.code, 'version_mismatch');
      assert.equal(answer.json.error.currentVersion, current);
      assert.equal(parseEtag(answer.headers.get('etag')), previous?.version);
      return;
    }
    const entry = written(previous, this.value, 'text/plain', model.revision + 1);
    assert.equal(answer.status, previous ? 200 : 201, answer.text);
    expectMeta(answer.json, key, entry, 'CAS PUT answer');
    model.keys.set(this.key, entry);
    model.revision++;
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
    const answer = await real.kv.put(key, this.value, { ifNoneMatch: '*' });
    if (previous) {
      assert.equal(answer.status, 412, answer.text);
      assert.equal(answer.json.error.code, 'key_exists');
      assert.equal(answer.json.error.currentVersion, previous.version);
      assert.equal(parseEtag(answer.headers.get('etag')), previous.version);
      return;
    }
    const entry = written(undefined, this.value, 'text/plain', model.revision + 1);
    assert.equal(answer.status, 201, answer.text);
    expectMeta(answer.json, key, entry, 'create answer');
    model.keys.set(this.key, entry);
    model.revision++;
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
    const answer = await real.kv.delete(key, ifMatch === undefined ? undefined : `"${ifMatch}"`);
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
    model.keys.delete(this.key);
    model.revision++;
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
        const entry = written(view(operation.key), operation.value, operation.contentType ?? null, revision);
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
    for (const [key, entry] of pending) {
      if (entry === null) model.keys.delete(key);
      else model.keys.set(key, entry);
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
    assert.equal(answer.text, entry.value);
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
      assert.equal(Buffer.from(item.value!, 'base64').toString(), entry.value);
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
];

describe('model-based: random command sequences agree with an in-memory model', () => {
  let kv: KvHttp;
  let runs = 0;

  const server = useServer();
  before(async () => {
    kv = new KvHttp(server.url, server.token);
  });

  it('every answer matches the model', async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commandArbs, { maxCommands: 60, size: 'large' }), async (commands) => {
        const prefix = `run${runs++}/`;
        const model: Model = { keys: new Map(), revision: await kv.revision() };
        const real: Real = { kv, prefix };
        await fc.asyncModelRun(() => ({ model, real }), commands);
        // Whatever the run did, a final listing must agree with the model.
        await new ListCommand().run(model, real);
      }),
      { numRuns: 200, includeErrorInReport: true },
    );
    t.diagnostic(`${runs} runs (including shrinking), final revision ${await kv.revision()}`);
  });
});
