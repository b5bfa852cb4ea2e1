// The model-based test's state (model-based.test.ts): what the model holds for the keys of one
// run and their history, the real server it runs against, and the checks and updates every
// command shares.

import assert from 'node:assert/strict';
import type fc from 'fast-check';
import type { ModelHistory, ModelVersion, TimeWindow } from './history-model.js';
import type { EntryMeta, KvHttp } from './kv-http.js';

export const TTL_SECONDS = 3600;
/** The server's --history-versions: small, so that runs see the oldest entries dropped. */
export const HISTORY_VERSIONS = 5;

export interface ModelEntry {
  value: Buffer;
  version: number;
  createRevision: number;
  modRevision: number;
  contentType: string | null;
  /** Exact expiry (ms) once the server reported it, checked to lie within the write window. */
  expires: number | null;
}

export interface Model {
  readonly keys: Map<string, ModelEntry>;
  readonly history: ModelHistory;
  revision: number;
  /** The store's revision when the run began: the run's keys did not exist before it. */
  readonly startRevision: number;
  /**
   * How the server's point-in-time reach is compared (history-model.ts, ModelReach): exactly
   * (memory), or between `reachFloor` and the model's bound (lmdb's write-ahead log path).
   */
  readonly reachExact: boolean;
  /** The newest reach the server reported (it never moves back). */
  reachFloor: number;
}

export interface Real {
  readonly kv: KvHttp;
  readonly prefix: string;
}

export const RELATIVE_KEYS = ['a', 'b', 'c/d', 'é', 'sp ace'] as const;

export function parseEtag(header: string | null): number | undefined {
  return header === null ? undefined : Number(header.replaceAll('"', ''));
}

/** Checks the server-reported expiry against the write window, or its absence. */
export function checkExpires(
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

export function expectMeta(meta: EntryMeta, key: string, entry: ModelEntry, what: string): void {
  assert.equal(meta.key, key, what);
  assert.equal(meta.version, entry.version, `${what}: version`);
  assert.equal(meta.createRevision, entry.createRevision, `${what}: createRevision`);
  assert.equal(meta.modRevision, entry.modRevision, `${what}: modRevision`);
  assert.equal(meta.contentType, entry.contentType, `${what}: contentType`);
  assert.equal(meta.size, entry.value.length, `${what}: size`);
  assert.equal(meta.expires === null ? null : Date.parse(meta.expires), entry.expires, `${what}: expires`);
}

/** Applies a successful write of `key` at `revision` to the model (or to a transaction's pending view). */
export function written(
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
export function historyEntry(
  entry: ModelEntry | null,
  revision: number,
  window: TimeWindow,
  via: string,
): ModelVersion {
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
export function commitOne(model: Model, key: string, entry: ModelEntry | null, window: TimeWindow, via: string): void {
  model.revision++;
  if (entry === null) model.keys.delete(key);
  else model.keys.set(key, entry);
  model.history.record(key, historyEntry(entry, model.revision, window, via));
}

export function showValue(value: string | Buffer): string {
  return typeof value === 'string' ? JSON.stringify(value) : `0x${value.toString('hex')}`;
}

export type Command = fc.AsyncCommand<Model, Real>;

/** How often each history outcome came up, reported per server: shows the runs reach every branch. */
export const outcomes = new Map<string, number>();
export function saw(outcome: string): void {
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
}
