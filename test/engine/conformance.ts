// The shared storage-engine conformance suite: every engine passes one case file
// (docs/architecture.md, "The engine contract").
// Each engine's test file calls runEngineConformance with a factory; nothing here knows which
// engine it is testing. Expiry is driven by the explicit `now` every engine method takes, never
// by sleeping.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeEvent } from '../../src/model/events.js';
import type { CommitResult, Condition, Operation, Txn } from '../../src/model/txn.js';
import type { Entry, EntryInfo } from '../../src/model/entry.js';
import fc from 'fast-check';
import { type AuditRetention, type Engine, LIST_SKIP_MAX, type ListOptions } from '../../src/storage/engine.js';
import { FOLDER_INDEX_DEPTH } from '../../src/storage/folder-index.js';
import { describeAuditConformance } from './audit-conformance.js';
import { describeHistoryConformance } from './history-conformance.js';
import type { HistoryRetention } from '../../src/storage/key-history.js';
import { HistoryCompactedError } from '../../src/storage/errors.js';

/** Engine settings the suite needs control of; a factory passes them to its engine. */
export interface EngineTestOptions {
  /** How many revisions the change log keeps. */
  readonly logLength: number;
  /** Values up to this many bytes are copied into change events. */
  readonly logValueMax: number;
  /** How much audit trail the engine keeps (the engine's default when unset). */
  readonly auditRetention?: AuditRetention;
  /** How much per-key history the engine keeps (the engine's default when unset). */
  readonly historyRetention?: HistoryRetention;
}

export interface OpenedEngine {
  readonly engine: Engine;
  /** For durable engines: opens the same store again (after the suite closed `engine`). */
  readonly reopen?: () => Promise<Engine>;
  /** Closes whatever the factory opened (close must be safe to repeat) and removes its data. */
  readonly cleanup: () => Promise<void>;
}

export type OpenEngine = (options: EngineTestOptions) => Promise<OpenedEngine>;

type Committed = Extract<CommitResult, { ok: true }>;
type Refused = Extract<CommitResult, { ok: false }>;

const T0 = 1_700_000_000_000;
const LOG_VALUE_MAX = 64;
const ROOMY_LOG: EngineTestOptions = { logLength: 10_000, logValueMax: LOG_VALUE_MAX };
const SHORT_LOG: EngineTestOptions = { logLength: 5, logValueMax: LOG_VALUE_MAX };
const WAIT_MS = 10_000;

function put(
  key: string,
  value: string | Buffer,
  extra: { expires?: number | null; contentType?: string | null; keepExpires?: boolean } = {},
): Operation {
  return {
    type: 'put',
    key,
    value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value,
    contentType: extra.contentType ?? null,
    expires: extra.expires ?? null,
    ...(extra.keepExpires === undefined ? {} : { keepExpires: extra.keepExpires }),
  };
}

function del(key: string): Operation {
  return { type: 'delete', key };
}

function expire(key: string): Operation {
  return { type: 'expire', key };
}

function txn(operations: Operation[], conditions: Condition[] = []): Txn {
  return { conditions, operations };
}

async function commitOk(engine: Engine, transaction: Txn, now: number = T0): Promise<Committed> {
  const result = await engine.commit(transaction, now);
  assert.equal(result.ok, true, `commit refused: ${JSON.stringify(result)}`);
  return result as Committed;
}

async function commitRefused(engine: Engine, transaction: Txn, now: number = T0): Promise<Refused> {
  const result = await engine.commit(transaction, now);
  assert.equal(result.ok, false, `commit should have been refused: ${JSON.stringify(result)}`);
  return result as Refused;
}

function utf8Sorted(keys: readonly string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

function text(entry: Entry | undefined): string | undefined {
  return entry?.value.toString('utf8');
}

/** The fields every engine must agree on, without optional extras (value, contentType, expires). */
function eventCore(event: ChangeEvent): { type: string; key: string; revision: number; version: number } {
  return { type: event.type, key: event.key, revision: event.revision, version: event.version };
}

function meta(info: EntryInfo | Entry): Omit<EntryInfo, 'size'> & { size: number } {
  return {
    key: info.key,
    size: 'value' in info ? info.value.length : info.size,
    createRevision: info.createRevision,
    modRevision: info.modRevision,
    version: info.version,
    updated: info.updated,
    expires: info.expires,
    contentType: info.contentType,
  };
}

async function listAllKeys(
  engine: Engine,
  prefix: string,
  pageSize: number,
  now: number,
): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let after: string | undefined;
  let pages = 0;
  for (;;) {
    const { items: page, resumeAfter } = await engine.list({ prefix, after, limit: pageSize }, now);
    pages++;
    assert.ok(page.length <= pageSize, `page of ${page.length} exceeds limit ${pageSize}`);
    keys.push(...page.map((item) => item.key));
    if (resumeAfter !== undefined) after = resumeAfter;
    else if (page.length === 0) break;
    else after = page[page.length - 1]!.key;
    if (pages > 10_000) assert.fail('paging does not terminate');
  }
  return { keys, pages };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Collects every event the engine publishes, in arrival order, with the batch boundaries. */
function record(engine: Engine): { events: ChangeEvent[]; batches: number; stop: () => void } {
  const state = { events: [] as ChangeEvent[], batches: 0, stop: () => {} };
  state.stop = engine.subscribe((batch) => {
    state.batches++;
    state.events.push(...batch);
  });
  return state;
}

/** Byte strings that cover every byte value and the edges of the value space. */
function allBytes(): Buffer {
  return Buffer.from(Array.from({ length: 256 }, (_, index) => index));
}

/** What an engine promises beyond the common contract. */
export interface EngineTraits {
  /** Its data outlives close(): the factory's `reopen` opens the same store again. */
  readonly durable: boolean;
  /** Its audit trail keeps the byte bound as well as the age bound (not etcd: docs/audit.md). */
  readonly auditBoundedBySize?: boolean;
  /** It keeps per-key history (docs/history.md): every engine does (the default). */
  readonly keyHistory?: boolean;
  /**
   * It reads history at a point in time (historyReach, keyEntryAt: docs/history.md, "Point in
   * time"): lmdb and memory (the default); not etcd yet, whose routes answer history_unavailable.
   */
  readonly pointInTime?: boolean;
}

export function runEngineConformance(name: string, open: OpenEngine, traits: EngineTraits = { durable: true }): void {
  async function withEngine(options: EngineTestOptions, body: (opened: OpenedEngine) => Promise<void>): Promise<void> {
    const opened = await open(options);
    try {
      await body(opened);
    } finally {
      await opened.cleanup();
    }
  }

  const test = (title: string, body: (engine: Engine) => Promise<void>, options: EngineTestOptions = ROOMY_LOG) =>
    it(title, () => withEngine(options, ({ engine }) => body(engine)));

  describe(`engine conformance: ${name}`, () => {
    describe('get and getMany', () => {
      test('an empty store has revision 0 and no keys', async (engine) => {
        assert.equal(await engine.revision(), 0);
        assert.equal(await engine.get('missing', T0), undefined);
        assert.deepEqual(await engine.getMany(['a', 'b'], T0), [undefined, undefined]);
        assert.deepEqual((await engine.list({ prefix: '', limit: 10 }, T0)).items, []);
        assert.equal(await engine.count(), 0);
      });

      test('get returns the value and every meta field', async (engine) => {
        await commitOk(
          engine,
          txn([put('k', 'hello', { contentType: 'application/json', expires: T0 + 60_000 })]),
          T0 + 5,
        );
        const entry = await engine.get('k', T0 + 10);
        assert.ok(entry);
        assert.ok(Buffer.isBuffer(entry.value), 'value is a Buffer');
        assert.equal(text(entry), 'hello');
        assert.deepEqual(meta(entry), {
          key: 'k',
          size: 5,
          createRevision: 1,
          modRevision: 1,
          version: 1,
          updated: T0 + 5,
          expires: T0 + 60_000,
          contentType: 'application/json',
        });
      });

      test('getMany answers in request order with undefined for absent keys', async (engine) => {
        await commitOk(engine, txn([put('a', '1'), put('c', '3')]));
        const entries = await engine.getMany(['c', 'b', 'a', 'c'], T0);
        assert.deepEqual(entries.map(text), ['3', undefined, '1', '3']);
        assert.deepEqual(await engine.getMany([], T0), []);
      });

      test('values are bytes: all 256 byte values, invalid UTF-8 and the empty value round-trip', async (engine) => {
        const bytes = allBytes();
        const invalidUtf8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00]);
        await commitOk(engine, txn([put('bytes', bytes), put('invalid', invalidUtf8), put('empty', Buffer.alloc(0))]));
        const [all, invalid, empty] = await engine.getMany(['bytes', 'invalid', 'empty'], T0);
        assert.ok(all && invalid && empty, 'all three keys exist');
        assert.ok(all.value.equals(bytes));
        assert.ok(invalid.value.equals(invalidUtf8));
        assert.equal(empty.value.length, 0, 'an empty value is present, not absent');
        assert.equal(empty.version, 1);
        const single = await engine.get('bytes', T0);
        assert.ok(single?.value.equals(bytes));
        const listed = (await engine.listEntries({ prefix: '', limit: 10 }, T0)).items;
        const byKey = new Map(listed.map((entry) => [entry.key, entry]));
        assert.ok(byKey.get('bytes')?.value.equals(bytes));
        assert.ok(byKey.get('invalid')?.value.equals(invalidUtf8));
        assert.equal(byKey.get('empty')?.value.length, 0);
        const infos = (await engine.list({ prefix: '', limit: 10 }, T0)).items;
        assert.deepEqual(
          infos.map((info) => [info.key, info.size]),
          [
            ['bytes', 256],
            ['empty', 0],
            ['invalid', invalidUtf8.length],
          ],
        );
      });

      test('getSync, where the engine has it, answers exactly as get', async (engine) => {
        if (engine.getSync === undefined) return; // optional in the Engine contract
        const getSync = engine.getSync.bind(engine);
        await commitOk(
          engine,
          txn([
            put('bin', allBytes(), { contentType: 'a/b' }),
            put('ttl', 'v', { expires: T0 + 100 }),
            put('empty', Buffer.alloc(0)),
          ]),
          T0,
        );
        await commitOk(engine, txn([put('bin', allBytes()), put('🔑', 'k')]), T0 + 1);
        for (const key of ['bin', 'ttl', 'empty', '🔑', 'absent']) {
          for (const now of [T0 + 1, T0 + 99, T0 + 100]) {
            const expected = await engine.get(key, now);
            const actual = getSync(key, now);
            assert.deepEqual(
              actual && { ...meta(actual), value: actual.value.toString('hex') },
              expected && { ...meta(expected), value: expected.value.toString('hex') },
              `${key} at ${now}`,
            );
          }
        }
        assert.equal(getSync('ttl', T0 + 100), undefined);
        assert.equal(getSync('empty', T0)?.value.length, 0);
      });

      test('a large value round-trips', async (engine) => {
        const large = Buffer.alloc(300_000);
        for (let index = 0; index < large.length; index++) large[index] = (index * 7919) & 0xff;
        await commitOk(engine, txn([put('large', large)]));
        assert.ok((await engine.get('large', T0))?.value.equals(large));
      });

      test('unicode keys are distinct exactly as their code points are (no normalization)', async (engine) => {
        const keys = ['ключ', '键', '🔑', 'a/🔑/b', 'caf\u00e9', 'cafe\u0301', '\u{10FFFF}', '\uFFFF', '\uE000'];
        await commitOk(engine, txn(keys.map((key, index) => put(key, `v${index}`))));
        const entries = await engine.getMany(keys, T0);
        assert.deepEqual(
          entries.map((entry) => entry?.key),
          keys,
        );
        assert.deepEqual(
          entries.map(text),
          keys.map((_, index) => `v${index}`),
        );
        assert.equal(await engine.get('cafe', T0), undefined);
      });
    });

    describe('list and listEntries', () => {
      test('prefix selects keys that start with it; keys may contain "/"', async (engine) => {
        const keys = ['a', 'a.', 'a/', 'a/b', 'a/b/c', 'a0', 'ab', 'b/a', '/a', 'a//'];
        await commitOk(engine, txn(keys.map((key) => put(key, key))));
        const under = (await engine.list({ prefix: 'a/', limit: 100 }, T0)).items;
        assert.deepEqual(
          under.map((item) => item.key),
          ['a/', 'a//', 'a/b', 'a/b/c'],
        );
        const deeper = (await engine.listEntries({ prefix: 'a/b', limit: 100 }, T0)).items;
        assert.deepEqual(
          deeper.map((entry) => [entry.key, text(entry)]),
          [
            ['a/b', 'a/b'],
            ['a/b/c', 'a/b/c'],
          ],
        );
        const everything = (await engine.list({ prefix: '', limit: 100 }, T0)).items;
        assert.deepEqual(
          everything.map((item) => item.key),
          utf8Sorted(keys),
        );
        assert.deepEqual((await engine.list({ prefix: 'zz', limit: 100 }, T0)).items, []);
      });

      test('keys are ordered by their UTF-8 bytes: astral characters after U+E000..U+FFFF', async (engine) => {
        const keys = [
          'z',
          'a',
          '\u00e9',
          '\u4e2d',
          '\uE000',
          '\uFB01',
          '\uFFFD',
          '\uFFFF',
          '\u{10000}',
          '\u{1F600}',
          '\u{10FFFF}',
          'x\u{1F600}',
          'x\uFFFD',
          'x\uE000y',
          'x\u{10000}',
          'x',
        ];
        await commitOk(engine, txn(keys.map((key) => put(key, 'v'))));
        const expected = utf8Sorted(keys);
        // The UTF-16 order of these keys differs; make sure the test can tell the two apart.
        assert.notDeepEqual(expected, [...keys].sort());
        const listed = (await engine.list({ prefix: '', limit: 100 }, T0)).items;
        assert.deepEqual(
          listed.map((item) => item.key),
          expected,
        );
        const entries = (await engine.listEntries({ prefix: 'x', limit: 100 }, T0)).items;
        assert.deepEqual(
          entries.map((entry) => entry.key),
          expected.filter((key) => key.startsWith('x')),
        );
      });

      test('a key ending in U+10FFFF (the highest code point) is inside its prefix', async (engine) => {
        const keys = ['p/\u{10FFFF}', 'p/\u{10FFFF}x', 'p/a', 'p0', 'p/\uFFFF'];
        await commitOk(engine, txn(keys.map((key) => put(key, 'v'))));
        const listed = (await engine.list({ prefix: 'p/', limit: 100 }, T0)).items;
        assert.deepEqual(
          listed.map((item) => item.key),
          utf8Sorted(keys.filter((key) => key.startsWith('p/'))),
        );
      });

      test('keys with control characters, short and long, list back exactly and in byte order', async (engine) => {
        const long = 'L'.repeat(80);
        const keys = [
          'c\u0000',
          'c\u0000z',
          'c\u0001',
          'c\u0003x',
          'c\u0004',
          'c\u0005',
          'c\u001b',
          'c\u001f',
          `c${long}\u0000z`,
          `c${long}\u0001`,
          `c${long}\u0004`,
          `c\u0002${long}`,
          `c\u0004${long}`,
          '\u0001lead',
          '\u001blead',
        ];
        await commitOk(engine, txn(keys.map((key, index) => put(key, String(index)))));
        const listed = (await engine.listEntries({ prefix: '', limit: 100 }, T0)).items;
        assert.deepEqual(
          listed.map((entry) => JSON.stringify(entry.key)),
          utf8Sorted(keys).map((key) => JSON.stringify(key)),
        );
        for (const entry of listed) assert.equal(text(entry), String(keys.indexOf(entry.key)));
        const under = (await engine.list({ prefix: `c${long}`, limit: 100 }, T0)).items;
        assert.deepEqual(
          under.map((item) => JSON.stringify(item.key)),
          utf8Sorted(keys.filter((key) => key.startsWith(`c${long}`))).map((key) => JSON.stringify(key)),
        );
      });

      test('paging with `after` visits every key exactly once, in order', async (engine) => {
        const symbols = ['a', 'z', '0', '/', '\u00e9', '\u4e2d', '\uE000', '\uFFFD', '\u{10000}', '\u{1F600}'];
        const inside: string[] = [];
        for (const first of symbols) for (const second of symbols.slice(0, 7)) inside.push(`p/${first}${second}`);
        const outside = ['p', 'p.', 'p0', 'o/z', 'q/a', '\u{1F600}'];
        const all = [...inside, ...outside];
        // Written in several transactions, in an order unrelated to key order.
        const shuffled = [...all].sort(
          (a, b) =>
            ((a.length * 31 + a.charCodeAt(a.length - 1)) % 17) - ((b.length * 31 + b.charCodeAt(b.length - 1)) % 17),
        );
        for (let start = 0; start < shuffled.length; start += 9) {
          await commitOk(engine, txn(shuffled.slice(start, start + 9).map((key) => put(key, key))));
        }

        for (const pageSize of [1, 7, 70, 1000]) {
          const { keys, pages } = await listAllKeys(engine, 'p/', pageSize, T0);
          assert.deepEqual(keys, utf8Sorted(inside), `page size ${pageSize}`);
          assert.equal(new Set(keys).size, inside.length);
          assert.ok(pages >= Math.ceil(inside.length / pageSize), `page size ${pageSize}: ${pages} pages`);
        }
        const { keys: everything } = await listAllKeys(engine, '', 5, T0);
        assert.deepEqual(everything, utf8Sorted(all));

        const page = (await engine.listEntries({ prefix: 'p/', after: utf8Sorted(inside)[9], limit: 3 }, T0)).items;
        assert.deepEqual(
          page.map((entry) => [entry.key, text(entry)]),
          utf8Sorted(inside)
            .slice(10, 13)
            .map((key) => [key, key]),
        );
      });

      test('`after` need not be an existing key, and may lie outside the prefix', async (engine) => {
        const keys = ['b/1', 'b/3', 'b/5', 'b/\uE000', 'b/\u{10000}'];
        await commitOk(engine, txn(keys.map((key) => put(key, 'v'))));
        const listKeys = async (after: string, prefix = 'b/') =>
          (await engine.list({ prefix, after, limit: 100 }, T0)).items.map((item) => item.key);
        assert.deepEqual(await listKeys('b/2'), ['b/3', 'b/5', 'b/\uE000', 'b/\u{10000}']);
        assert.deepEqual(await listKeys('b/5'), ['b/\uE000', 'b/\u{10000}']);
        // U+FFFF sorts between U+E000 and the astral plane in UTF-8 (not in UTF-16).
        assert.deepEqual(await listKeys('b/\uFFFF'), ['b/\u{10000}']);
        assert.deepEqual(await listKeys('b/\u{10000}'), []);
        assert.deepEqual(await listKeys('a'), utf8Sorted(keys));
        assert.deepEqual(await listKeys('c'), []);
        assert.deepEqual(await listKeys('b'), utf8Sorted(keys));
        // An astral `after` outside the prefix: every '\uE000...' key is below it in byte order.
        await commitOk(engine, txn([put('\uE000a', 'v'), put('\uE000b', 'v')]));
        assert.deepEqual(await listKeys('\u{10000}', '\uE000'), []);
        assert.deepEqual(await listKeys('\uD7FF', '\uE000'), ['\uE000a', '\uE000b']);
      });

      test('limit bounds the page', async (engine) => {
        await commitOk(engine, txn(['k1', 'k2', 'k3', 'k4'].map((key) => put(key, 'v'))));
        assert.deepEqual(
          (await engine.list({ prefix: 'k', limit: 3 }, T0)).items.map((item) => item.key),
          ['k1', 'k2', 'k3'],
        );
        assert.deepEqual(
          (await engine.listEntries({ prefix: 'k', limit: 1 }, T0)).items.map((item) => item.key),
          ['k1'],
        );
        assert.deepEqual(
          (await engine.list({ prefix: 'k', after: 'k3', limit: 3 }, T0)).items.map((item) => item.key),
          ['k4'],
        );
      });

      test('list items carry the same meta as get, and listEntries the same values', async (engine) => {
        await commitOk(
          engine,
          txn([put('m/a', 'one', { contentType: 'text/x' }), put('m/b', allBytes(), { expires: T0 + 1000 })]),
          T0,
        );
        await commitOk(engine, txn([put('m/a', 'two!')]), T0 + 1);
        const infos = (await engine.list({ prefix: 'm/', limit: 10 }, T0 + 2)).items;
        const entries = (await engine.listEntries({ prefix: 'm/', limit: 10 }, T0 + 2)).items;
        const gets = await engine.getMany(['m/a', 'm/b'], T0 + 2);
        assert.deepEqual(
          infos.map(meta),
          gets.map((entry) => meta(entry!)),
        );
        assert.deepEqual(
          entries.map(meta),
          gets.map((entry) => meta(entry!)),
        );
        assert.deepEqual(
          entries.map((entry) => entry.value.toString('hex')),
          gets.map((entry) => entry!.value.toString('hex')),
        );
        assert.equal(infos[0]!.version, 2);
        assert.equal(infos[0]!.contentType, null);
      });

      test('expired keys are hidden from get, getMany, list and listEntries, and do not use up the limit', async (engine) => {
        await commitOk(
          engine,
          txn([
            put('e1', 'v'),
            put('e2', 'v', { expires: T0 + 1000 }),
            put('e3', 'v', { expires: T0 + 5000 }),
            put('e4', 'v', { expires: T0 + 1000 }),
            put('e5', 'v'),
          ]),
        );
        const keysAt = async (now: number, limit = 10) =>
          (await engine.list({ prefix: 'e', limit }, now)).items.map((item) => item.key);
        assert.deepEqual(await keysAt(T0 + 999), ['e1', 'e2', 'e3', 'e4', 'e5']);
        // expires <= now means expired.
        assert.deepEqual(await keysAt(T0 + 1000), ['e1', 'e3', 'e5']);
        assert.deepEqual(await keysAt(T0 + 1000, 2), ['e1', 'e3']);
        assert.deepEqual(
          (await engine.listEntries({ prefix: 'e', after: 'e1', limit: 1 }, T0 + 5000)).items.map((entry) => entry.key),
          ['e5'],
        );
        assert.equal((await engine.get('e2', T0 + 999))?.key, 'e2');
        assert.equal(await engine.get('e2', T0 + 1000), undefined);
        assert.deepEqual(
          (await engine.getMany(['e2', 'e3', 'e5'], T0 + 1000)).map((entry) => entry?.key),
          [undefined, 'e3', 'e5'],
        );
        const { keys } = await listAllKeys(engine, '', 1, T0 + 1000);
        assert.deepEqual(keys, ['e1', 'e3', 'e5']);
      });

      // Each walk below reads its range for the first time: an engine may remember runs of
      // expired keys it passed over and step over them later, counting a run as one (lmdb,
      // src/storage/lmdb/expired-key-runs.ts), so a second walk may stop at other places.
      const expiredRange = async (engine: Engine, prefix: string, count: number, expires: number) => {
        const keys = Array.from({ length: count }, (_, index) => `${prefix}e${String(index).padStart(4, '0')}`);
        // Batches of 50: etcd with per-key history writes at most 54 keys per commit.
        for (let start = 0; start < keys.length; start += 50)
          await commitOk(engine, txn(keys.slice(start, start + 50).map((key) => put(key, 'v', { expires }))));
        return keys;
      };
      type Lister = 'list' | 'listEntries';
      const pageOf = async (engine: Engine, lister: Lister, options: ListOptions, now: number) => {
        const page = await engine[lister](options, now);
        return { keys: page.items.map((item) => item.key), resumeAfter: page.resumeAfter };
      };

      for (const lister of ['list', 'listEntries'] as const)
        test(`${lister}: a page passes over at most LIST_SKIP_MAX expired keys, then says where to resume`, async (engine) => {
          // An hour ahead, so that etcd's leases (which delete expired keys by themselves) keep them.
          const expires = T0 + 3_600_000;
          const expired = await expiredRange(engine, 'x/', 2500, expires);
          await commitOk(engine, txn([put('x/a', 'v'), put('x/l1', 'v'), put('x/l2', 'v')]));
          const page = (after?: string) => pageOf(engine, lister, { prefix: 'x/', after, limit: 10 }, expires);
          assert.deepEqual(await page(), { keys: ['x/a'], resumeAfter: expired[LIST_SKIP_MAX - 1] });
          assert.deepEqual(await page(expired[LIST_SKIP_MAX - 1]), {
            keys: [],
            resumeAfter: expired[2 * LIST_SKIP_MAX - 1],
          });
          assert.deepEqual(await page(expired[2 * LIST_SKIP_MAX - 1]), {
            keys: ['x/l1', 'x/l2'],
            resumeAfter: undefined,
          });
          // Walked again (whatever the engine learned), the range lists the same keys.
          assert.deepEqual((await listAllKeys(engine, 'x/', 1, expires)).keys, ['x/a', 'x/l1', 'x/l2']);
          assert.deepEqual((await listAllKeys(engine, 'x/', 1, expires)).keys, ['x/a', 'x/l1', 'x/l2']);
          // Before they expire, the same range lists in full pages.
          assert.equal((await engine[lister]({ prefix: 'x/', limit: 10 }, T0)).items.length, 10);
        });

      test('skipMax lowers the expired keys a page passes over, never raises it', async (engine) => {
        const expires = T0 + 3_600_000;
        // One range per question, each read for the first time.
        const ranges = new Map<string, string[]>();
        for (const prefix of ['y/', 'w/', 'v/', 'u/']) {
          ranges.set(prefix, await expiredRange(engine, prefix, 1200, expires));
          await commitOk(engine, txn([put(`${prefix}a`, 'v'), put(`${prefix}z`, 'v')]));
        }
        const page = (lister: Lister, prefix: string, skipMax: number, after?: string) =>
          pageOf(engine, lister, { prefix, after, limit: 10, skipMax }, expires);
        const [y, w, v, u] = [...ranges.values()] as [string[], string[], string[], string[]];
        assert.deepEqual(await page('list', 'y/', 100), { keys: ['y/a'], resumeAfter: y[99] });
        assert.deepEqual(await page('listEntries', 'y/', 100, y[99]), { keys: [], resumeAfter: y[199] });
        // Above LIST_SKIP_MAX it is LIST_SKIP_MAX; below 1 it is 1 (a walk always moves on).
        assert.deepEqual(await page('list', 'w/', 5000), { keys: ['w/a'], resumeAfter: w[LIST_SKIP_MAX - 1] });
        assert.deepEqual(await page('listEntries', 'v/', 5000), { keys: ['v/a'], resumeAfter: v[LIST_SKIP_MAX - 1] });
        assert.deepEqual(await page('listEntries', 'u/', 0), { keys: ['u/a'], resumeAfter: u[0] });
        assert.deepEqual(await page('list', 'u/', 0, u[0]), { keys: [], resumeAfter: u[1] });
        assert.deepEqual(await page('listEntries', 'y/', 100, y[1149]), { keys: ['y/z'], resumeAfter: undefined });
      });
    });

    describe('count and recentlyModified', () => {
      test('count follows puts and deletes', async (engine) => {
        assert.equal(await engine.count(), 0);
        await commitOk(engine, txn([put('a', '1'), put('b', '2'), put('c', '3')]));
        assert.equal(await engine.count(), 3);
        await commitOk(engine, txn([put('a', 'again')]));
        assert.equal(await engine.count(), 3);
        await commitOk(engine, txn([del('b')]));
        assert.equal(await engine.count(), 2);
      });

      test('recentlyModified passes over at most LIST_SKIP_MAX expired keys, whatever lies behind them', async (engine) => {
        const expires = T0 + 3_600_000; // an hour ahead, so that etcd's leases keep them
        await commitOk(engine, txn([put('old-live-1', 'v'), put('old-live-2', 'v')]));
        const expiring = Array.from({ length: LIST_SKIP_MAX + 500 }, (_, index) => `r${index}`);
        for (let start = 0; start < expiring.length; start += 50)
          await commitOk(engine, txn(expiring.slice(start, start + 50).map((key) => put(key, 'v', { expires }))));
        // The newest keys are all expired: the page ends at the bound instead of reading on.
        assert.deepEqual(await engine.recentlyModified(20, expires), []);
        assert.equal((await engine.recentlyModified(20, T0)).length, 20);
      });

      test('recentlyModified lists live keys by highest modRevision first', async (engine) => {
        await commitOk(engine, txn([put('a', '1')]), T0 + 300); // revision 1 (the wall clock goes backwards on purpose)
        await commitOk(engine, txn([put('b', '1')]), T0 + 200); // 2
        await commitOk(engine, txn([put('c', '1')]), T0 + 100); // 3
        await commitOk(engine, txn([put('a', '2')]), T0); // 4
        const keys = async (limit: number, now = T0) =>
          (await engine.recentlyModified(limit, now)).map((info) => info.key);
        assert.deepEqual(await keys(10), ['a', 'c', 'b']);
        assert.deepEqual(await keys(2), ['a', 'c']);
        const infos = await engine.recentlyModified(1, T0);
        assert.deepEqual(meta(infos[0]!), {
          key: 'a',
          size: 1,
          createRevision: 1,
          modRevision: 4,
          version: 2,
          updated: T0,
          expires: null,
          contentType: null,
        });

        await commitOk(engine, txn([del('c')])); // 5
        assert.deepEqual(await keys(10), ['a', 'b']);
        await commitOk(engine, txn([put('d', '1', { expires: T0 + 1000 })])); // 6
        assert.deepEqual(await keys(10, T0 + 999), ['d', 'a', 'b']);
        assert.deepEqual(await keys(10, T0 + 1000), ['a', 'b']);
        assert.deepEqual(await keys(1, T0 + 1000), ['a']);
        await commitOk(engine, txn([put('b', '2')])); // 7
        assert.deepEqual(await keys(10, T0 + 1000), ['b', 'a']);
      });

      test(
        'recentlyModified finds every live key even when the change log is shorter than the key count',
        async (engine) => {
          const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
          for (const key of keys) await commitOk(engine, txn([put(key, 'v')]));
          // A hot key rewritten many times must not push the others out.
          for (let round = 0; round < 6; round++) await commitOk(engine, txn([put('hot', String(round))]));
          const listed = (await engine.recentlyModified(20, T0)).map((info) => info.key);
          assert.deepEqual(listed, ['hot', ...[...keys].reverse()]);
          const revisions = (await engine.recentlyModified(20, T0)).map((info) => info.modRevision);
          assert.deepEqual(
            revisions,
            [...revisions].sort((a, b) => b - a),
          );
        },
        SHORT_LOG,
      );
    });

    describe('commit', () => {
      test('the first transaction is revision 1; each transaction is one revision, however many operations', async (engine) => {
        const first = await commitOk(engine, txn([put('a', '1')]), T0);
        assert.equal(first.revision, 1);
        assert.deepEqual(first.deleted, []);
        assert.deepEqual(first.puts.map(meta), [
          {
            key: 'a',
            size: 1,
            createRevision: 1,
            modRevision: 1,
            version: 1,
            updated: T0,
            expires: null,
            contentType: null,
          },
        ]);
        assert.equal(await engine.revision(), 1);

        const many = await commitOk(
          engine,
          txn(Array.from({ length: 50 }, (_, index) => put(`m/${index}`, String(index)))),
          T0 + 1,
        );
        assert.equal(many.revision, 2);
        assert.equal(many.puts.length, 50);
        assert.deepEqual(
          many.puts.map((info) => info.key),
          Array.from({ length: 50 }, (_, index) => `m/${index}`),
        );
        for (const info of many.puts) {
          assert.equal(info.modRevision, 2);
          assert.equal(info.createRevision, 2);
        }
        assert.equal(await engine.revision(), 2);
        const history = await engine.history(1, 100);
        assert.equal(history.events.length, 50);
        assert.ok(history.events.every((event) => event.revision === 2 && event.type === 'put'));

        const third = await commitOk(engine, txn([put('a', '2'), del('m/0'), put('new', 'x')]), T0 + 2);
        assert.equal(third.revision, 3);
        assert.deepEqual(third.deleted, ['m/0']);
        assert.deepEqual(
          third.puts.map((info) => [info.key, info.version, info.createRevision, info.modRevision]),
          [
            ['a', 2, 1, 3],
            ['new', 1, 3, 3],
          ],
        );
      });

      test('a transaction that changes nothing takes no revision and logs nothing', async (engine) => {
        await commitOk(engine, txn([put('a', '1')]));
        const recorder = record(engine);
        try {
          const noop = await commitOk(engine, txn([del('absent')]));
          assert.equal(noop.revision, 1);
          assert.deepEqual(noop.deleted, []);
          assert.deepEqual(noop.puts, []);
          assert.equal((await commitOk(engine, txn([]))).revision, 1);
          assert.equal((await commitOk(engine, txn([], [{ key: 'a', kind: 'exists' }]))).revision, 1);
          assert.equal((await commitOk(engine, txn([del('absent'), expire('absent'), expire('a')]))).revision, 1);
          assert.equal(await engine.revision(), 1);
          assert.deepEqual((await engine.history(1, 100)).events, []);
          // A later real commit is the next revision, and the only thing subscribers saw.
          assert.equal((await commitOk(engine, txn([put('b', '1')]))).revision, 2);
          await waitFor(() => recorder.events.length >= 1, 'the event of revision 2');
          assert.deepEqual(recorder.events.map(eventCore), [{ type: 'put', key: 'b', revision: 2, version: 1 }]);
        } finally {
          recorder.stop();
        }
      });

      test('updates increment version and keep createRevision; delete then put starts a new incarnation', async (engine) => {
        await commitOk(engine, txn([put('k', '1')]), T0); // 1
        await commitOk(engine, txn([put('other', '1')]), T0); // 2
        const second = await commitOk(engine, txn([put('k', '2', { contentType: 'text/csv' })]), T0 + 1); // 3
        assert.deepEqual(meta(second.puts[0]!), {
          key: 'k',
          size: 1,
          createRevision: 1,
          modRevision: 3,
          version: 2,
          updated: T0 + 1,
          expires: null,
          contentType: 'text/csv',
        });
        const removed = await commitOk(engine, txn([del('k')])); // 4
        assert.deepEqual(removed.deleted, ['k']);
        assert.equal(await engine.get('k', T0), undefined);
        const again = await commitOk(engine, txn([put('k', '3')])); // 5
        assert.deepEqual(
          [again.puts[0]!.createRevision, again.puts[0]!.modRevision, again.puts[0]!.version],
          [5, 5, 1],
        );
      });

      describe('conditions', () => {
        test('version: holds on the exact version; version 0 means absent', async (engine) => {
          await commitOk(engine, txn([put('k', '1')])); // k v1
          await commitOk(engine, txn([put('k', '2')], [{ key: 'k', kind: 'version', version: 1 }])); // k v2
          const stale = await commitRefused(engine, txn([put('k', 'x')], [{ key: 'k', kind: 'version', version: 1 }]));
          assert.equal(stale.failed, 0);
          assert.equal(stale.current?.version, 2);
          assert.equal(stale.current?.key, 'k');
          const notAbsent = await commitRefused(
            engine,
            txn([put('k', 'x')], [{ key: 'k', kind: 'version', version: 0 }]),
          );
          assert.equal(notAbsent.current?.version, 2);
          const created = await commitOk(engine, txn([put('new', 'v')], [{ key: 'new', kind: 'version', version: 0 }]));
          assert.equal(created.puts[0]!.version, 1);
          const missing = await commitRefused(
            engine,
            txn([put('nope', 'v')], [{ key: 'nope', kind: 'version', version: 1 }]),
          );
          assert.equal(missing.current, undefined);
          assert.equal(text(await engine.get('k', T0)), '2');
          assert.equal(await engine.get('nope', T0), undefined);
        });

        test('modRevision: holds on the exact modRevision', async (engine) => {
          await commitOk(engine, txn([put('k', '1')])); // 1
          await commitOk(engine, txn([put('other', '1')])); // 2
          const refused = await commitRefused(
            engine,
            txn([put('k', 'x')], [{ key: 'k', kind: 'modRevision', modRevision: 2 }]),
          );
          assert.equal(refused.current?.modRevision, 1);
          const ok = await commitOk(engine, txn([put('k', '2')], [{ key: 'k', kind: 'modRevision', modRevision: 1 }]));
          assert.equal(ok.revision, 3);
          await commitRefused(engine, txn([put('k', 'x')], [{ key: 'k', kind: 'modRevision', modRevision: 1 }]));
          await commitOk(engine, txn([put('k', '3')], [{ key: 'k', kind: 'modRevision', modRevision: 3 }]));
          await commitRefused(
            engine,
            txn([put('absent', 'x')], [{ key: 'absent', kind: 'modRevision', modRevision: 3 }]),
          );
        });

        test('absent and exists', async (engine) => {
          await commitOk(engine, txn([put('here', 'v')]));
          await commitOk(engine, txn([put('new', 'v')], [{ key: 'new', kind: 'absent' }]));
          const taken = await commitRefused(engine, txn([put('here', 'x')], [{ key: 'here', kind: 'absent' }]));
          assert.equal(taken.current?.key, 'here');
          assert.equal(taken.current?.version, 1);
          await commitOk(engine, txn([put('here', 'y')], [{ key: 'here', kind: 'exists' }]));
          const gone = await commitRefused(engine, txn([put('ghost', 'x')], [{ key: 'ghost', kind: 'exists' }]));
          assert.equal(gone.current, undefined);
          assert.equal(await engine.get('ghost', T0), undefined);
          assert.equal(text(await engine.get('here', T0)), 'y');
        });

        test('an expired key counts as absent to every kind of condition', async (engine) => {
          await commitOk(engine, txn([put('t', 'v', { expires: T0 + 100 })]), T0); // t v1, modRevision 1
          const later = T0 + 100;
          await commitRefused(engine, txn([put('x', '1')], [{ key: 't', kind: 'exists' }]), later);
          await commitRefused(engine, txn([put('x', '1')], [{ key: 't', kind: 'version', version: 1 }]), later);
          await commitRefused(engine, txn([put('x', '1')], [{ key: 't', kind: 'modRevision', modRevision: 1 }]), later);
          const versionZero = await commitOk(
            engine,
            txn([put('x', '1')], [{ key: 't', kind: 'version', version: 0 }]),
            later,
          );
          assert.equal(versionZero.revision, 2);
          await commitOk(engine, txn([put('x', '2')], [{ key: 't', kind: 'absent' }]), later);
          // Before its expiry the same key is present.
          await commitOk(engine, txn([put('y', '1')], [{ key: 't', kind: 'exists' }]), T0 + 99);
        });

        test('the first failing condition is reported with the current state of its key; nothing is written', async (engine) => {
          await commitOk(engine, txn([put('a', '1'), put('b', '1'), put('c', '1')])); // 1
          await commitOk(engine, txn([put('b', '2')])); // 2
          const recorder = record(engine);
          try {
            const refused = await commitRefused(
              engine,
              txn(
                [put('a', 'changed'), del('c'), put('d', 'new')],
                [
                  { key: 'a', kind: 'exists' },
                  { key: 'a', kind: 'version', version: 1 },
                  { key: 'b', kind: 'version', version: 1 },
                  { key: 'zzz', kind: 'exists' },
                ],
              ),
            );
            assert.equal(refused.failed, 2);
            assert.deepEqual(
              refused.current && [
                refused.current.key,
                refused.current.version,
                refused.current.modRevision,
                refused.current.createRevision,
              ],
              ['b', 2, 2, 1],
            );
            const missing = await commitRefused(
              engine,
              txn(
                [put('a', 'changed')],
                [
                  { key: 'a', kind: 'exists' },
                  { key: 'zzz', kind: 'exists' },
                ],
              ),
            );
            assert.equal(missing.failed, 1);
            assert.equal(missing.current, undefined);
            assert.equal(await engine.revision(), 2);
            assert.deepEqual((await engine.getMany(['a', 'c', 'd'], T0)).map(text), ['1', '1', undefined]);
            assert.deepEqual((await engine.history(2, 100)).events, []);
            await commitOk(engine, txn([put('sentinel', 'v')]));
            await waitFor(() => recorder.events.length >= 1, 'the sentinel event');
            assert.deepEqual(recorder.events.map(eventCore), [
              { type: 'put', key: 'sentinel', revision: 3, version: 1 },
            ]);
          } finally {
            recorder.stop();
          }
        });
      });

      test('several operations on one key in one transaction: later ones see earlier ones', async (engine) => {
        const twice = await commitOk(engine, txn([put('k', 'first'), put('k', 'second')]));
        assert.equal(twice.revision, 1);
        assert.deepEqual(
          twice.puts.map((info) => [info.key, info.version, info.createRevision, info.modRevision, info.size]),
          [
            ['k', 1, 1, 1, 5],
            ['k', 2, 1, 1, 6],
          ],
        );
        const stored = await engine.get('k', T0);
        assert.equal(text(stored), 'second');
        assert.deepEqual(meta(stored!), meta(twice.puts[1]!));

        const putThenDelete = await commitOk(engine, txn([put('gone', 'v'), del('gone')]));
        assert.equal(putThenDelete.revision, 2);
        assert.equal(await engine.get('gone', T0), undefined);

        const deleteThenPut = await commitOk(engine, txn([del('k'), put('k', 'reborn')]));
        assert.equal(deleteThenPut.revision, 3);
        assert.deepEqual(deleteThenPut.deleted, ['k']);
        const reborn = await engine.get('k', T0);
        assert.equal(text(reborn), 'reborn');
        assert.deepEqual([reborn!.version, reborn!.createRevision, reborn!.modRevision], [1, 3, 3]);

        const events = (await engine.history(0, 100)).events.map(eventCore);
        assert.deepEqual(events, [
          { type: 'put', key: 'k', revision: 1, version: 1 },
          { type: 'put', key: 'k', revision: 1, version: 2 },
          { type: 'put', key: 'gone', revision: 2, version: 1 },
          { type: 'delete', key: 'gone', revision: 2, version: 0 },
          { type: 'delete', key: 'k', revision: 3, version: 0 },
          { type: 'put', key: 'k', revision: 3, version: 1 },
        ]);
        assert.equal(await engine.count(), 1);
      });

      test('a put over an expired key starts a new incarnation', async (engine) => {
        await commitOk(engine, txn([put('t', 'old', { expires: T0 + 100 })]), T0); // 1
        await commitOk(engine, txn([put('t', 'old2', { keepExpires: true })]), T0 + 50); // 2: t v2
        const fresh = await commitOk(engine, txn([put('t', 'new')]), T0 + 100); // 3
        assert.deepEqual(
          [fresh.puts[0]!.createRevision, fresh.puts[0]!.modRevision, fresh.puts[0]!.version, fresh.puts[0]!.expires],
          [3, 3, 1, null],
        );
        const stored = await engine.get('t', T0 + 100);
        assert.equal(text(stored), 'new');
        assert.equal(stored?.version, 1);
        assert.equal(stored?.createRevision, 3);
      });

      test("keepExpires keeps a live key's expiry, and is ignored for absent or expired keys", async (engine) => {
        await commitOk(engine, txn([put('k', '1', { expires: T0 + 10_000 })]), T0);
        const kept = await commitOk(engine, txn([put('k', '2', { keepExpires: true })]), T0 + 1);
        assert.equal(kept.puts[0]!.expires, T0 + 10_000);
        assert.equal((await engine.get('k', T0 + 1))?.expires, T0 + 10_000);
        // keepExpires wins over a given expiry when the key is live.
        const keptOverGiven = await commitOk(
          engine,
          txn([put('k', '3', { keepExpires: true, expires: T0 + 99 })]),
          T0 + 2,
        );
        assert.equal(keptOverGiven.puts[0]!.expires, T0 + 10_000);
        const cleared = await commitOk(engine, txn([put('k', '4')]), T0 + 3);
        assert.equal(cleared.puts[0]!.expires, null);
        assert.equal((await engine.get('k', T0 + 20_000))?.expires, null, 'a cleared expiry no longer applies');

        const absent = await commitOk(engine, txn([put('a', '1', { keepExpires: true, expires: T0 + 500 })]), T0);
        assert.equal(absent.puts[0]!.expires, T0 + 500);
        const absentNoExpiry = await commitOk(engine, txn([put('b', '1', { keepExpires: true })]), T0);
        assert.equal(absentNoExpiry.puts[0]!.expires, null);

        await commitOk(engine, txn([put('e', '1', { expires: T0 + 100 })]), T0);
        const overExpired = await commitOk(engine, txn([put('e', '2', { keepExpires: true })]), T0 + 200);
        assert.equal(overExpired.puts[0]!.expires, null);
        assert.equal(overExpired.puts[0]!.version, 1);
        assert.equal(text(await engine.get('e', T0 + 10_000)), '2');
      });

      test('deleting an expired key records an expire event and does not report it as deleted', async (engine) => {
        await commitOk(engine, txn([put('t', 'v', { expires: T0 + 100 }), put('live', 'v')]), T0); // 1
        const result = await commitOk(engine, txn([del('t'), del('live')]), T0 + 100); // 2
        assert.equal(result.revision, 2);
        assert.deepEqual(result.deleted, ['live']);
        const events = (await engine.history(1, 10)).events.map(eventCore);
        assert.deepEqual(events, [
          { type: 'expire', key: 't', revision: 2, version: 0 },
          { type: 'delete', key: 'live', revision: 2, version: 0 },
        ]);
        assert.equal(await engine.count(), 0);
        assert.deepEqual(await engine.expired(T0 + 100, 10), []);
      });

      test('the expire operation removes only keys that have expired', async (engine) => {
        await commitOk(
          engine,
          txn([put('t', 'v', { expires: T0 + 100 }), put('u', 'v', { expires: T0 + 200 }), put('n', 'v')]),
          T0,
        ); // 1
        const early = await commitOk(engine, txn([expire('t'), expire('u'), expire('n'), expire('absent')]), T0 + 99);
        assert.equal(early.revision, 1, 'nothing had expired, so nothing changed');
        assert.equal(await engine.count(), 3);
        const swept = await commitOk(engine, txn([expire('t'), expire('u'), expire('n')]), T0 + 150); // 2
        assert.equal(swept.revision, 2);
        assert.equal(await engine.count(), 2);
        assert.deepEqual((await engine.history(1, 10)).events.map(eventCore), [
          { type: 'expire', key: 't', revision: 2, version: 0 },
        ]);
        assert.equal(text(await engine.get('u', T0 + 150)), 'v');
        assert.equal(text(await engine.get('n', T0 + 150)), 'v');
        assert.equal(await engine.get('t', T0), undefined, 'removed for good, even for an earlier `now`');
      });

      test('events carry the value only up to logValueMax bytes', async (engine) => {
        const small = Buffer.alloc(LOG_VALUE_MAX, 0xab);
        const big = Buffer.alloc(LOG_VALUE_MAX + 1, 0xcd);
        const recorder = record(engine);
        try {
          await commitOk(
            engine,
            txn([
              put('small', small, { contentType: 'application/octet-stream', expires: T0 + 9000 }),
              put('big', big),
            ]),
            T0,
          );
          await commitOk(engine, txn([put('empty', Buffer.alloc(0))]), T0);
          await waitFor(() => recorder.events.length >= 3, 'three put events');
          const fromHistory = (await engine.history(0, 10)).events;
          for (const events of [recorder.events, fromHistory]) {
            assert.deepEqual(events.map(eventCore), [
              { type: 'put', key: 'small', revision: 1, version: 1 },
              { type: 'put', key: 'big', revision: 1, version: 1 },
              { type: 'put', key: 'empty', revision: 2, version: 1 },
            ]);
            const [smallEvent, bigEvent, emptyEvent] = events;
            assert.ok(Buffer.isBuffer(smallEvent!.value), 'a logged value is a Buffer');
            assert.ok(smallEvent!.value.equals(small));
            assert.equal(smallEvent!.contentType, 'application/octet-stream');
            assert.equal(smallEvent!.expires, T0 + 9000);
            assert.equal(bigEvent!.value, undefined);
            assert.ok(
              emptyEvent!.value !== undefined && emptyEvent!.value.length === 0,
              'an empty value is logged as empty',
            );
          }
        } finally {
          recorder.stop();
        }
      });

      test('concurrent commits with the same version condition: exactly one succeeds', async (engine) => {
        await commitOk(engine, txn([put('k', 'start')]));
        const contenders = 40;
        const results = await Promise.all(
          Array.from({ length: contenders }, (_, index) =>
            engine.commit(
              txn(
                [put('k', `writer ${index}`), put(`mark/${index}`, 'v')],
                [{ key: 'k', kind: 'version', version: 1 }],
              ),
              T0,
            ),
          ),
        );
        const winners = results.flatMap((result, index) => (result.ok ? [index] : []));
        assert.equal(winners.length, 1, `winners: ${JSON.stringify(winners)}`);
        const winner = winners[0]!;
        for (const result of results) {
          if (result.ok) continue;
          assert.equal(result.failed, 0);
          assert.equal(result.current?.version, 2, "a loser sees the winner's write");
        }
        const stored = await engine.get('k', T0);
        assert.equal(text(stored), `writer ${winner}`);
        assert.equal(stored?.version, 2);
        assert.equal(await engine.revision(), 2);
        assert.deepEqual(
          (await engine.list({ prefix: 'mark/', limit: 100 }, T0)).items.map((item) => item.key),
          [`mark/${winner}`],
        );
      });

      test('concurrent creates with an absent condition: exactly one succeeds; unconditional commits all land', async (engine) => {
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, index) =>
            engine.commit(txn([put('lock', String(index))], [{ key: 'lock', kind: 'absent' }]), T0),
          ),
        );
        assert.equal(results.filter((result) => result.ok).length, 1);
        const blind = await Promise.all(
          Array.from({ length: 30 }, (_, index) => commitOk(engine, txn([put('counter', String(index))]))),
        );
        const revisions = blind.map((result) => result.revision).sort((a, b) => a - b);
        assert.deepEqual(
          revisions,
          Array.from({ length: 30 }, (_, index) => index + 2),
        );
        const stored = await engine.get('counter', T0);
        assert.equal(stored?.version, 30);
        assert.equal(stored?.modRevision, 31);
        const last = blind.find((result) => result.revision === 31)!;
        assert.equal(text(stored), String(blind.indexOf(last)));
      });
    });

    describe('history', () => {
      test('events come in revision order, one batch per `limit` revisions, and page without gaps', async (engine) => {
        await commitOk(engine, txn([put('a', '1')])); // 1
        await commitOk(engine, txn([put('b', '1'), put('c', '1')])); // 2
        await commitOk(engine, txn([del('a')])); // 3
        await commitOk(engine, txn([put('b', '2')])); // 4
        const all = await engine.history(0, 100);
        assert.equal(all.revision, 4);
        const expected = [
          { type: 'put', key: 'a', revision: 1, version: 1 },
          { type: 'put', key: 'b', revision: 2, version: 1 },
          { type: 'put', key: 'c', revision: 2, version: 1 },
          { type: 'delete', key: 'a', revision: 3, version: 0 },
          { type: 'put', key: 'b', revision: 4, version: 2 },
        ];
        assert.deepEqual(all.events.map(eventCore), expected);
        assert.deepEqual((await engine.history(1, 100)).events.map(eventCore), expected.slice(1));
        assert.deepEqual((await engine.history(0, 2)).events.map(eventCore), expected.slice(0, 3));
        assert.deepEqual((await engine.history(2, 1)).events.map(eventCore), expected.slice(3, 4));
        assert.deepEqual((await engine.history(4, 100)).events, []);
        assert.equal((await engine.history(4, 100)).revision, 4);

        const paged: ChangeEvent[] = [];
        let since = 0;
        for (;;) {
          const page = await engine.history(since, 1);
          if (page.events.length === 0) break;
          assert.equal(new Set(page.events.map((event) => event.revision)).size, 1, 'limit 1 = one revision');
          paged.push(...page.events);
          since = page.events[page.events.length - 1]!.revision;
        }
        assert.deepEqual(paged.map(eventCore), expected);
        assert.equal(await engine.oldestRevision(), 1);
      });

      test(
        'once the log is longer than logLength, older history is compacted',
        async (engine) => {
          for (let index = 1; index <= 4; index++) await commitOk(engine, txn([put(`k${index}`, 'v')]));
          assert.equal(await engine.oldestRevision(), 1);
          assert.equal((await engine.history(0, 100)).events.length, 4);

          for (let index = 5; index <= 12; index++) await commitOk(engine, txn([put(`k${index}`, 'v')]));
          const oldest = await engine.oldestRevision();
          assert.ok(oldest > 1, `oldest revision ${oldest} should have moved past 1`);
          assert.ok(oldest <= 12 - SHORT_LOG.logLength + 1, `at least logLength revisions are kept (oldest ${oldest})`);
          const kept = await engine.history(oldest - 1, 100);
          assert.deepEqual(
            kept.events.map((event) => event.revision),
            Array.from({ length: 12 - oldest + 1 }, (_, index) => oldest + index),
          );
          assert.deepEqual(
            kept.events.map((event) => event.key),
            Array.from({ length: 12 - oldest + 1 }, (_, index) => `k${oldest + index}`),
          );
          for (const since of [0, oldest - 2]) {
            await assert.rejects(engine.history(since, 100), (error: unknown) => {
              assert.ok(error instanceof HistoryCompactedError, `expected HistoryCompactedError, got ${String(error)}`);
              assert.equal(error.oldestAvailable, oldest);
              return true;
            });
          }
          // Reads of the data itself are unaffected by compaction.
          assert.equal((await engine.list({ prefix: 'k', limit: 100 }, T0)).items.length, 12);
        },
        SHORT_LOG,
      );
    });

    describe('subscribe', () => {
      test('delivers every committed revision once, in order, for many commits started in the same tick', async (engine) => {
        const recorder = record(engine);
        try {
          const commits = 120;
          const results = await Promise.all(
            Array.from({ length: commits }, (_, index) =>
              commitOk(
                engine,
                txn(
                  index % 3 === 0 ? [put(`s/${index}`, 'v'), put('s/shared', String(index))] : [put(`s/${index}`, 'v')],
                ),
              ),
            ),
          );
          const expectedKeys = new Map<number, string[]>();
          results.forEach((result, _index) =>
            expectedKeys.set(
              result.revision,
              result.puts.map((info) => info.key),
            ),
          );
          assert.equal(expectedKeys.size, commits, 'every commit got its own revision');
          await waitFor(() => recorder.events.some((event) => event.revision === commits), `revision ${commits}`);
          // Anything still in flight is delivered before the sentinel, which comes after everything.
          await commitOk(engine, txn([put('sentinel', 'v')]));
          await waitFor(() => recorder.events.some((event) => event.key === 'sentinel'), 'the sentinel');

          const revisions = recorder.events.map((event) => event.revision);
          const distinct = [...new Set(revisions)];
          assert.deepEqual(
            distinct,
            Array.from({ length: commits + 1 }, (_, index) => index + 1),
          );
          for (let index = 1; index < revisions.length; index++)
            assert.ok(revisions[index]! >= revisions[index - 1]!, 'ascending');
          for (const [revision, keys] of expectedKeys) {
            assert.deepEqual(
              recorder.events.filter((event) => event.revision === revision).map((event) => event.key),
              keys,
              `events of revision ${revision}`,
            );
          }
        } finally {
          recorder.stop();
        }
      });

      test('several subscribers each get everything; unsubscribe stops delivery', async (engine) => {
        const first = record(engine);
        const second = record(engine);
        try {
          await commitOk(engine, txn([put('a', '1')]));
          await commitOk(engine, txn([put('b', '1'), del('a')]));
          await waitFor(() => first.events.length >= 3 && second.events.length >= 3, 'both subscribers');
          const expected = [
            { type: 'put', key: 'a', revision: 1, version: 1 },
            { type: 'put', key: 'b', revision: 2, version: 1 },
            { type: 'delete', key: 'a', revision: 2, version: 0 },
          ];
          assert.deepEqual(first.events.map(eventCore), expected);
          assert.deepEqual(second.events.map(eventCore), expected);
          first.stop();
          await commitOk(engine, txn([put('c', '1')]));
          await waitFor(() => second.events.length >= 4, 'the second subscriber');
          assert.equal(first.events.length, 3, 'an unsubscribed listener gets nothing more');
        } finally {
          first.stop();
          second.stop();
        }
      });
    });

    describe('expired', () => {
      test('lists keys whose expiry has passed, oldest expiry first, up to the limit', async (engine) => {
        await commitOk(
          engine,
          txn([
            put('k300', 'v', { expires: T0 + 300 }),
            put('k100', 'v', { expires: T0 + 100 }),
            put('never', 'v'),
            put('k200', 'v', { expires: T0 + 200 }),
            put('k1000', 'v', { expires: T0 + 1000 }),
          ]),
        ); // 1
        await commitOk(engine, txn([put('k150', 'v', { expires: T0 + 150 })])); // 2
        const keys = async (now: number, limit = 10) => (await engine.expired(now, limit)).map((item) => item.key);
        assert.deepEqual(await keys(T0 + 99), []);
        assert.deepEqual(await keys(T0 + 250), ['k100', 'k150', 'k200']);
        assert.deepEqual(await keys(T0 + 300), ['k100', 'k150', 'k200', 'k300'], 'expires <= now counts');
        assert.deepEqual(await keys(T0 + 300, 2), ['k100', 'k150']);
        assert.deepEqual(await engine.expired(T0 + 160, 10), [
          { key: 'k100', modRevision: 1 },
          { key: 'k150', modRevision: 2 },
        ]);

        await commitOk(engine, txn([put('k100', 'renewed', { expires: T0 + 5000 })]), T0 + 50); // 3: still live then
        await commitOk(engine, txn([put('k150', 'persisted')]), T0 + 50); // 4: no expiry now
        await commitOk(engine, txn([expire('k200')]), T0 + 250); // 5
        await commitOk(engine, txn([del('k300')]), T0 + 250); // 6
        assert.deepEqual(await keys(T0 + 1000), ['k1000']);
        assert.deepEqual(await keys(T0 + 5000), ['k1000', 'k100']);
      });
    });

    describe('system records', () => {
      test('put, get, list by prefix in key order, delete; the generation changes with every change', async (engine) => {
        const system = engine.system;
        const start = system.generation();
        assert.deepEqual(system.list(''), []);
        assert.equal(system.get('token/a'), undefined);
        await system.put('token/b', Buffer.from('B'));
        const afterPut = system.generation();
        assert.notEqual(afterPut, start);
        await system.put('token/a', Buffer.from([0, 255, 1]));
        await system.put('other/x', Buffer.from('X'));
        assert.deepEqual(system.get('token/a'), Buffer.from([0, 255, 1]));
        assert.deepEqual(
          system.list('token/').map(({ key, value }) => [key, value.toString('latin1')]),
          [
            ['token/a', '\x00\xff\x01'],
            ['token/b', 'B'],
          ],
        );
        assert.equal(system.list('').length, 3);
        const beforeDelete = system.generation();
        assert.equal(await system.delete('token/a'), true);
        assert.notEqual(system.generation(), beforeDelete);
        assert.equal(system.get('token/a'), undefined);
        assert.equal(await system.delete('token/a'), false, 'deleting an absent record says so');
        await system.put('token/b', Buffer.from('B2'));
        assert.deepEqual(system.get('token/b'), Buffer.from('B2'), 'a put replaces');
      });

      test("system records are in no user read, listing, count, revision, history or feed, and user keys don't touch them", async (engine) => {
        const delivered: ChangeEvent[] = [];
        const unsubscribe = engine.subscribe((events) => delivered.push(...events));
        try {
          await engine.system.put('token/x', Buffer.from('secret-ish'));
          await engine.system.put('x', Buffer.from('same name as a user key'));
          assert.equal(await engine.get('token/x', T0), undefined);
          assert.equal(await engine.get('x', T0), undefined);
          assert.deepEqual((await engine.list({ prefix: '', limit: 100 }, T0)).items, []);
          assert.deepEqual((await engine.listEntries({ prefix: '', limit: 100 }, T0)).items, []);
          assert.equal(await engine.count(), 0);
          assert.deepEqual(await engine.recentlyModified(10, T0), []);
          await commitOk(engine, txn([put('x', 'user'), put('token/x', 'user too')])); // 1
          assert.deepEqual(engine.system.get('x'), Buffer.from('same name as a user key'));
          assert.deepEqual(engine.system.get('token/x'), Buffer.from('secret-ish'));
          await commitOk(engine, txn([del('x'), del('token/x')])); // 2
          assert.equal(engine.system.list('').length, 2, 'deleting user keys leaves system records');
          await engine.system.delete('x');
          const page = await engine.history(0, 100);
          assert.deepEqual(
            page.events.map((event) => `${event.type} ${event.key}`),
            ['put x', 'put token/x', 'delete x', 'delete token/x'],
          );
          await waitFor(() => delivered.length >= 4, 'the feed delivers the two user commits');
          assert.deepEqual(
            delivered.map((event) => `${event.type} ${event.key}`),
            ['put x', 'put token/x', 'delete x', 'delete token/x'],
          );
        } finally {
          unsubscribe();
        }
      });
    });

    describe('greatestKey', () => {
      test('answers the greatest stored key in key order, following puts and deletes', async (engine) => {
        assert.equal(await engine.greatestKey(), undefined);
        await commitOk(engine, txn([put('m', 'x'), put('b/2', 'x'), put('\u{1F600}', 'x'), put('\uFFFD', 'x')]));
        // UTF-8 byte order: U+1F600 (F0 ...) after U+FFFD (EF ...), though its UTF-16 form sorts first.
        assert.equal(await engine.greatestKey(), '\u{1F600}');
        await commitOk(engine, txn([del('\u{1F600}')]));
        assert.equal(await engine.greatestKey(), '\uFFFD');
        await commitOk(engine, txn([del('\uFFFD'), put('z', 'x')]));
        assert.equal(await engine.greatestKey(), 'z');
      });
    });

    describe('folder counts', () => {
      test('count the keys stored under each folder, at every indexed depth', async (engine) => {
        await commitOk(
          engine,
          txn([put('a/1', 'x'), put('a/2', 'x'), put('a/b/1', 'x'), put('b/1', 'x'), put('top', 'x')]),
        );
        await commitOk(engine, txn([put('a/', 'the folder itself is a key too'), put('/lead', 'x')]));
        assert.deepEqual(await engine.folderCounts(['a/', 'a/b/', 'b/', 'c/', '/']), [4, 1, 1, 0, 1]);
        // Not folders: no '/' at the end, or deeper than the index goes.
        const deep = `${'d/'.repeat(FOLDER_INDEX_DEPTH + 1)}`;
        await commitOk(engine, txn([put(`${deep}k`, 'x')]));
        assert.deepEqual(await engine.folderCounts(['a', 'top', '', deep, 'd/'.repeat(FOLDER_INDEX_DEPTH)]), [
          undefined,
          undefined,
          undefined,
          undefined,
          1,
        ]);
      });

      test('an overwrite keeps the count, a delete or an expiry lowers it, a refused commit changes nothing', async (engine) => {
        await commitOk(engine, txn([put('f/1', 'x'), put('f/2', 'x', { expires: T0 + 10 }), put('f/g/3', 'x')]));
        await commitOk(engine, txn([put('f/1', 'y')]));
        assert.deepEqual(await engine.folderCounts(['f/', 'f/g/']), [3, 1]);
        // Expired but not swept: still stored, still counted (like count()). etcd deletes it itself.
        if (!engine.expiresNatively) assert.deepEqual(await engine.folderCounts(['f/']), [3]);
        // Rewritten after its expiry and before a sweep: the same stored key, counted once.
        await commitOk(engine, txn([put('f/2', 'again')]), T0 + 20);
        assert.deepEqual(await engine.folderCounts(['f/']), [3]);
        await commitRefused(engine, txn([del('f/1'), put('f/new', 'x')], [{ key: 'f/1', kind: 'absent' }]));
        assert.deepEqual(await engine.folderCounts(['f/']), [3]);
        await commitOk(engine, txn([del('f/g/3')]));
        assert.deepEqual(await engine.folderCounts(['f/', 'f/g/']), [2, 0]);
        await commitOk(engine, txn([put('f/3', 'x', { expires: T0 + 10 })]), T0);
        await commitOk(engine, txn([expire('f/3')]), T0 + 20);
        assert.deepEqual(await engine.folderCounts(['f/']), [2]);
        // Created and deleted in one transaction: never stored.
        await commitOk(engine, txn([put('f/brief', 'x'), del('f/brief')]));
        await commitOk(engine, txn([del('f/missing')]));
        assert.deepEqual(await engine.folderCounts(['f/']), [2]);
      });

      it('concurrent commits leave every count equal to the keys stored (seeded property)', async () => {
        const folders = ['p/', 'p/q/', 'p/q/r/', 's/'];
        const keyArb = fc.constantFrom('p/1', 'p/2', 'p/q/1', 'p/q/2', 'p/q/r/1', 's/1', 's/2', 'top');
        const opArb = fc.oneof(
          keyArb.map((key) => put(key, 'v')),
          keyArb.map((key) => put(key, 'v', { expires: T0 - 1 })),
          keyArb.map((key) => del(key)),
          keyArb.map((key) => expire(key)),
        );
        // Each round: some transactions issued together (they group-commit), then checked.
        const roundsArb = fc.array(
          fc.array(fc.array(opArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
          {
            minLength: 1,
            maxLength: 5,
          },
        );
        await fc.assert(
          fc.asyncProperty(roundsArb, async (rounds) => {
            const opened = await open(ROOMY_LOG);
            try {
              for (const round of rounds) {
                await Promise.all(round.map((operations) => opened.engine.commit(txn(operations), T0)));
                // now = 0: nothing has expired yet, so the listing shows every stored key.
                const stored = (await opened.engine.list({ prefix: '', limit: 100 }, 0)).items.map((item) => item.key);
                const expected = folders.map((folder) => stored.filter((key) => key.startsWith(folder)).length);
                assert.deepEqual(await opened.engine.folderCounts(folders), expected);
              }
            } finally {
              await opened.cleanup();
            }
          }),
          { seed: 20261130, numRuns: 15 },
        );
      });

      if (traits.durable)
        it('folder counts survive close + reopen', async () => {
          const opened = await open(ROOMY_LOG);
          try {
            await commitOk(opened.engine, txn([put('k/1', 'x'), put('k/2', 'x'), put('k/l/1', 'x')]));
            await commitOk(opened.engine, txn([del('k/2')]));
            await opened.engine.close();
            const reopened = await opened.reopen!();
            assert.deepEqual(await reopened.folderCounts(['k/', 'k/l/']), [2, 1]);
            await commitOk(reopened, txn([put('k/3', 'x')]));
            assert.deepEqual(await reopened.folderCounts(['k/', 'k/l/']), [3, 1]);
            await reopened.close();
          } finally {
            await opened.cleanup();
          }
        });
    });
    describeAuditConformance(open, { durable: traits.durable, boundedBySize: traits.auditBoundedBySize ?? true });
    if (traits.keyHistory ?? true)
      describeHistoryConformance(open, { durable: traits.durable, pointInTime: traits.pointInTime ?? true });

    describe('close', () => {
      test('close resolves and may be called twice', async (engine) => {
        await commitOk(engine, txn([put('a', '1')]));
        await engine.close();
        await engine.close();
      });
    });

    // An engine that keeps nothing across close (memory) has no such test, rather than a skipped one.
    if (traits.durable)
      describe('durability across close and reopen', () => {
        it('data, revision, change log, compaction point and expiry survive close + reopen', async () => {
          const opened = await open(SHORT_LOG);
          try {
            if (opened.reopen === undefined)
              throw new Error(`the ${name} factory has no reopen, but the engine is declared durable`);
            const { engine } = opened;
            const bytes = allBytes();
            await commitOk(
              engine,
              txn([put('bin', bytes, { contentType: 'application/octet-stream' }), put('uni/\u{1F600}', 'smile')]),
              T0,
            ); // 1
            await commitOk(engine, txn([put('ttl', 'v', { expires: T0 + 1000 }), put('gone', 'v')]), T0 + 1); // 2
            await commitOk(engine, txn([del('gone')]), T0 + 2); // 3
            for (let index = 0; index < 5; index++)
              await commitOk(engine, txn([put('counter', String(index))]), T0 + 3); // 4..8
            const before = {
              revision: await engine.revision(),
              oldest: await engine.oldestRevision(),
              entries: (await engine.listEntries({ prefix: '', limit: 100 }, T0 + 10)).items.map((entry) => ({
                ...meta(entry),
                value: entry.value.toString('hex'),
              })),
              expired: await engine.expired(T0 + 1000, 10),
            };
            const history = (await engine.history(before.oldest - 1, 100)).events.map(eventCore);
            assert.equal(before.revision, 8);
            assert.deepEqual(before.expired, [{ key: 'ttl', modRevision: 2 }]);
            await engine.close();

            const reopened = await opened.reopen();
            assert.equal(await reopened.revision(), before.revision);
            assert.equal(await reopened.oldestRevision(), before.oldest);
            assert.deepEqual(
              (await reopened.listEntries({ prefix: '', limit: 100 }, T0 + 10)).items.map((entry) => ({
                ...meta(entry),
                value: entry.value.toString('hex'),
              })),
              before.entries,
            );
            assert.ok((await reopened.get('bin', T0))?.value.equals(bytes));
            assert.equal(text(await reopened.get('ttl', T0 + 999)), 'v');
            assert.equal(await reopened.get('ttl', T0 + 1000), undefined);
            assert.deepEqual(await reopened.expired(T0 + 1000, 10), before.expired);
            assert.deepEqual((await reopened.history(before.oldest - 1, 100)).events.map(eventCore), history);
            await assert.rejects(reopened.history(before.oldest - 2, 100), HistoryCompactedError);

            const next = await commitOk(
              reopened,
              txn([put('counter', 'after')], [{ key: 'counter', kind: 'version', version: 5 }]),
              T0 + 20,
            );
            assert.equal(next.revision, 9);
            assert.equal(next.puts[0]!.version, 6);
            assert.equal(await reopened.count(), before.entries.length);
            await reopened.close();
          } finally {
            await opened.cleanup();
          }
        });

        it('system records survive close + reopen', async () => {
          const opened = await open(ROOMY_LOG);
          try {
            await opened.engine.system.put('token/kept', Buffer.from('kept'));
            await opened.engine.system.put('token/gone', Buffer.from('gone'));
            await opened.engine.system.delete('token/gone');
            await opened.engine.close();
            const reopened = await opened.reopen!();
            assert.deepEqual(
              reopened.system.list('').map(({ key, value }) => `${key}=${value.toString()}`),
              ['token/kept=kept'],
            );
            await reopened.close();
          } finally {
            await opened.cleanup();
          }
        });
      });
  });
}
