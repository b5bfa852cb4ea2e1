// KvService over the in-memory engine with real tokens and the real auth-failure limiter: input
// validation, limits, authorization, conditional writes, transactions, TTL, and the
// WatchHub on top of it. Time comes from an injected clock, never from sleeping.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import { KvsError, type ErrorCode } from '../../src/core/errors.js';
import { defaultLimits, type Limits } from '../../src/core/limits.js';
import type { ChangeEvent } from '../../src/model/events.js';
import type { Entry } from '../../src/model/entry.js';
import { anonymous, KvService, type Caller } from '../../src/core/service.js';
import { parseTokenFile, TokenStore } from '../../src/core/tokens.js';
import { WatchHub, type WatchEndReason, type WatchSink } from '../../src/core/watch-hub.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';

const T0 = 1_700_000_000_000;

const TOKEN_FILE = `
# a bare token is a write token (the seed's auth.txt)
bare-token
read-token read
write-token write
admin-token admin
app-token write app/,shared/
app-reader read app/
`;

class TestClock {
  constructor(public time: number) {}
  readonly now = (): number => this.time;
}

/** A memory engine whose revision() can run a hook right after reading, to force races. */
class HookedEngine extends MemoryEngine {
  afterRevision: (() => void) | undefined;

  override async revision(): Promise<number> {
    const revision = await super.revision();
    const hook = this.afterRevision;
    this.afterRevision = undefined;
    hook?.();
    return revision;
  }
}

interface Setup {
  readonly service: KvService;
  readonly engine: HookedEngine;
  readonly clock: TestClock;
  readonly limits: Limits;
  readonly as: (token: string) => Caller;
  readonly writer: Caller;
}

function setup(options: { limits?: Partial<Limits>; privateReads?: boolean; logLength?: number } = {}): Setup {
  const clock = new TestClock(T0);
  const limits: Limits = { ...defaultLimits, ...options.limits };
  const engine = new HookedEngine({ logLength: options.logLength ?? 100_000, logValueMax: 1024 });
  const service = new KvService(engine, {
    limits,
    privateReads: options.privateReads ?? false,
    tokens: new TokenStore(parseTokenFile(TOKEN_FILE)),
    authLimiter: new AuthFailureLimiter(limits.authFailures, limits.authFailureWindowMs, clock.now),
    clock: clock.now,
  });
  const as = (token: string) => service.authenticate(token, 'setup');
  return { service, engine, clock, limits, as, writer: as('write-token') };
}

function isKvsError(code: ErrorCode, check?: (error: KvsError) => void) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof KvsError, `expected KvsError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    check?.(error);
    return true;
  };
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  check?: (error: KvsError) => void,
): Promise<void> {
  await assert.rejects(promise, isKvsError(code, check));
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const text = (entry: Entry | undefined): string | undefined => entry?.value.toString('utf8');

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('KvService', () => {
  describe('key validation', () => {
    it('refuses the empty key everywhere, with nothing written', async () => {
      const { service, writer } = setup();
      await rejectsWith(service.get(anonymous, ''), 'invalid_key');
      await rejectsWith(service.put(writer, '', bytes('v')), 'invalid_key');
      await rejectsWith(service.delete(writer, ''), 'invalid_key');
      await rejectsWith(
        service.putMany(writer, [
          ['ok', bytes('v')],
          ['', bytes('v')],
        ]),
        'invalid_key',
      );
      await rejectsWith(
        service.txnCountingItems(writer, [], [{ type: 'put', key: '', value: bytes('v') }]),
        'invalid_key',
      );
      assert.equal(await service.revision(), 0);
    });

    it('refuses keys with a lone surrogate (not encodable as UTF-8) and accepts surrogate pairs', async () => {
      const { service, writer } = setup();
      for (const key of ['a\uD800', '\uDC00b', 'x\uDBFF\uDBFFy', '\uDE00\uD83D', 'pair\uD83D\uDE00\uD800']) {
        await rejectsWith(service.put(writer, key, bytes('v')), 'invalid_key', (error) =>
          assert.equal(error.status, 400),
        );
        await rejectsWith(service.get(anonymous, key), 'invalid_key');
      }
      await rejectsWith(service.list(anonymous, '\uD800', undefined, 10), 'invalid_key');
      assert.equal(await service.revision(), 0);
      await service.put(writer, 'emoji \uD83D\uDE00', bytes('ok'));
      assert.equal(text(await service.get(anonymous, 'emoji 😀')), 'ok');
    });

    it('measures key length in UTF-8 bytes: multi-byte keys exactly at the limit pass, one byte over fail', async () => {
      const { service, writer, limits } = setup();
      assert.equal(limits.maxKeyBytes, 1024);
      const atLimit = [
        'a'.repeat(1024),
        'é'.repeat(512),
        `${'€'.repeat(341)}a`,
        '😀'.repeat(256),
        `a${'😀'.repeat(255)}€`,
      ];
      const overLimit = [
        'a'.repeat(1025),
        `${'é'.repeat(512)}a`,
        '€'.repeat(342),
        `${'😀'.repeat(256)}a`,
        `${'😀'.repeat(255)}€€`,
      ];
      for (const key of atLimit) {
        assert.equal(Buffer.byteLength(key), 1024);
        await service.put(writer, key, bytes('v'));
        assert.equal(text(await service.get(anonymous, key)), 'v');
      }
      const revision = await service.revision();
      for (const key of overLimit) {
        const size = Buffer.byteLength(key);
        assert.ok(size > 1024 && size <= 1026);
        await rejectsWith(service.put(writer, key, bytes('v')), 'key_too_long', (error) => {
          assert.deepEqual(error.details, { limit: 1024, size });
          assert.equal(error.status, 400);
        });
        await rejectsWith(service.get(anonymous, key), 'key_too_long');
        await rejectsWith(service.delete(writer, key), 'key_too_long');
      }
      assert.equal(await service.revision(), revision, 'nothing written');
    });

    it('follows a configured key limit', async () => {
      const { service, writer } = setup({ limits: { maxKeyBytes: 8 } });
      await service.put(writer, 'ключ', bytes('v')); // 8 bytes
      await rejectsWith(service.put(writer, 'ключи', bytes('v')), 'key_too_long', (error) =>
        assert.deepEqual(error.details, { limit: 8, size: 10 }),
      );
    });
  });

  describe('value, batch and transaction limits', () => {
    const limits = { maxValueBytes: 100, maxBatch: 5, maxBodyBytes: 250 };

    it('value_too_large above maxValueBytes, with nothing written', async () => {
      const { service, writer } = setup({ limits });
      await service.put(writer, 'fits', Buffer.alloc(100));
      await rejectsWith(service.put(writer, 'big', Buffer.alloc(101)), 'value_too_large', (error) => {
        assert.equal(error.status, 413);
        assert.deepEqual(error.details, { limit: 100, size: 101 });
      });
      await rejectsWith(
        service.putMany(writer, [
          ['a', bytes('1')],
          ['b', Buffer.alloc(101)],
        ]),
        'value_too_large',
      );
      await rejectsWith(
        service.txnCountingItems(writer, [], [{ type: 'put', key: 'c', value: Buffer.alloc(101) }]),
        'value_too_large',
      );
      await service.put(writer, 'counter', bytes('1'));
      await rejectsWith(
        service.txnCountingKeys(
          writer,
          [{ key: 'counter', kind: 'exists' }],
          [{ type: 'put', key: 'counter', value: Buffer.alloc(101) }],
        ),
        'value_too_large',
      );
      assert.equal(await service.revision(), 2);
      assert.deepEqual((await service.getMany(anonymous, ['big', 'a', 'b', 'c'])).map(text), [
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      assert.equal(text(await service.get(anonymous, 'counter')), '1');
    });

    it('batch_too_large above maxBatch keys or operations', async () => {
      const { service, writer } = setup({ limits });
      const pairs = (count: number) => Array.from({ length: count }, (_, index) => [`k${index}`, bytes('v')] as const);
      await service.putMany(writer, pairs(5));
      const revision = await service.revision();
      await rejectsWith(
        service.putMany(
          writer,
          pairs(6).map(([key, value]) => [`new/${key}`, value] as const),
        ),
        'batch_too_large',
        (error) => {
          assert.equal(error.status, 413);
          assert.deepEqual(error.details, { limit: 5, size: 6 });
        },
      );
      await rejectsWith(service.getMany(anonymous, ['a', 'b', 'c', 'd', 'e', 'f']), 'batch_too_large');
      assert.equal((await service.getMany(anonymous, ['k0', 'k1', 'k2', 'k3', 'k4'])).filter(Boolean).length, 5);
      await rejectsWith(
        service.txnCountingItems(
          writer,
          [
            { key: 'k0', kind: 'exists' },
            { key: 'k1', kind: 'exists' },
            { key: 'k2', kind: 'exists' },
          ],
          [
            { type: 'put', key: 'x', value: bytes('1') },
            { type: 'put', key: 'y', value: bytes('1') },
            { type: 'delete', key: 'k3' },
          ],
        ),
        'batch_too_large',
      );
      assert.equal(await service.revision(), revision);
      assert.equal(await service.get(anonymous, 'new/k0'), undefined);
      assert.equal(await service.get(anonymous, 'x'), undefined);
    });

    it('txn_too_large when the operations together exceed maxBodyBytes', async () => {
      const { service, writer } = setup({ limits });
      const operations = ['a', 'b', 'c'].map((key) => ({ type: 'put' as const, key, value: Buffer.alloc(90) }));
      await rejectsWith(service.txnCountingItems(writer, [], operations), 'txn_too_large', (error) => {
        assert.equal(error.status, 413);
        assert.deepEqual(error.details, { limit: 250, size: 273 });
      });
      assert.equal(await service.revision(), 0);
      const fits = await service.txnCountingItems(writer, [], operations.slice(0, 2));
      assert.equal(fits.revision, 1);
    });

    it('refuses a content type that is not printable ASCII', async () => {
      const { service, writer } = setup();
      await rejectsWith(
        service.put(writer, 'k', bytes('v'), { contentType: 'text/plain\r\nX-Evil: 1' }),
        'bad_request',
      );
      await rejectsWith(service.put(writer, 'k', bytes('v'), { contentType: 'x'.repeat(256) }), 'bad_request');
      const info = await service.put(writer, 'k', bytes('v'), { contentType: 'application/json; charset=utf-8' });
      assert.equal(info.contentType, 'application/json; charset=utf-8');
    });
  });

  describe('authorization', () => {
    it('public reads: anyone reads, writes need a token', async () => {
      const { service, writer } = setup();
      await service.put(writer, 'k', bytes('v'));
      assert.equal(text(await service.get(anonymous, 'k')), 'v');
      assert.equal((await service.getMany(anonymous, ['k'])).length, 1);
      assert.deepEqual(
        (await service.list(anonymous, '', undefined, 10)).items.map((item) => item.key),
        ['k'],
      );
      assert.equal((await service.recentlyModified(anonymous, 10)).length, 1);
      await rejectsWith(service.put(anonymous, 'k', bytes('x')), 'auth_required', (error) =>
        assert.equal(error.status, 401),
      );
      await rejectsWith(service.delete(anonymous, 'k'), 'auth_required');
      await rejectsWith(service.putMany(anonymous, [['k', bytes('x')]]), 'auth_required');
      await rejectsWith(service.txnCountingItems(anonymous, [], [{ type: 'delete', key: 'k' }]), 'auth_required');
      await rejectsWith(
        service.txnCountingKeys(anonymous, [], [{ type: 'put', key: 'k', value: bytes('x') }]),
        'auth_required',
      );
      assert.equal(text(await service.get(anonymous, 'k')), 'v');
    });

    it('private reads: reading needs a token too', async () => {
      const { service, writer, as } = setup({ privateReads: true });
      await service.put(writer, 'k', bytes('v'));
      await rejectsWith(service.get(anonymous, 'k'), 'auth_required');
      await rejectsWith(service.getMany(anonymous, ['k']), 'auth_required');
      await rejectsWith(service.list(anonymous, '', undefined, 10), 'auth_required');
      await rejectsWith(service.listEntries(anonymous, '', undefined, 10), 'auth_required');
      assert.deepEqual(await service.recentlyModified(anonymous, 10), []);
      assert.equal(service.mayRead(anonymous, 'k'), false);
      const reader = as('read-token');
      assert.equal(text(await service.get(reader, 'k')), 'v');
      assert.equal((await service.recentlyModified(reader, 10)).length, 1);
    });

    it('a read-only token cannot write', async () => {
      const { service, writer, as } = setup();
      await service.put(writer, 'k', bytes('v'));
      const reader = as('read-token');
      assert.equal(reader.principal?.grant.scope, 'read');
      await rejectsWith(service.put(reader, 'k', bytes('x')), 'forbidden', (error) => assert.equal(error.status, 403));
      await rejectsWith(service.delete(reader, 'k'), 'forbidden');
      await rejectsWith(service.putMany(reader, [['j', bytes('x')]]), 'forbidden');
      await rejectsWith(
        service.txnCountingItems(
          reader,
          [{ key: 'k', kind: 'exists' }],
          [{ type: 'put', key: 'j', value: bytes('x') }],
        ),
        'forbidden',
      );
      await rejectsWith(
        service.txnCountingKeys(reader, [], [{ type: 'put', key: 'k', value: bytes('x') }]),
        'forbidden',
      );
      assert.equal(text(await service.get(reader, 'k')), 'v');
      assert.equal(await service.get(reader, 'j'), undefined);
    });

    it('a bare token line is a write token; only admin passes admin checks', () => {
      const { service, as } = setup();
      const bare = as('bare-token');
      assert.equal(bare.principal?.grant.scope, 'write');
      assert.throws(() => service.authorize(bare, 'admin'), isKvsError('forbidden'));
      assert.throws(() => service.authorize(as('write-token'), 'admin'), isKvsError('forbidden'));
      assert.throws(() => service.authorize(anonymous, 'admin'), isKvsError('auth_required'));
      service.authorize(as('admin-token'), 'admin');
      service.authorize(as('admin-token'), 'write', 'any/key');
    });

    it('a prefix-limited token acts only on keys under its prefixes', async () => {
      const { service, writer, as } = setup({ privateReads: true });
      const app = as('app-token');
      await service.put(app, 'app/x', bytes('1'));
      await service.put(app, 'shared/y', bytes('2'));
      await service.put(writer, 'other', bytes('3'));
      await rejectsWith(service.put(app, 'other', bytes('x')), 'forbidden');
      await rejectsWith(service.put(app, 'ap', bytes('x')), 'forbidden');
      await rejectsWith(service.delete(app, 'other'), 'forbidden');
      await rejectsWith(service.get(app, 'other'), 'forbidden');
      await rejectsWith(service.getMany(app, ['app/x', 'other']), 'forbidden');
      const revision = await service.revision();
      await rejectsWith(
        service.txnCountingItems(
          app,
          [],
          [
            { type: 'put', key: 'app/z', value: bytes('z') },
            { type: 'put', key: 'elsewhere', value: bytes('z') },
          ],
        ),
        'forbidden',
      );
      await rejectsWith(
        service.txnCountingItems(
          app,
          [{ key: 'other', kind: 'exists' }],
          [{ type: 'put', key: 'app/z', value: bytes('z') }],
        ),
        'forbidden',
      );
      assert.equal(await service.revision(), revision, 'nothing written');
      assert.equal(await service.get(app, 'app/z'), undefined);
      // Listings show only what the token may read.
      assert.deepEqual(
        (await service.list(app, '', undefined, 100)).items.map((item) => item.key),
        ['app/x', 'shared/y'],
      );
      assert.deepEqual(
        (await service.listEntries(as('app-reader'), '', undefined, 100)).items.map((item) => item.key),
        ['app/x'],
      );
      assert.deepEqual(
        (await service.recentlyModified(app, 100)).map((item) => item.key),
        ['shared/y', 'app/x'],
      );
      assert.equal(text(await service.get(as('app-reader'), 'app/x')), '1');
      await rejectsWith(service.put(as('app-reader'), 'app/x', bytes('x')), 'forbidden');
    });

    it('an admin token may write anywhere', async () => {
      const { service, as } = setup({ privateReads: true });
      const admin = as('admin-token');
      await service.put(admin, 'anything', bytes('v'));
      await service.txnCountingItems(
        admin,
        [{ key: 'anything', kind: 'exists' }],
        [{ type: 'delete', key: 'anything' }],
      );
      assert.equal(await service.get(admin, 'anything'), undefined);
    });
  });

  describe('authenticate', () => {
    it('no token is anonymous; a known token gives its principal; a wrong one is auth_invalid', () => {
      const { service } = setup();
      assert.equal(service.authenticate(undefined, 'c').principal, undefined);
      assert.equal(service.authenticate('', 'c').principal, undefined);
      assert.equal(service.authenticate('admin-token', 'c').principal?.grant.scope, 'admin');
      assert.deepEqual(service.authenticate('app-token', 'c').principal?.grant.prefixes, ['app/', 'shared/']);
      assert.throws(
        () => service.authenticate('wrong', 'c'),
        isKvsError('auth_invalid', (error) => assert.equal(error.status, 403)),
      );
      assert.throws(() => service.authenticate('write-token ', 'c'), isKvsError('auth_invalid'));
      assert.throws(() => service.authenticate('write-toke', 'c'), isKvsError('auth_invalid'));
    });

    it('after authFailures failures a client gets too_many_auth_failures with Retry-After until the window passes', () => {
      const { service, clock } = setup({ limits: { authFailures: 3, authFailureWindowMs: 60_000 } });
      for (let attempt = 0; attempt < 3; attempt++) {
        assert.throws(() => service.authenticate(`guess-${attempt}`, '10.0.0.1'), isKvsError('auth_invalid'));
        clock.time += 1000;
      }
      // T0+3000: the first failure (T0) leaves the window at T0+60000.
      const refused = (_token: string, retryAfter: number) =>
        isKvsError('too_many_auth_failures', (error) => {
          assert.equal(error.status, 429);
          assert.equal(error.headers['retry-after'], String(retryAfter));
          assert.equal(error.details.retryAfter, retryAfter);
        });
      assert.throws(() => service.authenticate('guess-4', '10.0.0.1'), refused('guess-4', 57));
      assert.throws(
        () => service.authenticate('write-token', '10.0.0.1'),
        refused('write-token', 57),
        'a right token never seen from this address is refused while it is locked',
      );
      // Other clients are unaffected.
      assert.equal(service.authenticate('write-token', '10.0.0.2').principal?.grant.scope, 'write');
      // Anonymous requests need no authentication and are not refused.
      assert.equal(service.authenticate(undefined, '10.0.0.1').principal, undefined);
      clock.time = T0 + 30_000;
      assert.throws(() => service.authenticate('write-token', '10.0.0.1'), refused('write-token', 30));
      clock.time = T0 + 60_000; // the window (fixed, from the first failure) has ended
      assert.equal(service.authenticate('write-token', '10.0.0.1').principal?.grant.scope, 'write');
      for (let attempt = 5; attempt < 8; attempt++)
        assert.throws(() => service.authenticate(`guess-${attempt}`, '10.0.0.1'), isKvsError('auth_invalid'));
      assert.throws(() => service.authenticate('guess-8', '10.0.0.1'), isKvsError('too_many_auth_failures'));
      // write-token authenticated from this address before this lock: it keeps working here.
      assert.equal(service.authenticate('write-token', '10.0.0.1').principal?.grant.scope, 'write');
      assert.throws(() => service.authenticate('admin-token', '10.0.0.1'), isKvsError('too_many_auth_failures'));
    });
  });

  describe('conditional writes', () => {
    it('put with ifVersion and ifAbsent', async () => {
      const { service, writer } = setup();
      const created = await service.put(writer, 'k', bytes('1'), { ifVersion: 0 });
      assert.equal(created.version, 1);
      const updated = await service.put(writer, 'k', bytes('2'), { ifVersion: 1 });
      assert.equal(updated.version, 2);
      await rejectsWith(service.put(writer, 'k', bytes('x'), { ifVersion: 1 }), 'version_mismatch', (error) => {
        assert.equal(error.status, 412);
        assert.deepEqual(error.details, { currentVersion: 2 });
        assert.equal(error.headers.etag, '"2"');
      });
      await rejectsWith(service.put(writer, 'k', bytes('x'), { ifVersion: 0 }), 'version_mismatch', (error) =>
        assert.deepEqual(error.details, { currentVersion: 2 }),
      );
      await rejectsWith(service.put(writer, 'absent', bytes('x'), { ifVersion: 3 }), 'version_mismatch', (error) =>
        assert.deepEqual(error.details, { currentVersion: 0 }),
      );
      await rejectsWith(service.put(writer, 'k', bytes('x'), { ifAbsent: true }), 'key_exists', (error) => {
        assert.equal(error.status, 412);
        assert.deepEqual(error.details, { currentVersion: 2 });
      });
      await rejectsWith(service.put(writer, 'absent', bytes('x'), { ifExists: true }), 'not_found');
      for (const bad of [-1, 1.5, Number.NaN])
        await rejectsWith(service.put(writer, 'k', bytes('x'), { ifVersion: bad }), 'invalid_version');
      assert.equal(text(await service.get(anonymous, 'k')), '2');
      assert.equal(await service.get(anonymous, 'absent'), undefined);
      const fresh = await service.put(writer, 'new', bytes('n'), { ifAbsent: true });
      assert.equal(fresh.version, 1);
    });

    it('delete with ifVersion', async () => {
      const { service, writer } = setup();
      await service.put(writer, 'k', bytes('1'));
      await service.put(writer, 'k', bytes('2'));
      await rejectsWith(service.delete(writer, 'k', { ifVersion: 1 }), 'version_mismatch', (error) =>
        assert.deepEqual(error.details, { currentVersion: 2 }),
      );
      assert.equal(text(await service.get(anonymous, 'k')), '2');
      assert.equal(await service.delete(writer, 'k', { ifVersion: 2 }), 3, 'the revision of the delete');
      assert.equal(await service.get(anonymous, 'k'), undefined);
      assert.equal(await service.delete(writer, 'k'), undefined, 'nothing to delete');
      await rejectsWith(service.delete(writer, 'k', { ifVersion: 2 }), 'version_mismatch', (error) =>
        assert.deepEqual(error.details, { currentVersion: 0 }),
      );
    });

    it('a failing txn check is named and nothing is written', async () => {
      const { service, writer } = setup();
      await service.put(writer, 'a', bytes('1'));
      await service.put(writer, 'b', bytes('1'));
      await service.put(writer, 'b', bytes('2'));
      await rejectsWith(
        service.txnCountingItems(
          writer,
          [
            { key: 'a', kind: 'exists' },
            { key: 'b', kind: 'version', version: 1 },
            { key: 'c', kind: 'absent' },
          ],
          [
            { type: 'put', key: 'c', value: bytes('new') },
            { type: 'delete', key: 'a' },
          ],
        ),
        'txn_check_failed',
        (error) => {
          assert.equal(error.status, 409);
          assert.match(error.message, /Check 1 \("b" has version 1\)/);
          assert.deepEqual(error.details, {
            failed: { index: 1, key: 'b', kind: 'version', version: 1 },
            current: { version: 2, modRevision: 3 },
          });
        },
      );
      assert.equal(await service.revision(), 3);
      assert.equal(await service.get(anonymous, 'c'), undefined);
      assert.equal(text(await service.get(anonymous, 'a')), '1');
      await rejectsWith(
        service.txnCountingKeys(writer, [{ key: 'zz', kind: 'exists' }], [{ type: 'delete', key: 'a' }]),
        'txn_check_failed',
      );
      const done = await service.txnCountingItems(
        writer,
        [
          { key: 'b', kind: 'version', version: 2 },
          { key: 'c', kind: 'absent' },
        ],
        [
          { type: 'put', key: 'c', value: bytes('new') },
          { type: 'delete', key: 'a' },
        ],
      );
      assert.equal(done.revision, 4);
      assert.deepEqual(done.deleted, ['a']);
      assert.deepEqual(
        done.puts.map((info) => info.key),
        ['c'],
      );
    });
  });

  describe('reads', () => {
    it('getMostRecent picks the highest modRevision, not the latest wall-clock time', async () => {
      const { service, writer, clock } = setup();
      clock.time = T0 + 10_000;
      await service.put(writer, 'a', bytes('A')); // revision 1, updated T0+10s
      clock.time = T0; // the clock goes backwards
      await service.put(writer, 'b', bytes('B')); // revision 2, updated T0
      const first = await service.getMostRecent(anonymous, ['a', 'b', 'absent']);
      assert.equal(first?.key, 'b');
      assert.ok(
        first!.updated < (await service.get(anonymous, 'a'))!.updated,
        'the test really has the clock going backwards',
      );
      clock.time = T0 - 60_000;
      await service.put(writer, 'a', bytes('A2')); // revision 3
      assert.equal((await service.getMostRecent(anonymous, ['b', 'a']))?.key, 'a');
      assert.equal(text(await service.getMostRecent(anonymous, ['a', 'b'])), 'A2');
      assert.equal(await service.getMostRecent(anonymous, ['x', 'y']), undefined);
      assert.deepEqual(
        (await service.recentlyModified(anonymous, 10)).map((item) => item.key),
        ['a', 'b'],
      );
    });

    it('list pages carry a cursor to the next page', async () => {
      const { service, writer } = setup();
      await service.putMany(
        writer,
        ['p/1', 'p/2', 'p/3', 'q'].map((key) => [key, bytes(key)] as const),
      );
      const first = await service.list(anonymous, 'p/', undefined, 2);
      assert.deepEqual(
        first.items.map((item) => item.key),
        ['p/1', 'p/2'],
      );
      assert.equal(first.next, 'p/2');
      const second = await service.listEntries(anonymous, 'p/', first.next ?? undefined, 2);
      assert.deepEqual(
        second.items.map((item) => [item.key, text(item)]),
        [['p/3', 'p/3']],
      );
      assert.equal(second.next, null);
      for (const limit of [0, -1, 1.5, defaultLimits.maxListLimit + 1])
        await rejectsWith(service.list(anonymous, '', undefined, limit), 'invalid_cursor');
    });
  });

  describe('TTL', () => {
    it('ttlSeconds sets an expiry relative to the service clock; expired keys are absent', async () => {
      const { service, writer, clock } = setup();
      const info = await service.put(writer, 'session', bytes('s'), { ttlSeconds: 10 });
      assert.equal(info.expires, T0 + 10_000);
      clock.time = T0 + 9_999;
      assert.equal(text(await service.get(anonymous, 'session')), 's');
      clock.time = T0 + 10_000;
      assert.equal(await service.get(anonymous, 'session'), undefined);
      assert.deepEqual((await service.list(anonymous, '', undefined, 10)).items, []);
      // A new write after expiry is a new key.
      const again = await service.put(writer, 'session', bytes('t'), { ifAbsent: true });
      assert.deepEqual([again.version, again.expires], [1, null]);
    });

    it('refuses TTLs that are not positive; expiresAt wins; keepTtl keeps it; txn puts take ttlSeconds', async () => {
      const { service, writer, clock } = setup();
      for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await rejectsWith(service.put(writer, 'k', bytes('v'), { ttlSeconds: ttl }), 'invalid_ttl', (error) =>
          assert.equal(error.status, 400),
        );
      }
      assert.equal(await service.revision(), 0);
      const absolute = await service.put(writer, 'k', bytes('v'), { ttlSeconds: 5, expiresAt: T0 + 123 });
      assert.equal(absolute.expires, T0 + 123);
      const kept = await service.put(writer, 'k', bytes('w'), { keepTtl: true });
      assert.equal(kept.expires, T0 + 123);
      const cleared = await service.put(writer, 'k', bytes('x'));
      assert.equal(cleared.expires, null);
      const result = await service.txnCountingItems(
        writer,
        [],
        [{ type: 'put', key: 't', value: bytes('v'), ttlSeconds: 2 }],
      );
      assert.equal(result.puts[0]!.expires, T0 + 2000);
      clock.time = T0 + 2000;
      assert.equal(await service.get(anonymous, 't'), undefined);
    });
  });

  describe('history', () => {
    it('maps a compacted change log to history_compacted with the oldest revision', async () => {
      const { service, writer } = setup({ logLength: 5 });
      for (let index = 0; index < 10; index++) await service.put(writer, `k${index}`, bytes('v'));
      await rejectsWith(service.history(0, 10), 'history_compacted', (error) => {
        assert.equal(error.status, 410);
        assert.deepEqual(error.details, { oldestRevision: 6 });
      });
      assert.deepEqual(
        (await service.history(5, 10)).events.map((event) => event.revision),
        [6, 7, 8, 9, 10],
      );
    });
  });
});

class CollectingSink implements WatchSink {
  readonly events: ChangeEvent[] = [];
  readonly closes: { reason: WatchEndReason; detail: string | undefined }[] = [];
  constructor(private readonly accept: (events: readonly ChangeEvent[]) => boolean = () => true) {}

  push(events: readonly ChangeEvent[]): boolean {
    this.events.push(...events);
    return this.accept(events);
  }

  close(reason: WatchEndReason, detail?: string): void {
    this.closes.push({ reason, detail });
  }

  revisions(): number[] {
    return this.events.map((event) => event.revision);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe('WatchHub', () => {
  it('replays from `since` and then goes live, without duplicates or gaps, while writes continue', async () => {
    const { service, writer } = setup();
    for (let index = 1; index <= 1200; index++) await service.put(writer, `before/${index}`, bytes(String(index)));
    const hub = new WatchHub(service);
    const sink = new CollectingSink();
    // Writes run alongside the replay (each put yields to the replay between commits).
    const writes = (async () => {
      for (let index = 0; index < 400; index++) await service.put(writer, `during/${index}`, bytes(String(index)));
    })();
    const stop = await hub.watch('', 100, sink);
    try {
      await writes;
      const final = await service.revision();
      assert.equal(final, 1600);
      await waitFor(() => sink.events.at(-1)?.revision === final, 'the last revision');
      assert.deepEqual(sink.revisions(), range(101, final));
      assert.equal(sink.events[0]!.key, 'before/101');
      assert.equal(sink.events.at(-1)!.key, 'during/399');
      assert.deepEqual(sink.closes, []);
    } finally {
      stop();
    }
    assert.equal(hub.size, 0);
  });

  it('a commit that lands while a watch is starting is delivered, for a replaying and for a live-only watch', async () => {
    for (const since of [0, undefined]) {
      for (const before of [0, 3, 500]) {
        const { service, writer, engine } = setup();
        for (let index = 0; index < before; index++) await service.put(writer, `old/${index}`, bytes('v'));
        const hub = new WatchHub(service);
        const sink = new CollectingSink();
        // The racing put commits synchronously inside the engine call, right after the hub read the revision.
        engine.afterRevision = () => void service.put(writer, 'race', bytes('r'));
        const stop = await hub.watch('', since, sink);
        try {
          await service.put(writer, 'after', bytes('a'));
          await waitFor(() => sink.events.some((event) => event.key === 'after'), 'the event after the watch started');
          const expected = since === undefined ? [before + 1, before + 2] : range(since + 1, before + 2);
          assert.deepEqual(sink.revisions(), expected, `since ${String(since)}, ${before} earlier revisions`);
          assert.deepEqual(
            sink.events.slice(-2).map((event) => event.key),
            ['race', 'after'],
          );
        } finally {
          stop();
        }
      }
    }
  });

  it('a live-only watch (no since) starts with the next commit', async () => {
    const { service, writer } = setup();
    await service.put(writer, 'old', bytes('v'));
    const hub = new WatchHub(service);
    const sink = new CollectingSink();
    const stop = await hub.watch('', undefined, sink);
    try {
      await service.put(writer, 'new', bytes('v'));
      await service.delete(writer, 'old');
      await waitFor(() => sink.events.length >= 2, 'two events');
      assert.deepEqual(
        sink.events.map((event) => [event.type, event.key, event.revision]),
        [
          ['put', 'new', 2],
          ['delete', 'old', 3],
        ],
      );
    } finally {
      stop();
    }
  });

  it('filters by key prefix, in replay and live', async () => {
    const { service, writer } = setup();
    await service.put(writer, 'a/1', bytes('v')); // 1
    await service.put(writer, 'b/1', bytes('v')); // 2
    await service.put(writer, 'a/2', bytes('v')); // 3
    const hub = new WatchHub(service);
    const sink = new CollectingSink();
    const stop = await hub.watch('a/', 0, sink);
    try {
      await service.put(writer, 'b/2', bytes('v')); // 4
      await service.txnCountingItems(
        writer,
        [],
        [
          { type: 'put', key: 'b/3', value: bytes('v') },
          { type: 'put', key: 'a/3', value: bytes('v') },
        ],
      ); // 5
      await service.put(writer, 'ab', bytes('v')); // 6
      await service.delete(writer, 'a/1'); // 7
      await waitFor(() => sink.events.some((event) => event.revision === 7), 'revision 7');
      assert.deepEqual(
        sink.events.map((event) => [event.type, event.key, event.revision]),
        [
          ['put', 'a/1', 1],
          ['put', 'a/2', 3],
          ['put', 'a/3', 5],
          ['delete', 'a/1', 7],
        ],
      );
    } finally {
      stop();
    }
  });

  it('a watcher whose sink throws ends alone: the write is acknowledged and other watchers get every event', async () => {
    const { service, writer } = setup();
    const hub = new WatchHub(service);
    const broken = new CollectingSink(() => {
      throw new Error('sink failure');
    });
    const healthy = new CollectingSink();
    const stopBroken = await hub.watch('', undefined, broken);
    const stopHealthy = await hub.watch('', undefined, healthy);
    try {
      for (let index = 0; index < 3; index++) await service.put(writer, `k${index}`, bytes('v'));
      await waitFor(() => healthy.events.length >= 3, 'the healthy watcher');
      assert.deepEqual(
        broken.closes.map((close) => close.reason),
        ['error'],
      );
      assert.equal(hub.size, 1);
    } finally {
      stopBroken();
      stopHealthy();
    }
  });

  it('closes a watcher whose sink reports it is over its bound, with reason lagging', async () => {
    const { service, writer } = setup();
    const hub = new WatchHub(service);
    let accepted = 0;
    const slow = new CollectingSink(() => ++accepted < 3);
    const healthy = new CollectingSink();
    const stopSlow = await hub.watch('', undefined, slow);
    const stopHealthy = await hub.watch('', undefined, healthy);
    try {
      for (let index = 0; index < 6; index++) await service.put(writer, `k${index}`, bytes('v'));
      await waitFor(() => healthy.events.length >= 6, 'the healthy watcher');
      assert.equal(slow.closes.length, 1);
      assert.equal(slow.closes[0]!.reason, 'lagging');
      assert.deepEqual(slow.revisions(), [1, 2, 3], 'nothing more after it lagged');
      assert.deepEqual(healthy.revisions(), range(1, 6));
      assert.deepEqual(healthy.closes, []);
      assert.equal(hub.size, 1);
    } finally {
      stopSlow();
      stopHealthy();
    }
    assert.equal(hub.size, 0);
  });

  it('refuses a `since` older than the change log with history_compacted, and registers nothing', async () => {
    const { service, writer } = setup({ logLength: 5 });
    for (let index = 0; index < 10; index++) await service.put(writer, `k${index}`, bytes('v'));
    const hub = new WatchHub(service);
    const sink = new CollectingSink();
    await rejectsWith(hub.watch('', 2, sink), 'history_compacted', (error) =>
      assert.deepEqual(error.details, { oldestRevision: 6 }),
    );
    assert.equal(hub.size, 0);
    await service.put(writer, 'later', bytes('v'));
    assert.deepEqual(sink.events, []);
    // The later put pushed the log on to revisions 7..11.
    const stop = await hub.watch('', 6, sink);
    try {
      await waitFor(() => sink.events.length >= 5, 'replay up to the later event');
      assert.deepEqual(sink.revisions(), range(7, 11));
    } finally {
      stop();
    }
  });

  it('stop ends delivery; closeAll closes every watcher with shutdown', async () => {
    const { service, writer } = setup();
    const hub = new WatchHub(service);
    const stopped = new CollectingSink();
    const open = new CollectingSink();
    const stop = await hub.watch('', undefined, stopped);
    await hub.watch('', undefined, open);
    await service.put(writer, 'a', bytes('v'));
    stop();
    await service.put(writer, 'b', bytes('v'));
    await waitFor(() => open.events.length >= 2, 'the open watcher');
    assert.deepEqual(stopped.revisions(), [1]);
    hub.closeAll();
    assert.deepEqual(
      open.closes.map((close) => close.reason),
      ['shutdown'],
    );
    assert.deepEqual(stopped.closes, []);
    assert.equal(hub.size, 0);
  });
});
