// The model-based test's commands for per-key history (docs/history.md): history pages, reads of
// a kept version or revision, diffs, reverts, the deleted-keys listing and refused queries, each
// checked answer by answer against the model (model-state.ts, history-model.ts).

import assert from 'node:assert/strict';
import { lineChanges, type ModelVersion, patchLineCounts, type TimeWindow, utf8Text } from './history-model.js';
import { type DeletedKeyItem, type EntrySelector, type ErrorBody, type HistoryVersion, keyPath } from './kv-http.js';
import {
  type Command,
  commitOne,
  expectMeta,
  type Model,
  parseEtag,
  RELATIVE_KEYS,
  type Real,
  saw,
  written,
} from './model-state.js';

/**
 * Names a history entry: a version number, or a pick among the key's kept entries and the
 * revisions that wrote history in this run (so kept, dropped, other keys' and delete entries all
 * come up) or one never written.
 */
export type EntrySpec =
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

export class HistoryCommand implements Command {
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

export class GetEntryCommand implements Command {
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

export class DiffCommand implements Command {
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

export class RevertCommand implements Command {
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

export class DeletedCommand implements Command {
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
export const INVALID_HISTORY_QUERIES = [
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

export class InvalidHistoryQueryCommand implements Command {
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
