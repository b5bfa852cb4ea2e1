// The audit trail over a real server (docs/audit.md): every write path leaves exactly one new
// audit entry with the right token id, label, front end and revision, for a token-file token and
// a minted one, in one table; GET /v1/audit is for admin tokens on every key; no secret appears
// in its answers or in the store's files; acknowledged writes keep their entries across kill -9
// (the WAL replay); the query string never makes it answer 5xx (fast-check, seeded).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { AuditEntryJson, AuditPageJson } from '../../src/model/http-json.js';
import { newToken, removeDir, startServer, tempDir } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';
import { RespTestClient } from '../resp/resp-test-client.js';

const ADMIN = newToken();
const WRITER = newToken();
/** A token-file token's audit id: `file:` and 12 hex digits of its SHA-256 (docs/tokens.md). */
const fileId = (token: string) => `file:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;

async function auditPage(url: string, token: string, query = ''): Promise<AuditPageJson> {
  const response = await fetch(`${url}/v1/audit${query}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as AuditPageJson;
}

/** The entries newer than `after`, oldest first. */
async function entriesAfter(url: string, afterRevision: number): Promise<AuditEntryJson[]> {
  const page = await auditPage(url, ADMIN, '?limit=1000');
  return page.entries.filter((entry) => entry.revision > afterRevision).reverse();
}

async function newestRevision(url: string): Promise<number> {
  return (await auditPage(url, ADMIN, '?limit=1')).entries[0]?.revision ?? 0;
}

function bearer(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...extra };
}

async function ok(response: Promise<Response>): Promise<void> {
  const answer = await response;
  assert.ok(answer.status < 300, `${answer.status} ${await answer.text()}`);
}

describe('audit trail: every write path leaves exactly one entry', () => {
  const server = useServer({
    tokenFileText: `${ADMIN} admin\n${WRITER} write\n`,
    token: ADMIN,
    args: ['--resp-port', '0', '--sweep-interval-ms', '50'],
  });
  let minted: { secret: string; id: string };
  let resp: RespTestClient;
  let respMinted: RespTestClient;

  before(async () => {
    const response = await fetch(`${server.url}/v1/tokens`, {
      method: 'POST',
      headers: bearer(ADMIN, { 'content-type': 'application/json' }),
      body: JSON.stringify({ label: 'deploy bot', scope: 'write' }),
    });
    assert.equal(response.status, 201);
    const body = (await response.json()) as { id: string; token: string };
    minted = { secret: body.token, id: body.id };
    resp = await RespTestClient.connect(server.respPort!);
    assert.equal(await resp.do('AUTH', WRITER), '+OK');
    respMinted = await RespTestClient.connect(server.respPort!);
    assert.equal(await respMinted.do('AUTH', minted.secret), '+OK');
  });
  after(() => {
    resp?.close();
    respMinted?.close();
  });

  type Who = 'writer' | 'minted';
  interface Row {
    readonly name: string;
    readonly who: Who;
    readonly via: string;
    readonly keys: readonly string[];
    readonly write: () => Promise<unknown>;
  }
  const secretOf = (who: Who) => (who === 'writer' ? WRITER : minted.secret);
  const rows: Row[] = [];
  for (const who of ['writer', 'minted'] as const) {
    const tag = who === 'writer' ? 'w' : 'm';
    const client = () => (who === 'writer' ? resp : respMinted);
    rows.push(
      {
        name: 'seed POST /',
        who,
        via: 'seed',
        keys: [`${tag}seed1`, `${tag}seed2`],
        write: () =>
          ok(
            fetch(`${server.url}/`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: `${tag}seed1=a&${tag}seed2=b&auth=${encodeURIComponent(secretOf(who))}`,
            }),
          ),
      },
      {
        name: 'PUT /v1/kv',
        who,
        via: 'v1',
        keys: [`${tag}put`],
        write: () =>
          ok(fetch(`${server.url}/v1/kv/${tag}put`, { method: 'PUT', headers: bearer(secretOf(who)), body: 'v' })),
      },
      {
        name: 'PUT /v1/kv with a query (the route, not the fast path)',
        who,
        via: 'v1',
        keys: [`${tag}put2`],
        write: () =>
          ok(
            fetch(`${server.url}/v1/kv/${tag}put2?ttl=3600`, {
              method: 'PUT',
              headers: bearer(secretOf(who)),
              body: 'v',
            }),
          ),
      },
      {
        name: 'PUT from the web UI',
        who,
        via: 'ui',
        keys: [`${tag}ui`],
        write: () =>
          ok(
            fetch(`${server.url}/v1/kv/${tag}ui`, {
              method: 'PUT',
              headers: bearer(secretOf(who), { 'x-kvs-client': 'ui' }),
              body: 'v',
            }),
          ),
      },
      {
        name: 'DELETE /v1/kv',
        who,
        via: 'v1',
        keys: [`${tag}put`],
        write: () => ok(fetch(`${server.url}/v1/kv/${tag}put`, { method: 'DELETE', headers: bearer(secretOf(who)) })),
      },
      {
        name: 'POST /v1/txn',
        who,
        via: 'txn',
        keys: [`${tag}txn1`, `${tag}put2`],
        write: () =>
          ok(
            fetch(`${server.url}/v1/txn`, {
              method: 'POST',
              headers: bearer(secretOf(who), { 'content-type': 'application/json' }),
              body: JSON.stringify({
                checks: [{ key: `${tag}put2`, exists: true }],
                operations: [
                  { op: 'put', key: `${tag}txn1`, value: 'x' },
                  { op: 'delete', key: `${tag}put2` },
                ],
              }),
            }),
          ),
      },
      { name: 'RESP SET', who, via: 'resp', keys: [`${tag}r1`], write: () => client().do('SET', `${tag}r1`, 'v') },
      { name: 'RESP DEL', who, via: 'resp', keys: [`${tag}r1`], write: () => client().do('DEL', `${tag}r1`) },
      { name: 'RESP INCR', who, via: 'resp', keys: [`${tag}n`], write: () => client().do('INCR', `${tag}n`) },
      {
        name: 'RESP MSET',
        who,
        via: 'resp',
        keys: [`${tag}ma`, `${tag}mb`],
        write: () => client().do('MSET', `${tag}ma`, '1', `${tag}mb`, '2'),
      },
      {
        name: 'RESP MULTI/EXEC',
        who,
        via: 'resp',
        keys: [`${tag}x1`, `${tag}x2`],
        write: async () => {
          assert.equal(await client().do('MULTI'), '+OK');
          await client().do('SET', `${tag}x1`, 'a');
          await client().do('SET', `${tag}x2`, 'b');
          return client().do('EXEC');
        },
      },
      {
        name: 'POST /v1/kv/{key}?revert=',
        who,
        via: 'revert',
        keys: [`${tag}ma`],
        write: () =>
          ok(fetch(`${server.url}/v1/kv/${tag}ma?revert=1`, { method: 'POST', headers: bearer(secretOf(who)) })),
      },
      {
        name: 'POST /v1/restore',
        who,
        via: 'restore',
        keys: [`${tag}x1`, `${tag}x2`],
        write: async () => {
          // Back to before MULTI/EXEC created them: one commit that deletes both.
          const created = await fetch(`${server.url}/v1/kv/${tag}x1`, { headers: bearer(secretOf(who)) });
          const before = Number(created.headers.get('kvs-create-revision')) - 1;
          return ok(
            fetch(`${server.url}/v1/restore?to=${before}&prefix=${tag}x`, {
              method: 'POST',
              headers: bearer(secretOf(who)),
            }),
          );
        },
      },
    );
  }

  for (const row of rows) {
    it(`${row.name} (${row.who === 'writer' ? 'token-file token' : 'minted token'})`, async () => {
      const before = await newestRevision(server.url);
      await row.write();
      const added = await entriesAfter(server.url, before);
      assert.equal(added.length, 1, JSON.stringify(added));
      const entry = added[0]!;
      assert.deepEqual(
        { tokenId: entry.tokenId, label: entry.label, via: entry.via, keys: entry.keys, keyCount: entry.keyCount },
        {
          tokenId: row.who === 'writer' ? fileId(WRITER) : minted.id,
          label: row.who === 'writer' ? 'token#2(write)' : 'deploy bot',
          via: row.via,
          keys: row.keys,
          keyCount: row.keys.length,
        },
      );
      assert.equal(entry.revision, before + 1, 'the next revision: one commit');
      assert.match(entry.address ?? '', /127\.0\.0\.1$/);
      assert.equal(new Date(entry.time).getTime(), entry.timeMs);
    });
  }

  it('a refused write (failed check) leaves no entry', async () => {
    const before = await newestRevision(server.url);
    const response = await fetch(`${server.url}/v1/kv/wseed1`, {
      method: 'PUT',
      headers: bearer(WRITER, { 'if-match': '"99"' }),
      body: 'x',
    });
    assert.equal(response.status, 412);
    assert.deepEqual(await entriesAfter(server.url, before), []);
  });

  it('a TTL expiry by the sweeper leaves one entry of its own (via expiry, no token)', async () => {
    await ok(fetch(`${server.url}/v1/kv/short?ttl=1`, { method: 'PUT', headers: bearer(WRITER), body: 'v' }));
    const before = await newestRevision(server.url);
    let added: AuditEntryJson[] = [];
    // The key expires after a second; the sweeper runs every 50 ms. Bounded: 10 s.
    for (let attempt = 0; attempt < 100 && added.length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      added = await entriesAfter(server.url, before);
    }
    assert.equal(added.length, 1, JSON.stringify(added));
    assert.deepEqual(
      {
        tokenId: added[0]!.tokenId,
        label: added[0]!.label,
        via: added[0]!.via,
        address: added[0]!.address,
        keys: added[0]!.keys,
      },
      { tokenId: null, label: null, via: 'expiry', address: null, keys: ['short'] },
    );
  });

  it('filters by key, prefix and token, and pages with next', async () => {
    const byKey = await auditPage(server.url, ADMIN, '?key=wput2');
    assert.deepEqual(
      byKey.entries.map((entry) => entry.via),
      ['txn', 'v1'],
    );
    const byPrefix = await auditPage(server.url, ADMIN, '?prefix=ms');
    assert.deepEqual(
      byPrefix.entries.map((entry) => entry.keys[0]),
      ['mseed1'],
    );
    const byToken = await auditPage(server.url, ADMIN, `?token=${encodeURIComponent(minted.id)}`);
    assert.equal(byToken.entries.length, rows.length / 2);
    const seen: number[] = [];
    let query = '?limit=3';
    for (let page = 0; page < 100; page++) {
      const answer = await auditPage(server.url, ADMIN, query);
      seen.push(...answer.entries.map((entry) => entry.revision));
      if (answer.next === null) break;
      query = `?limit=3&before=${answer.next}`;
    }
    const all = (await auditPage(server.url, ADMIN, '?limit=1000')).entries.map((entry) => entry.revision);
    assert.deepEqual(seen, all);
  });

  it('is in the OpenAPI document', async () => {
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok('/v1/audit' in openapi.paths);
  });

  it('is for admin tokens on every key: 401 without a token, 403 for a write token', async () => {
    assert.equal((await fetch(`${server.url}/v1/audit`)).status, 401);
    const refused = await fetch(`${server.url}/v1/audit`, { headers: bearer(WRITER) });
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'forbidden');
  });

  it('answers a bad query with invalid_audit_query naming the field', async () => {
    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?before=x', 'before'],
      ['?since=yesterday', 'since'],
      ['?until=-5', 'until'],
      ['?key=a&prefix=b', 'prefix'],
      ['?limit=1&limit=2', 'limit'],
      ['?token=a&token=b', 'token'],
    ] as const) {
      const response = await fetch(`${server.url}/v1/audit${query}`, { headers: bearer(ADMIN) });
      assert.equal(response.status, 400, query);
      const body = (await response.json()) as { error: { code: string; field: string } };
      assert.deepEqual(
        { code: body.error.code, field: body.error.field },
        { code: 'invalid_audit_query', field },
        query,
      );
    }
  });

  it('never shows a secret, and the store files hold no minted secret nor token-file token', async () => {
    const answer = await (await fetch(`${server.url}/v1/audit?limit=1000`, { headers: bearer(ADMIN) })).text();
    for (const secret of [ADMIN, WRITER, minted.secret]) assert.ok(!answer.includes(secret));
    const files: string[] = [];
    const walk = (directory: string, depth: number): void => {
      for (const name of readdirSync(directory)) {
        const path = join(directory, name);
        if (statSync(path).isDirectory()) {
          if (depth < 4) walk(path, depth + 1);
        } else if (path !== server.tokenFile) files.push(path);
      }
    };
    walk(server.dataDir, 0);
    assert.ok(files.length > 0);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of [ADMIN, WRITER, minted.secret])
        assert.equal(bytes.indexOf(secret), -1, `${file} holds a secret`);
    }
  });

  it('the query string never makes it answer 5xx (fast-check, seeded)', async () => {
    const seed = Number(process.env.KVS_FUZZ_SEED ?? Date.now() % 1_000_000);
    const field = fc.constantFrom('key', 'prefix', 'token', 'since', 'until', 'before', 'limit', 'other');
    const value = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer({ min: -10, max: 2 ** 53 }).map(String),
      fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
      fc.constantFrom('', '%', '%ff', '%00', '1e3', '0x10', 'NaN', '9'.repeat(40)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(field, value), { maxLength: 5 }), async (pairs) => {
        const query = pairs.map(([name, text]) => `${name}=${encodeURIComponent(text)}`).join('&');
        const response = await fetch(`${server.url}/v1/audit?${query}`, { headers: bearer(ADMIN) });
        await response.arrayBuffer();
        assert.ok(response.status < 500, `${response.status} for ?${query} (seed ${seed})`);
      }),
      { numRuns: 150, seed },
    );
  });
});

describe('audit trail: acknowledged writes keep their entries across kill -9', () => {
  it('every acknowledged write has its entry after a restart (WAL replay)', async () => {
    const dataDir = tempDir('kvs-audit-kill');
    try {
      const first = await startServer({ dataDir, tokenFileText: `${ADMIN} admin\n${WRITER} write\n` });
      const revisions: number[] = [];
      try {
        for (let index = 0; index < 30; index++) {
          const response = await fetch(`${first.url}/v1/kv/k${index}`, {
            method: 'PUT',
            headers: bearer(index % 2 === 0 ? ADMIN : WRITER),
            body: `v${index}`,
          });
          assert.equal(response.status, 201);
          revisions.push(index + 1);
        }
      } finally {
        await first.kill9();
      }
      const second = await startServer({ dataDir, tokenFileText: `${ADMIN} admin\n${WRITER} write\n` });
      try {
        const entries = (await auditPage(second.url, ADMIN, '?limit=100')).entries.reverse();
        assert.deepEqual(
          entries.map((entry) => [entry.revision, entry.tokenId, entry.keys[0]]),
          revisions.map((revision, index) => [revision, fileId(index % 2 === 0 ? ADMIN : WRITER), `k${index}`]),
        );
      } finally {
        await second.stop();
      }
    } finally {
      removeDir(dataDir);
    }
  });
});
