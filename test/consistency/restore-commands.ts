// The model-based test's commands for point in time (docs/history.md, "Point in time"): snapshots
// of the run's keys at a revision, dry-run and real restores with and without a prefix, restores
// to a revision older than the reach, and refused `at` / `to` values, each checked answer by
// answer against the model (history-model.ts: every state the run left its keys in, and the
// store's reach).

import assert from 'node:assert/strict';
import type { ModelVersion, TimeWindow } from './history-model.js';
import type { Answer, ErrorBody, KvHttp, PointBody, SnapshotItem } from './kv-http.js';
import {
  type Command,
  historyEntry,
  type Model,
  type ModelEntry,
  RELATIVE_KEYS,
  type Real,
  saw,
  written,
} from './model-state.js';

/** Prefixes under the run's own that the routes are asked for: all its keys, one key, none. */
export const SUB_PREFIXES = ['', 'c/', 's', 'zz'] as const;

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The run's keys under `sub`, in the order the routes answer them (the prefix is common). */
function keysUnder(sub: string): string[] {
  return RELATIVE_KEYS.filter((key) => key.startsWith(sub)).sort(byteOrder);
}

/** The reach as the model knows it for this server (history-model.ts, ModelReach). */
function knownReach(model: Model): number {
  return model.reachExact ? model.history.reach.exact : model.reachFloor;
}

/**
 * Picks a revision at or after `atLeast` among 0, the run's start, both sides of the reach, every
 * revision this run wrote and the current one, so reachable, unreachable, kept and dropped points
 * all come up.
 */
function targetOf(model: Model, pick: number, atLeast = 0): number {
  const reach = knownReach(model);
  const candidates = [0, model.startRevision, reach - 1, reach, ...model.history.revisionsWritten(), model.revision];
  const within = candidates.filter((revision) => revision >= atLeast && revision <= model.revision);
  return within[pick % within.length] ?? model.revision;
}

/**
 * Checks that the server answered at `revision` when the model's reach says it can, or refused
 * with 410 history_not_kept naming the oldest revision it can read. Exact on memory; on lmdb the
 * named revision lies between the last one reported and the model's bound (ModelReach). Returns
 * whether it answered.
 */
function expectReach(model: Model, revision: number, answer: Answer<ErrorBody>, what: string): boolean {
  const { exact, atMost } = model.history.reach;
  if (model.reachExact && revision >= exact) {
    assert.equal(answer.status, 200, `${what}: ${answer.text}`);
    return true;
  }
  if (model.reachExact) assert.equal(answer.status, 410, `${what}: older than the reach ${exact}: ${answer.text}`);
  else if (answer.status !== 410) {
    assert.equal(answer.status, 200, `${what}: ${answer.text}`);
    assert.ok(revision >= model.reachFloor, `${what}: answered below the reach ${model.reachFloor} reported before`);
    return true;
  }
  assert.equal(answer.json.error.code, 'history_not_kept', what);
  const oldest = answer.json.error.oldestRevision as number;
  if (model.reachExact) assert.equal(oldest, exact, `${what}: oldestRevision`);
  else
    assert.ok(
      oldest > revision && oldest >= model.reachFloor && oldest <= Math.max(atMost, model.reachFloor),
      `${what}: oldestRevision ${oldest} outside ${Math.max(revision + 1, model.reachFloor)}..${atMost}`,
    );
  model.reachFloor = oldest;
  saw('point older than the reach');
  return false;
}

/** The point an answer names: the revision asked for, and its commit's time when this run made it. */
function expectPoint(model: Model, point: PointBody, revision: number, what: string): void {
  assert.equal(point.revision, revision, `${what}: point revision`);
  const window: TimeWindow | undefined = model.history.windowOf(revision);
  if (window === undefined) {
    assert.ok(point.time === null || !Number.isNaN(Date.parse(point.time)), `${what}: point time ${point.time}`);
    return;
  }
  const at = Date.parse(point.time ?? '');
  assert.ok(at >= window.from && at <= window.to, `${what}: point time ${point.time} outside the commit's window`);
}

/** Nothing was committed: the store's revision is still the model's. */
async function expectNothingWritten(model: Model, kv: KvHttp, what: string): Promise<void> {
  assert.equal(await kv.revision(), model.revision, `${what}: nothing written`);
}

function expectItem(item: SnapshotItem, key: string, state: ModelVersion, values: boolean, what: string): void {
  assert.equal(item.key, key, what);
  assert.equal(item.version, state.version, `${what}: version`);
  assert.equal(item.modRevision, state.revision, `${what}: modRevision`);
  assert.equal(item.contentType, state.contentType, `${what}: contentType`);
  assert.equal(item.size, state.value?.length, `${what}: size`);
  assert.equal(item.expires === null ? null : Date.parse(item.expires), state.expires, `${what}: expires`);
  if (values) assert.deepEqual(Buffer.from(item.value ?? '', 'base64'), state.value, `${what}: value`);
  else assert.equal(item.value, undefined, `${what}: no value`);
}

/** Reads the snapshot of `sub` at `revision` page by page and compares it with the model's keys then. */
async function expectSnapshot(
  model: Model,
  real: Real,
  revision: number,
  sub: string,
  limit: number,
  values: boolean,
): Promise<void> {
  const prefix = real.prefix + sub;
  const what = `snapshot at ${revision} of ${JSON.stringify(prefix)}`;
  const items: SnapshotItem[] = [];
  let after: string | undefined;
  // A page examines at least one of the prefix's keys (stored or deleted) while any remain.
  for (let page = 0; ; page++) {
    assert.ok(page <= RELATIVE_KEYS.length, `${what}: pages did not end`);
    const answer = await real.kv.snapshot(String(revision), { prefix, after, limit, values });
    // On lmdb the reach may move between pages (its background apply): a later page refused is right too.
    if (!expectReach(model, revision, answer, `${what}, page ${page}`)) return;
    expectPoint(model, answer.json.at, revision, what);
    assert.ok(answer.json.items.length <= limit, `${what}: page within its limit`);
    items.push(...answer.json.items);
    if (answer.json.next === null) break;
    after = answer.json.next;
    saw('snapshot next page');
  }
  const expected = keysUnder(sub).flatMap((key) => {
    const state = model.history.stateAt(key, revision);
    return state === undefined ? [] : [{ key, state }];
  });
  assert.deepEqual(
    items.map((item) => item.key),
    expected.map(({ key }) => real.prefix + key),
    `${what}: keys`,
  );
  expected.forEach(({ key, state }, index) => expectItem(items[index]!, real.prefix + key, state, values, what));
  saw(expected.length > 0 ? 'snapshot with keys' : 'snapshot empty');
}

export class SnapshotCommand implements Command {
  constructor(
    /** Which revision (targetOf). */
    readonly pick: number,
    readonly sub: string,
    readonly limit: number,
    readonly values: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    await expectSnapshot(model, real, targetOf(model, this.pick), this.sub, this.limit, this.values);
  }
  toString = () =>
    `snapshot(revision #${this.pick}, ${JSON.stringify(this.sub)}, limit ${this.limit}${this.values ? ', values' : ''})`;
}

/** A key a restore changes: its state then (undefined: absent then, so deleted now). */
interface ExpectedChange {
  readonly key: string;
  readonly then: ModelVersion | undefined;
  readonly now: ModelEntry | undefined;
}

/** The same state: one commit's record, or the same value, content type and expiry (docs/history.md). */
function sameState(now: ModelEntry | undefined, then: ModelVersion | undefined): boolean {
  if (now === undefined || then === undefined) return now === then;
  if (now.modRevision === then.revision) return true;
  return (
    now.contentType === then.contentType && now.expires === then.expires && now.value.equals(then.value ?? Buffer.of())
  );
}

function changesTo(model: Model, sub: string, revision: number): ExpectedChange[] {
  return keysUnder(sub).flatMap((key) => {
    const now = model.keys.get(key);
    const then = model.history.stateAt(key, revision);
    return sameState(now, then) ? [] : [{ key, then, now }];
  });
}

/** A restore's one commit in the model: every change at the next revision, each key's version and history as a transaction's. */
function applyRestore(model: Model, changes: readonly ExpectedChange[], window: TimeWindow): void {
  const revision = model.revision + 1;
  for (const { key, then, now } of changes) {
    const entry =
      then === undefined
        ? null
        : { ...written(now, then.value ?? Buffer.of(), then.contentType, revision), expires: then.expires };
    if (entry === null) model.keys.delete(key);
    else model.keys.set(key, entry);
    model.history.record(key, historyEntry(entry, revision, window, 'restore'));
  }
  model.revision = revision;
}

export class RestoreCommand implements Command {
  constructor(
    /** Which revision (targetOf). */
    readonly pick: number,
    /** Under the run's prefix; undefined: the whole store (then only at or after the run's start, so only its keys differ). */
    readonly sub: string | undefined,
    readonly dryRun: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const whole = this.sub === undefined;
    const revision = targetOf(model, this.pick, whole ? model.startRevision : 0);
    const prefix = whole ? undefined : real.prefix + this.sub;
    const what = `${this.dryRun ? 'dry-run ' : ''}restore of ${whole ? 'the store' : JSON.stringify(prefix)} to ${revision}`;
    const from = Date.now();
    const answer = await real.kv.restore(String(revision), { prefix, dryRun: this.dryRun });
    const window = { from, to: Date.now() };
    if (!expectReach(model, revision, answer, what)) return expectNothingWritten(model, real.kv, what);
    const changes = changesTo(model, this.sub ?? '', revision);
    expectPoint(model, answer.json.to, revision, what);
    assert.equal(answer.json.dryRun, this.dryRun, `${what}: dryRun`);
    assert.deepEqual(
      answer.json.changes,
      changes.map(({ key, then, now }) => ({
        key: real.prefix + key,
        action: then === undefined ? 'delete' : 'put',
        restoredRevision: then?.revision ?? null,
        currentRevision: now?.modRevision ?? null,
      })),
      `${what}: changes`,
    );
    const writes = !this.dryRun && changes.length > 0;
    assert.equal(answer.json.revision, writes ? model.revision + 1 : null, `${what}: revision`);
    if (!writes) {
      saw(changes.length === 0 ? 'restore without changes' : 'restore dry run');
      return expectNothingWritten(model, real.kv, what);
    }
    applyRestore(model, changes, window);
    saw(whole ? 'restore of the store' : 'restore of a prefix');
    if (changes.some((change) => change.then === undefined)) saw('restore deletes');
    if (changes.some((change) => change.then !== undefined && change.now === undefined)) saw('restore recreates');
    // The restore is a point of its own: the run's keys as the model now has them.
    await expectSnapshot(model, real, model.revision, '', 100, true);
  }
  toString = () =>
    `restore(revision #${this.pick}, ${this.sub === undefined ? 'whole store' : JSON.stringify(this.sub)}${this.dryRun ? ', dry run' : ''})`;
}

export class UnreachableRestoreCommand implements Command {
  constructor(
    /** How far below the reach (modulo the reach). */
    readonly back: number,
    readonly sub: string | undefined,
    readonly dryRun: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const reach = knownReach(model);
    if (reach === 0) return saw('no revision older than the reach yet');
    const revision = reach - 1 - (this.back % reach);
    const prefix = this.sub === undefined ? undefined : real.prefix + this.sub;
    const what = `restore to ${revision}, older than the reach ${reach}`;
    const answer = await real.kv.restore(String(revision), { prefix, dryRun: this.dryRun });
    assert.equal(expectReach(model, revision, answer, what), false, `${what}: refused`);
    await expectNothingWritten(model, real.kv, what);
  }
  toString = () =>
    `unreachableRestore(${this.back}, ${this.sub === undefined ? 'whole store' : JSON.stringify(this.sub)}${this.dryRun ? ', dry run' : ''})`;
}

/** `at` / `to` values both routes refuse (400) before reading anything, with the error each names. */
export const HOSTILE_POINTS: readonly {
  readonly show: string;
  /** The query's point parameter(s) for the store at `current`; '' leaves it out. */
  readonly query: (field: string, current: number) => string;
  readonly code: 'invalid_point_in_time' | 'bad_request';
  /** The error names the store's revision instead of the field. */
  readonly namesRevision?: true;
}[] = [
  { show: 'missing', query: () => '', code: 'invalid_point_in_time' },
  ...['', '-1', '1.5', '1e3', 'now', '0x10', ' 1', '2026-13-45', '99999999999999999', '9999999999999999'].map(
    (value) => ({
      show: JSON.stringify(value),
      query: (field: string) => `${field}=${encodeURIComponent(value)}`,
      code: 'invalid_point_in_time' as const,
    }),
  ),
  {
    show: 'the next revision',
    query: (field, current) => `${field}=${current + 1}`,
    code: 'invalid_point_in_time',
    namesRevision: true,
  },
  {
    show: 'the largest safe integer',
    query: (field) => `${field}=${Number.MAX_SAFE_INTEGER}`,
    code: 'invalid_point_in_time',
    namesRevision: true,
  },
  { show: 'given twice', query: (field) => `${field}=1&${field}=2`, code: 'bad_request' },
];

export class HostilePointCommand implements Command {
  constructor(
    readonly index: number,
    readonly dryRun: boolean,
  ) {}
  check = () => true;
  async run(model: Model, real: Real): Promise<void> {
    const hostile = HOSTILE_POINTS[this.index]!;
    const prefix = `prefix=${encodeURIComponent(real.prefix)}`;
    for (const [method, path, field] of [
      ['GET', '/v1/snapshot', 'at'],
      ['POST', '/v1/restore', 'to'],
    ] as const) {
      const point = hostile.query(field, model.revision);
      const dryRun = method === 'POST' && this.dryRun ? '&dryRun=1' : '';
      const url = `${path}?${prefix}${point === '' ? '' : `&${point}`}${dryRun}`;
      const answer = await real.kv.request<ErrorBody>(method, url);
      const what = `${method} ${url}`;
      assert.equal(answer.status, 400, `${what}: ${answer.text}`);
      assert.equal(answer.json.error.code, hostile.code, what);
      if (hostile.namesRevision) assert.equal(answer.json.error.currentRevision, model.revision, what);
      else assert.equal(answer.json.error.field, field, what);
    }
    await expectNothingWritten(model, real.kv, `hostile point ${hostile.show}`);
  }
  toString = () => `hostilePoint(${HOSTILE_POINTS[this.index]!.show}${this.dryRun ? ', dry run' : ''})`;
}

/** The oldest revision the server reports it can read (a snapshot at 0 answers it when it is not 0). */
export async function reportedReach(real: Real): Promise<number> {
  const answer = await real.kv.snapshot('0', { prefix: real.prefix, limit: 1 });
  if (answer.status === 200) return 0;
  assert.equal(answer.status, 410, answer.text);
  assert.equal(answer.json.error.code, 'history_not_kept');
  return answer.json.error.oldestRevision as number;
}

/** At the end of a run: the reach the server reports is the model's (memory), or within its bounds (lmdb). */
export async function expectRunReach(model: Model, real: Real): Promise<void> {
  const reported = await reportedReach(real);
  const { exact, atMost } = model.history.reach;
  if (model.reachExact) assert.equal(reported, exact, 'the reach after the run');
  else
    assert.ok(
      reported >= model.reachFloor && reported <= Math.max(atMost, model.reachFloor),
      `the reach after the run: ${reported} outside ${model.reachFloor}..${atMost}`,
    );
}
