// The service's audit query (docs/audit.md): admin tokens on every key only, the key/prefix/token
// filters, and the bound on entries examined per answer (AUDIT_SCAN_MAX) with a cursor to go on;
// the origin it records for each caller; the retention flags' parsing and bounds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import {
  ConfigError,
  defaultConfig,
  MIN_AUDIT_MAX_AGE_MS,
  MIN_AUDIT_MAX_BYTES,
  parseDuration,
  validateConfig,
} from '../../src/core/config.js';
import { KvsError } from '../../src/core/errors.js';
import { defaultLimits } from '../../src/core/limits.js';
import { AUDIT_SCAN_MAX, KvService } from '../../src/core/service.js';
import { parseTokenFile, TokenStore } from '../../src/core/tokens.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';

const T0 = 1_700_000_000_000;

function setup() {
  const engine = new MemoryEngine({ logLength: 100, logValueMax: 0 });
  const service = new KvService(engine, {
    limits: defaultLimits,
    privateReads: false,
    tokens: new TokenStore(parseTokenFile('admin-token admin\nwrite-token write\nnarrow-admin admin app/\n')),
    authLimiter: new AuthFailureLimiter(10, 60_000, () => T0),
    clock: () => T0,
  });
  return { engine, service };
}

describe('KvService.audit', () => {
  it('records the caller: token id (never the secret), label, front end, address', async () => {
    const { service } = setup();
    const writer = service.authenticate('write-token', '192.0.2.7', 'resp');
    await service.put(writer, 'k', Buffer.from('v'));
    const admin = service.authenticate('admin-token', '::1');
    const { entries } = await service.audit(admin, { limit: 10 });
    assert.equal(entries.length, 1);
    const { tokenId, label, via, address } = entries[0]!;
    assert.match(tokenId!, /^file:[0-9a-f]{12}$/);
    assert.ok(!JSON.stringify(entries).includes('write-token'));
    assert.deepEqual({ label, via, address }, { label: 'token#2(write)', via: 'resp', address: '192.0.2.7' });
  });

  it('is for admin tokens on every key', async () => {
    const { service } = setup();
    const refuse = async (token: string) =>
      assert.rejects(service.audit(service.authenticate(token, 'x'), { limit: 10 }), (error: unknown) => {
        assert.ok(error instanceof KvsError);
        assert.equal(error.code, 'forbidden');
        return true;
      });
    await refuse('write-token');
    await refuse('narrow-admin');
  });

  it(`examines at most ${AUDIT_SCAN_MAX} entries per answer and gives a cursor to go on`, async () => {
    const { service } = setup();
    const writer = service.authenticate('write-token', 'x');
    const admin = service.authenticate('admin-token', 'x');
    await service.put(admin, 'needle', Buffer.from('v'));
    for (let index = 0; index < AUDIT_SCAN_MAX + 500; index++)
      await service.put(writer, `hay${index}`, Buffer.from('v'));
    const first = await service.audit(admin, { key: 'needle', limit: 10 });
    assert.deepEqual(first.entries, []);
    assert.equal(first.next, AUDIT_SCAN_MAX + 501 - AUDIT_SCAN_MAX + 1);
    const second = await service.audit(admin, { key: 'needle', before: first.next!, limit: 10 });
    assert.deepEqual(
      second.entries.map((entry) => entry.revision),
      [1],
    );
    assert.equal(second.next, null);
    const byPrefix = await service.audit(admin, { prefix: 'hay1', limit: 3 });
    assert.deepEqual(
      byPrefix.entries.map((entry) => entry.keys[0]),
      ['hay10499', 'hay10498', 'hay10497'],
    );
    assert.equal(byPrefix.next, byPrefix.entries[2]!.revision);
  });
});

describe('audit retention flags', () => {
  it('parses durations with units', () => {
    assert.equal(parseDuration('--audit-max-age', '30d'), 30 * 86_400_000);
    assert.equal(parseDuration('--audit-max-age', '12h'), 12 * 3_600_000);
    assert.equal(parseDuration('--audit-max-age', '90000'), 90_000);
    assert.throws(() => parseDuration('--audit-max-age', '1 week'), ConfigError);
  });

  it('refuses bounds below the minimum, naming the flag', () => {
    const withRetention = (maxBytes: number, maxAgeMs: number) => () =>
      validateConfig({ ...defaultConfig, auditRetention: { maxBytes, maxAgeMs } });
    assert.throws(withRetention(MIN_AUDIT_MAX_BYTES - 1, 86_400_000), /--audit-max-bytes/);
    assert.throws(withRetention(MIN_AUDIT_MAX_BYTES, MIN_AUDIT_MAX_AGE_MS - 1), /--audit-max-age/);
    validateConfig({
      ...defaultConfig,
      auditRetention: { maxBytes: MIN_AUDIT_MAX_BYTES, maxAgeMs: MIN_AUDIT_MAX_AGE_MS },
    });
  });
});
