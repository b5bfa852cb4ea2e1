// /metrics as a Prometheus server scrapes it (docs/observability.md): the text is parsed strictly
// (test/helpers/prometheus-text.ts), the documented families exist with their types, Node's
// process metrics have their stock names, and the counters and histograms move with HTTP and RESP
// traffic. Label values stay bounded: route patterns and command-table names, never a raw URL,
// key or unknown command name.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Family, parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { openSse, type SseStream } from '../helpers/sse-client.js';
import { authed, repoRoot, type ServerProcess, startServer } from '../helpers/server-process.js';
import { RespTestClient } from '../resp/resp-test-client.js';

const packageVersion = (JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string }).version;
/** A key and a command name that must never become label values. */
const RAW_KEY = 'metrics-raw-key-7f3a';
const MADE_UP_COMMAND = 'MADEUPCOMMAND7F3A';

const DOCUMENTED: Record<string, Family['type']> = {
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
  kvs_build_info: 'gauge',
  kvs_http_requests_total: 'counter',
  kvs_http_request_duration_seconds: 'histogram',
  kvs_resp_command_duration_seconds: 'histogram',
  kvs_commit_duration_seconds: 'histogram',
  kvs_auth_failures_total: 'counter',
  kvs_auth_rate_limited_total: 'counter',
  kvs_store_disk_bytes: 'gauge',
  kvs_revision: 'gauge',
  kvs_keys: 'gauge',
  kvs_watchers: 'gauge',
  kvs_resp_connections: 'gauge',
  kvs_wal_records_per_flush: 'gauge',
  kvs_lmdb_commits_per_transaction: 'gauge',
  kvs_lmdb_unapplied_commits: 'gauge',
  kvs_wal_records_total: 'counter',
  kvs_wal_flushes_total: 'counter',
  kvs_lmdb_apply_transactions_total: 'counter',
  kvs_lmdb_applied_commits_total: 'counter',
};

describe('/metrics', () => {
  let server: ServerProcess;
  before(async () => {
    // Two failures lock the address: the third wrong token is rate-limited (429).
    server = await startServer({ args: ['--resp-port', '0', '--auth-failures', '2'] });
  });
  after(async () => {
    await server.stop();
  });

  const scrape = async (): Promise<{ text: string; families: Map<string, Family> }> => {
    const answer = await fetch(`${server.url}/metrics`);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await answer.text();
    return { text, families: parsePrometheusText(text) };
  };
  const count = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
    sampleValue(families, name, labels) ?? 0;

  it('has the documented families with their types, stock process metric names and build info', async () => {
    const { families } = await scrape();
    for (const [name, type] of Object.entries(DOCUMENTED)) {
      assert.equal(families.get(name)?.type, type, `${name} is a ${type}`);
      assert.notEqual(families.get(name)?.help, '', `${name} has help`);
    }
    const prefixed = [...families.keys()].filter(
      (name) => name.startsWith('kvs_process_') || name.startsWith('kvs_nodejs_'),
    );
    assert.deepEqual(prefixed, [], 'no kvs_ prefix on the stock process metrics');
    assert.equal(sampleValue(families, 'kvs_build_info', { version: packageVersion, node: process.version }), 1);
    assert.ok(count(families, 'kvs_store_disk_bytes') > 0, 'the lmdb files take space');
  });

  it('moves with HTTP and RESP traffic, with bounded labels', async () => {
    const { families: before } = await scrape();
    const route = { method: 'GET', route: '/v1/kv/*', status: '200' };
    const put = { method: 'PUT', route: '/v1/kv/*', status: '201' };
    const notFound = { method: 'GET', route: '/v1/kv/*', status: '404' };

    // HTTP: the write and read fast paths, a 404 through the route, an unrouted URL, a wrong token.
    assert.equal(
      (await fetch(`${server.url}/v1/kv/${RAW_KEY}`, authed(server, { method: 'PUT', body: 'v' }))).status,
      201,
    );
    assert.equal((await fetch(`${server.url}/v1/kv/${RAW_KEY}`)).status, 200);
    assert.equal((await fetch(`${server.url}/v1/kv/${RAW_KEY}-missing`)).status, 404);
    assert.equal((await fetch(`${server.url}/no/such/route/${RAW_KEY}`)).status, 404);
    // A watch stream held open while scraping.
    const watch: SseStream = await openSse(`${server.url}/v1/watch?prefix=${RAW_KEY}`);

    // RESP: a read, a write, a command kvs does not know; the connection stays open.
    const resp = await RespTestClient.connect(server.respPort!);
    try {
      resp.send('AUTH', server.token);
      assert.deepEqual(await resp.read(), { type: 'simple', value: 'OK' });
      resp.send('SET', `${RAW_KEY}-resp`, 'x');
      assert.deepEqual(await resp.read(), { type: 'simple', value: 'OK' });
      resp.send('GET', `${RAW_KEY}-resp`);
      assert.equal((await resp.read()).type, 'bulk');
      resp.send(MADE_UP_COMMAND);
      assert.equal((await resp.read()).type, 'error');

      const { text, families: during } = await scrape();
      assert.equal(count(during, 'kvs_resp_connections'), 1, 'one RESP connection open');
      assert.equal(count(during, 'kvs_watchers'), 1, 'one watch stream open');
      assert.ok(!text.includes(RAW_KEY), 'no key in any label');
      assert.ok(!text.toLowerCase().includes(MADE_UP_COMMAND.toLowerCase()), 'no made-up command name in any label');
      for (const sample of during.get('kvs_http_request_duration_seconds')!.samples)
        assert.ok(sample.labels.route === 'unmatched' || sample.labels.route!.startsWith('/'), sample.labels.route);

      const moved = (name: string, labels: Record<string, string> = {}) =>
        count(during, name, labels) - count(before, name, labels);
      assert.equal(moved('kvs_http_request_duration_seconds_count', put), 1, 'the PUT');
      assert.equal(moved('kvs_http_request_duration_seconds_count', route), 1, 'the GET');
      assert.equal(moved('kvs_http_request_duration_seconds_count', notFound), 1, 'the 404 of a missing key');
      assert.equal(
        moved('kvs_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' }),
        1,
        'the unrouted URL',
      );
      assert.ok(moved('kvs_http_request_duration_seconds_sum', route) > 0);
      assert.equal(moved('kvs_http_requests_total', { method: 'PUT', status: '201' }), 1);
      assert.equal(moved('kvs_resp_command_duration_seconds_count', { command: 'auth' }), 1);
      assert.equal(moved('kvs_resp_command_duration_seconds_count', { command: 'set' }), 1);
      assert.equal(moved('kvs_resp_command_duration_seconds_count', { command: 'get' }), 1);
      assert.equal(moved('kvs_resp_command_duration_seconds_count', { command: 'unknown' }), 1);
      assert.equal(moved('kvs_commit_duration_seconds_count'), 2, 'the HTTP PUT and the RESP SET');
      assert.equal(moved('kvs_revision'), 2);
      // Each commit is one WAL record; one flush can carry both, at most one each.
      assert.equal(moved('kvs_wal_records_total'), 2, 'one WAL record per commit');
      assert.ok(
        moved('kvs_wal_flushes_total') >= 1 && moved('kvs_wal_flushes_total') <= 2,
        'one or two WAL flushes carried them',
      );
    } finally {
      resp.close();
      watch.close();
    }

    // Wrong tokens last (they lock this address): two failures, then a rate-limited answer.
    const wrong = { headers: { authorization: 'Bearer not-a-token-7f3a' } };
    assert.equal((await fetch(`${server.url}/v1/kv/${RAW_KEY}`, { ...wrong, method: 'PUT', body: 'v' })).status, 403);
    assert.equal((await fetch(`${server.url}/v1/kv/${RAW_KEY}`, wrong)).status, 403);
    assert.equal((await fetch(`${server.url}/v1/kv/${RAW_KEY}`, wrong)).status, 429);
    const { families: last } = await scrape();
    assert.equal(count(last, 'kvs_auth_failures_total') - count(before, 'kvs_auth_failures_total'), 2);
    assert.equal(count(last, 'kvs_auth_rate_limited_total') - count(before, 'kvs_auth_rate_limited_total'), 1);
    // The writes above went through the write-ahead log: at least one record per flush, one commit per lmdb transaction.
    assert.ok(count(last, 'kvs_wal_records_per_flush') >= 1, 'WAL group-commit factor');
    // lmdb applies them in the background: scraped again until its first transaction is counted (bounded).
    let applied = count(last, 'kvs_lmdb_commits_per_transaction');
    for (let attempt = 0; applied < 1 && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      applied = count((await scrape()).families, 'kvs_lmdb_commits_per_transaction');
    }
    assert.ok(applied >= 1, 'commits per lmdb transaction');
    // With no more writes lmdb catches up: nothing left unapplied (scraped again, bounded).
    let unapplied = count((await scrape()).families, 'kvs_lmdb_unapplied_commits');
    for (let attempt = 0; unapplied > 0 && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      unapplied = count((await scrape()).families, 'kvs_lmdb_unapplied_commits');
    }
    assert.equal(unapplied, 0, 'commits lmdb has not applied');
    // Caught up, on a store that started empty: lmdb has applied every commit the WAL took, each
    // in some transaction.
    const { families: caughtUp } = await scrape();
    assert.equal(
      count(caughtUp, 'kvs_lmdb_applied_commits_total'),
      count(caughtUp, 'kvs_wal_records_total'),
      'every WAL record applied',
    );
    assert.ok(count(caughtUp, 'kvs_wal_records_total') >= 2);
    const transactions = count(caughtUp, 'kvs_lmdb_apply_transactions_total');
    assert.ok(transactions >= 1 && transactions <= count(caughtUp, 'kvs_lmdb_applied_commits_total'));
  });
});
