// Model-based test: fast-check generates random sequences of put / delete / compare-and-swap /
// create-only / transactions (with checks) / reads / listings, and of the per-key history's
// operations (history pages, reads of a kept version or revision, diffs, reverts, the deleted-keys
// listing; docs/history.md), runs each against the real server over HTTP and against a tiny
// in-memory model, and compares every answer: status, error code, version, revisions, value,
// content type, TTL reporting, the whole listing and every history entry. Each run uses its own
// key prefix on one server; the store-wide revision is predicted exactly because runs are
// sequential and one client issues every request. The server keeps few versions per key
// (HISTORY_VERSIONS) so that runs see retention drop entries. It runs on the memory and the lmdb
// engines. On failure fast-check prints the seed and the shrunk command sequence; replay with
// KVS_MODEL_SEED=<seed> (see replayParameters for the shrunk case alone).

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { useServer } from '../helpers/use-server.js';
import {
  lineChanges,
  ModelHistory,
  type ModelVersion,
  patchLineCounts,
  type TimeWindow,
  utf8Text,
} from './history-model.js';
import {
  type DeletedKeyItem,
  type EntryMeta,
  type EntrySelector,
  type ErrorBody,
  type HistoryVersion,
  KvHttp,
  keyPath,
} from './kv-http.js';

const TTL_SECONDS = 3600;
/** The server's --history-versions: small, so that runs see the oldest entries dropped. */
const HISTORY_VERSIONS = 5;

interface ModelEntry {
  value: Buffer;
  version: number;
  createRevision: number;
  modRevision: number;
  contentType: string | null;
  /** Exact expiry (ms) once the server reported it, checked to lie within the write window. */
  expires: number | null;
}

interface Model {
  readonly keys: Map<string, ModelEntry>;
  readonly history: ModelHistory;
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
/** Text of a few short lines from a small alphabet, so that diffs find lines kept, added and removed. */
const linesArb = fc
  .tuple(fc.array(fc.constantFrom('x', 'y', 'z', '', 'x y'), { maxLength: 5 }), fc.constantFrom('', '\n', '\r\n'))
  .map(([lines, end]) => lines.join('\n') + (lines.length > 0 ? end : ''));
/** Raw bytes, mostly not UTF-8: what a diff must call binary. */
const bytesArb = fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes));
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
  assert.equal(meta.size, entry.value.length, `${what}: size`);
  assert.equal(meta.expires === null ? null : Date.parse(meta.expires), entry.expires, `${what}: expires`);
}

/** Applies a successful write of `key` at `revision` to the model (or to a transaction's pending view). */
function written(
  previous: ModelEntry | undefined,
  value: Buffer,
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

/** The history entry a commit at `revision` leaves for a key it put (`entry`) or deleted (null). */
function historyEntry(entry: ModelEntry | null, revision: number, window: TimeWindow, via: string): ModelVersion {
  if (entry === null)
    return { revision, version: 0, type: 'delete', window, value: null, contentType: null, expires: null, via };
  return {
    revision,
    version: entry.version,
    type: 'put',
    window,
    value: entry.value,
    contentType: entry.contentType,
    expires: entry.expires,
    via,
  };
}

/** A write of one key committed at the model's next revision: the key, its history, the revision. */
function commitOne(model: Model, key: string, entry: ModelEntry | null, window: TimeWindow, via: string): void {
  model.revision++;
  if (entry === null) model.keys.delete(key);
  else model.keys.set(key, entry);
  model.history.record(key, historyEntry(entry, model.revision, window, via));
}

function showValue(value: string | Buffer): string {
  return typeof value === 'string' ? JSON.stringify(value) : `0x${value.toString('hex')}`;
}

type Command = fc.AsyncCommand<Model, Real>;

/** How often each history outcome came up, reported per server: shows the runs reach every branch. */
const outcomes = new Map<string, number>();
function saw(outcome: string): void {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
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

/**
 * Names a history entry: a version number, or a pick among the key's kept entries and the
 * revisions that wrote history in this run (so kept, dropped, other keys' and delete entries all
 * come up) or one never written.
 */
type EntrySpec =
  | { kind: 'version'; version: number }
  | { kind: 'revision'; pick: number }
  /** One of the key's kept puts (if any), named by its version number or its revision. */
  | { kind: 'kept'; index: number; byVersion: boolean };

function resolveEntry(model: Model, key: string, spec: EntrySpec): { selector: EntrySelector; entry?: ModelVersion } {
  if (spec.kind === 'kept') {
    const puts = model.history.versions(key).filter((entry) => entry.type === 'put');
    const chosen = puts[spec.index % Math.max(1, puts.length)];
    if (chosen === undefined) return { selector: { revision: model.revision + 1 } };
    if (!spec.byVersion) return { selector: { revision: chosen.revision }, entry: chosen };
    return { selector: { version: chosen.version }, entry: model.history.byVersion(key, chosen.version) };
  }
  if (spec.kind === 'version')
    return { selector: { version: spec.version }, entry: model.history.byVersion(key, spec.version) };
  // Half the picks among the key's kept entries, half among every revision (or none) of the run.
  const kept = model.history.versions(key).map((entry) => entry.revision);
  const written = model.history.revisionsWritten();
  const revision =
    spec.pick % 2 === 0 && kept.length > 0
      ? kept[(spec.pick >> 1) % kept.length]!
      : (written[(spec.pick >> 1) % (written.length + 1)] ?? model.revision + 1);
  return { selector: { revision }, entry: model.history.byRevision(key, revision) };
}

function showEntry(spec: EntrySpec): string {
  if (spec.kind === 'kept') return `kept put #${spec.index} by ${spec.byVersion ? 'version' : 'revision'}`;
  return spec.kind === 'version' ? `version ${spec.version}` : `revision #${spec.pick}`;
}

function expectNotKept(answer: { status: number; text: string; json: unknown }, what: string): void {
  saw(`${what.split(' ')[0]} not kept`);
  assert.equal(answer.status, 404, `${what}: ${answer.text}`);
  assert.equal((answer.json as { error?: { code?: string } }).error?.code, 'version_not_kept', what);
}

function expectTimeWithin(reported: string, window: TimeWindow, what: string): void {
  const at = Date.parse(reported);
  assert.ok(at >= window.from && at <= window.to, `${what}: time ${reported} outside the write window`);
}

/** One reported history entry against the model's. */
function expectVersion(reported: HistoryVersion, expected: ModelVersion, values: boolean, what: string): void {
  assert.equal(reported.revision, expected.revision, `${what}: revision`);
  assert.equal(reported.version, expected.version, `${what}: version`);
  assert.equal(reported.type, expected.type, `${what}: type`);
  assert.equal(reported.size, expected.value?.length ?? 0, `${what}: size`);
  assert.equal(reported.contentType, expected.contentType, `${what}: contentType`);
  assert.equal(reported.expires === null ? null : Date.parse(reported.expires), expected.expires, `${what}: expires`);
  expectTimeWithin(reported.time, expected.window, what);
  assert.equal(reported.who?.via, expected.via, `${what}: who.via`);
  // Every write of the test comes from its one token-file token over loopback.
  assert.match(reported.who.token ?? '', /^file:[0-9a-f]{12}$/, `${what}: who.token`);
  assert.match(reported.who.address ?? '', /127\.0\.0\.1/, `${what}: who.address`);
  if (values && expected.value !== null)
    assert.deepEqual(Buffer.from(reported.value ?? '', 'base64'), expected.value, `${what}: value`);
  else assert.equal(reported.value, undefined, `${what}: no value`);
}

class HistoryCommand implements Command {
  constructor(
    readonly key: string,
    readonly limit: number,
    readonly values: boolean,
    /** Start below the n-th kept entry (modulo their count + 1; 0: from the newest). */
    readonly skip: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const key = real.prefix + this.key;
    const expected = model.history.versions(this.key);
    const start = this.skip % (expected.length + 1);
    let before = start === 0 ? undefined : expected[start - 1]!.revision;
    let seen = start;
    // A page holds at least one entry while any remain: expected.length + 1 pages at most.
    for (let page = 0; page <= expected.length; page++) {
      const answer = await real.kv.history(key, { before, limit: this.limit, values: this.values });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json.key, key);
      const want = expected.slice(seen, seen + this.limit);
      assert.equal(answer.json.versions.length, want.length, `history of ${key}: page ${page} length`);
      want.forEach((entry, index) =>
        expectVersion(answer.json.versions[index]!, entry, this.values, `history of ${key}: entry ${seen + index}`),
      );
      seen += want.length;
      if (seen === expected.length) {
        assert.equal(answer.json.next, null, `history of ${key}: next after the oldest kept entry`);
        return;
      }
      assert.notEqual(answer.json.next, null, `history of ${key}: next while older entries remain`);
      saw('history next page');
      before = answer.json.next!;
    }
    assert.fail(`history of ${key}: pages did not end`);
  }
  toString = () =>
    `history(${JSON.stringify(this.key)}, limit ${this.limit}${this.values ? ', values' : ''}${this.skip ? `, skip ${this.skip}` : ''})`;
}

class GetEntryCommand implements Command {
  constructor(
    readonly key: string,
    readonly spec: EntrySpec,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const { selector, entry } = resolveEntry(model, this.key, this.spec);
    const answer = await real.kv.getEntry(real.prefix + this.key, selector);
    const what = `GET ${JSON.stringify(selector)}`;
    if (entry?.value == null) return expectNotKept(answer, what);
    assert.equal(answer.status, 200, `${what}: ${answer.text}`);
    assert.deepEqual(answer.bytes, entry.value, `${what}: value`);
    assert.equal(answer.headers.get('content-type'), entry.contentType ?? 'text/plain; charset=utf-8', what);
    assert.equal(parseEtag(answer.headers.get('etag')), entry.version, `${what}: ETag`);
    assert.equal(answer.headers.get('kvs-version'), String(entry.version), `${what}: Kvs-Version`);
    assert.equal(answer.headers.get('kvs-revision'), String(entry.revision), `${what}: Kvs-Revision`);
    saw('GET version served');
  }
  toString = () => `getEntry(${JSON.stringify(this.key)}, ${showEntry(this.spec)})`;
}

class DiffCommand implements Command {
  constructor(
    readonly key: string,
    readonly from: EntrySpec,
    /** undefined: against the current value. */
    readonly to: EntrySpec | undefined,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const from = resolveEntry(model, this.key, this.from);
    const to = this.to === undefined ? undefined : resolveEntry(model, this.key, this.to);
    const answer = await real.kv.diff(real.prefix + this.key, from.selector, to?.selector);
    const what = `diff ${JSON.stringify(from.selector)} → ${to === undefined ? 'current' : JSON.stringify(to.selector)}`;
    const current = model.keys.get(this.key);
    const fromSide = from.entry?.value == null ? undefined : { ...from.entry, value: from.entry.value };
    const toSide =
      to === undefined
        ? current && { revision: current.modRevision, version: current.version, value: current.value }
        : to.entry?.value == null
          ? undefined
          : { ...to.entry, value: to.entry.value };
    if (fromSide === undefined || toSide === undefined) return expectNotKept(answer, what);
    assert.equal(answer.status, 200, `${what}: ${answer.text}`);
    const body = answer.json;
    assert.equal(body.key, real.prefix + this.key);
    assert.deepEqual(body.from, { revision: fromSide.revision, version: fromSide.version }, `${what}: from`);
    assert.deepEqual(body.to, { revision: toSide.revision, version: toSide.version }, `${what}: to`);
    const fromText = utf8Text(fromSide.value);
    const toText = utf8Text(toSide.value);
    if (fromText === undefined || toText === undefined) {
      assert.equal(body.binary, true, `${what}: binary`);
      const same = fromSide.value.equals(toSide.value);
      assert.equal(body.message, same ? 'binary values are identical' : 'binary values differ', what);
      assert.equal(body.patch, undefined, `${what}: no patch`);
      saw(same ? 'diff binary identical' : 'diff binary differ');
      return;
    }
    assert.equal(body.binary, false, `${what}: text`);
    const changes = lineChanges(fromText, toText);
    assert.deepEqual({ added: body.added, removed: body.removed }, changes, `${what}: lines added, removed`);
    assert.equal(typeof body.patch, 'string', `${what}: patch`);
    assert.deepEqual(patchLineCounts(body.patch!), changes, `${what}: the patch's lines`);
    saw(changes.added + changes.removed > 0 ? 'diff text changed' : 'diff text same');
  }
  toString = () =>
    `diff(${JSON.stringify(this.key)}, ${showEntry(this.from)} → ${this.to === undefined ? 'current' : showEntry(this.to)})`;
}

class RevertCommand implements Command {
  constructor(
    readonly key: string,
    readonly target: EntrySpec,
    /** undefined: unconditional; else If-Match = current version + offset (at least 0). */
    readonly offset: number | undefined,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const key = real.prefix + this.key;
    const { selector, entry } = resolveEntry(model, this.key, this.target);
    const previous = model.keys.get(this.key);
    const current = previous?.version ?? 0;
    const ifMatch = this.offset === undefined ? undefined : Math.max(0, current + this.offset);
    const from = Date.now();
    const answer = await real.kv.revert(key, selector, ifMatch === undefined ? undefined : `"${ifMatch}"`);
    const window = { from, to: Date.now() };
    const what = `revert to ${JSON.stringify(selector)}`;
    if (entry?.value == null) return expectNotKept(answer, what);
    if (ifMatch !== undefined && ifMatch !== current) {
      assert.equal(answer.status, 412, `${what}: ${answer.text}`);
      assert.equal(answer.json.error.code, 'version_mismatch');
      assert.equal(answer.json.error.currentVersion, current);
      saw('revert version mismatch');
      return;
    }
    // The entry's value and content type, without a TTL, as the key's next version.
    const restored = written(previous, entry.value, entry.contentType, model.revision + 1);
    assert.equal(answer.status, previous ? 200 : 201, `${what}: ${answer.text}`);
    expectMeta(answer.json, key, restored, `${what}: answer`);
    commitOne(model, this.key, restored, window, 'revert');
    saw(previous ? 'revert' : 'revert restores a deleted key');
  }
  toString = () =>
    `revert(${JSON.stringify(this.key)}, ${showEntry(this.target)}${this.offset === undefined ? '' : `, current${this.offset >= 0 ? '+' : ''}${this.offset}`})`;
}

class DeletedCommand implements Command {
  constructor(readonly limit: number) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const expected = model.history.deletedKeys();
    const listed: DeletedKeyItem[] = [];
    let after: string | undefined;
    // A page may hold fewer keys than asked for (the engine bounds its scan) but each page moves
    // past at least one key with history: RELATIVE_KEYS.length + 1 pages at most.
    for (let page = 0; ; page++) {
      assert.ok(page <= RELATIVE_KEYS.length, 'deleted keys: pages did not end');
      const answer = await real.kv.deleted({ prefix: real.prefix, after, limit: this.limit });
      assert.equal(answer.status, 200, answer.text);
      assert.ok(answer.json.keys.length <= this.limit, 'deleted keys: page within its limit');
      listed.push(...answer.json.keys);
      if (answer.json.next === null) break;
      after = answer.json.next;
    }
    assert.deepEqual(
      listed.map((item) => item.key),
      expected.map((item) => real.prefix + item.key),
      'deleted keys',
    );
    saw(expected.length > 0 ? 'deleted keys listed' : 'no deleted keys');
    expected.forEach(({ deletion, lastPut }, index) => {
      const item = listed[index]!;
      assert.equal(item.revision, deletion.revision, `${item.key}: revision`);
      assert.equal(item.type, 'delete', `${item.key}: type`);
      expectTimeWithin(item.time, deletion.window, item.key);
      assert.deepEqual(
        item.lastPut,
        lastPut === undefined
          ? null
          : { revision: lastPut.revision, version: lastPut.version, size: lastPut.value?.length ?? 0 },
        `${item.key}: lastPut`,
      );
      if (lastPut === undefined) saw('deleted key without a kept put');
    });
  }
  toString = () => `deleted(limit ${this.limit})`;
}

/** Requests whose query the history routes refuse (400 invalid_history_query) without changing anything. */
const INVALID_HISTORY_QUERIES = [
  ['GET', '?history&limit=0'],
  ['GET', '?history&limit=1001'],
  ['GET', '?history&before=0'],
  ['GET', '?history&before=x'],
  ['GET', '?version=0'],
  ['GET', '?revision=-1'],
  ['GET', '?diff'],
  ['GET', '?diff&from=1&fromRevision=1'],
  ['POST', '?revert=0'],
  ['POST', '?revert=1&revertRevision=1'],
] as const;

class InvalidHistoryQueryCommand implements Command {
  constructor(readonly index: number) {}
  check = () => true;
  async run(_model: Model, real: Real): Promise<void> {
    const [method, query] = INVALID_HISTORY_QUERIES[this.index]!;
    const answer = await real.kv.request<ErrorBody>(method, keyPath(`${real.prefix}a`) + query);
    assert.equal(answer.status, 400, `${method} ${query}: ${answer.text}`);
    assert.equal(answer.json.error.code, 'invalid_history_query', `${method} ${query}`);
  }
  toString = () => `invalid(${INVALID_HISTORY_QUERIES[this.index]!.join(' ')})`;
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

for (const store of ['memory', 'lmdb'] as const) {
  describe(`model-based on ${store}: random command sequences agree with an in-memory model`, () => {
    let kv: KvHttp;
    let runs = 0;

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
            const model: Model = {
              keys: new Map(),
              history: new ModelHistory(HISTORY_VERSIONS),
              revision: await kv.revision(),
            };
            const real: Real = { kv, prefix };
            await fc.asyncModelRun(() => ({ model, real }), commands);
            // Whatever the run did, a final listing, every key's whole history and the deleted keys
            // must agree with the model.
            await new ListCommand().run(model, real);
            for (const key of RELATIVE_KEYS) await new HistoryCommand(key, 100, true, 0).run(model, real);
            await new DeletedCommand(100).run(model, real);
            dropped += model.history.dropped;
          },
        ),
        { numRuns: 100, includeErrorInReport: true, ...replay },
      );
      t.diagnostic(`${runs} runs (including shrinking), final revision ${await kv.revision()}`);
      t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}, entries dropped ${dropped}`);
    });
  });
}
