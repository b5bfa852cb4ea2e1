// The etcd engine at its edges, against a real single-member etcd: etcd's own limits answered
// with storage errors (which the core maps to kvs errors) before anything is sent, an
// unreachable or dead etcd answered with EngineUnavailableError within the request timeout
// (never a hang), the change feed resuming without loss after the etcd process is killed and
// restarted, and etcd deleting expired keys through their leases on its own.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { KvsError } from '../../src/core/errors.js';
import { fromStorageError } from '../../src/core/storage-errors.js';
import type { ChangeEvent } from '../../src/model/events.js';
import type { CommitResult, Operation } from '../../src/model/txn.js';
import type { Engine } from '../../src/storage/engine.js';
import { EngineUnavailableError, StoreLimitError } from '../../src/storage/errors.js';
import { DEFAULT_HISTORY_RETENTION, type HistoryRetention } from '../../src/storage/key-history.js';
import { openEtcdEngine } from '../../src/storage/etcd/etcd-engine.js';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { startServer, removeDir, newToken } from '../helpers/server-process.js';

const put = (key: string, value: Buffer | string, expires: number | null = null): Operation => ({
  type: 'put',
  key,
  value: typeof value === 'string' ? Buffer.from(value) : value,
  contentType: null,
  expires,
});

/** The engine's own limit error, which the core turns into the catalogue error `code`. */
function rejectsWith(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof StoreLimitError, `expected StoreLimitError ${code}, got ${String(error)}`);
    const mapped = fromStorageError(error);
    assert.ok(mapped instanceof KvsError, `expected KvsError ${code}, got ${String(mapped)}`);
    assert.equal(mapped.code, code);
    assert.match(mapped.message, /etcd/);
    return true;
  };
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

if (etcdInstalled()) {
  describe('etcd engine edges', () => {
    let cluster: EtcdCluster;
    const engines: Engine[] = [];

    const open = async (options: { requestTimeoutMs?: number; historyRetention?: HistoryRetention } = {}) => {
      const engine = await openEtcdEngine(
        { kind: 'etcd', endpoints: [...cluster.endpoints], prefix: `edges-${randomBytes(4).toString('hex')}/` },
        {
          logValueMax: 1024,
          requestTimeoutMs: options.requestTimeoutMs ?? 2000,
          log: () => undefined,
          ...(options.historyRetention !== undefined && { historyRetention: options.historyRetention }),
        },
      );
      engines.push(engine);
      return engine;
    };

    before(async () => {
      cluster = await startEtcdCluster({ size: 1 });
    });

    after(async () => {
      for (const engine of engines) await engine.close();
      await cluster?.stop();
    });

    it('refuses what etcd would refuse, up front, with storage errors that map to kvs errors', async () => {
      // Without per-key history (--history-versions 0): the limits with history are the next test's.
      const engine = await open({ historyRetention: { ...DEFAULT_HISTORY_RETENTION, versions: 0 } });
      // --max-request-bytes is 1.5 MiB: a 1.6 MB value cannot go in one request.
      await assert.rejects(
        engine.commit({ conditions: [], operations: [put('big', Buffer.alloc(1_600_000))] }, Date.now()),
        rejectsWith('value_too_large'),
      );
      // Each of several values fits, their sum does not.
      const many = Array.from({ length: 4 }, (_, index) => put(`part/${index}`, Buffer.alloc(500_000)));
      await assert.rejects(
        engine.commit({ conditions: [], operations: many }, Date.now()),
        rejectsWith('txn_too_large'),
      );
      // --max-txn-ops is 128; the commit record takes one and the audit entry one (docs/audit.md).
      const wide = Array.from({ length: 127 }, (_, index) => put(`wide/${index}`, 'v'));
      await assert.rejects(
        engine.commit({ conditions: [], operations: wide }, Date.now()),
        rejectsWith('batch_too_large'),
      );
      const fits = await engine.commit({ conditions: [], operations: wide.slice(0, 126) }, Date.now());
      assert.equal(fits.ok, true);
      // A value just under the limit is accepted.
      const nearly = await engine.commit(
        { conditions: [], operations: [put('nearly', Buffer.alloc(1_500_000, 7))] },
        Date.now(),
      );
      assert.equal(nearly.ok, true);
      assert.equal((await engine.get('nearly', Date.now()))?.value.length, 1_500_000);
      assert.equal(await engine.get('big', Date.now()), undefined);
    });

    it('with per-key history a commit writes at most 54 keys and values of about half a request', async () => {
      const engine = await open();
      // 128 operations: the commit record, the audit entry, the history order key, one history
      // byte counter and 16 drops, then two per key (the key and its history entry).
      const wide = Array.from({ length: 55 }, (_, index) => put(`wide/${index}`, 'v'));
      await assert.rejects(
        engine.commit({ conditions: [], operations: wide }, Date.now()),
        (error: unknown) => rejectsWith('batch_too_large')(error) && (error as StoreLimitError).limit === 54,
      );
      const fits = await engine.commit({ conditions: [], operations: wide.slice(0, 54) }, Date.now());
      assert.equal(fits.ok, true);
      assert.equal((await engine.keyHistory!('wide/53', { limit: 10, values: false })).versions.length, 1);
      // The value travels twice in the one etcd request: in its key and in its history entry.
      await assert.rejects(
        engine.commit({ conditions: [], operations: [put('big', Buffer.alloc(800_000))] }, Date.now()),
        (error: unknown) => {
          assert.ok(rejectsWith('value_too_large')(error));
          const limit = (error as StoreLimitError).limit!;
          assert.ok(limit > 780_000 && limit < 800_000, `limit ${limit}`);
          return true;
        },
      );
      const nearly = await engine.commit(
        { conditions: [], operations: [put('nearly', Buffer.alloc(780_000, 7))] },
        Date.now(),
      );
      assert.equal(nearly.ok, true);
      const [entry] = (await engine.keyHistory!('nearly', { limit: 1, values: true })).versions;
      assert.equal(entry?.value?.length, 780_000);
    });

    it('over HTTP the limits are 413 JSON errors that name etcd', async () => {
      const token = newToken();
      const server = await startServer({
        args: [
          '--store',
          cluster.storeUrl,
          '--etcd-prefix',
          `edges-http-${randomBytes(4).toString('hex')}/`,
          // With history the server's own limits stay within etcd's (test/etcd/etcd-limits.test.ts):
          // these are etcd's, met when kvs's are set above them.
          '--history-versions',
          '0',
          '--max-value-bytes',
          '3000000',
          '--max-body-bytes',
          '4000000',
        ],
        tokenFileText: `${token} admin\n`,
      });
      try {
        const response = await fetch(`${server.url}/v1/kv/huge`, {
          method: 'PUT',
          body: Buffer.alloc(2_000_000),
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await response.json()) as { error: { code: string; message: string } };
        assert.equal(response.status, 413);
        assert.equal(body.error.code, 'value_too_large');
        assert.match(body.error.message, /max-request-bytes/);
        const pairs = Array.from({ length: 200 }, (_, index) => `k${index}=v`).join('&');
        const form = await fetch(`${server.url}/`, {
          method: 'POST',
          body: `${pairs}&auth=${token}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.equal(form.status, 413);
        assert.match(await form.text(), /max-txn-ops/);
      } finally {
        await server.stop();
        removeDir(server.dataDir);
      }
    });

    it('an etcd that nobody listens on is EngineUnavailableError at open, not a hang', async () => {
      await assert.rejects(
        openEtcdEngine(
          { kind: 'etcd', endpoints: ['http://127.0.0.1:1'], prefix: 'nowhere/' },
          { logValueMax: 0, requestTimeoutMs: 1000, log: () => undefined },
        ),
        (error: unknown) => {
          assert.ok(error instanceof EngineUnavailableError, String(error));
          assert.match(error.message, /127\.0\.0\.1:1/);
          return true;
        },
      );
    });

    it('while etcd is down every call fails with EngineUnavailableError; after its restart the feed resumes without loss', async () => {
      const engine = await open({ requestTimeoutMs: 1500 });
      const events: ChangeEvent[] = [];
      const stop = engine.subscribe((batch) => events.push(...batch));
      try {
        const first = (await engine.commit(
          { conditions: [], operations: [put('before', '1')] },
          Date.now(),
        )) as Extract<CommitResult, { ok: true }>;
        await waitUntil(() => events.some((event) => event.key === 'before'), 'the event of the first commit');

        await cluster.kill9(0);
        const unavailable = (error: unknown) => {
          assert.ok(error instanceof EngineUnavailableError, `expected EngineUnavailableError, got ${String(error)}`);
          return true;
        };
        await assert.rejects(engine.get('before', Date.now()), unavailable);
        await assert.rejects(
          engine.commit({ conditions: [], operations: [put('during', '1')] }, Date.now()),
          unavailable,
        );
        await assert.rejects(engine.history(0, 10), unavailable);
        await assert.rejects(engine.revision(), unavailable);

        await cluster.restart(0);
        // The client's circuit breaker lets calls through again about a second after the failures.
        let after: Extract<CommitResult, { ok: true }> | undefined;
        await waitUntil(async () => {
          try {
            after = (await engine.commit({ conditions: [], operations: [put('after', '1')] }, Date.now())) as Extract<
              CommitResult,
              { ok: true }
            >;
            return true;
          } catch (error) {
            if (error instanceof EngineUnavailableError) return false;
            throw error;
          }
        }, 'a commit after the restart');
        await waitUntil(
          () => events.some((event) => event.key === 'after'),
          'the event of the commit after the restart',
        );
        const revisions = events.map((event) => event.revision);
        assert.deepEqual(
          events.map((event) => event.key),
          ['before', 'after'],
        );
        assert.deepEqual(revisions, [first.revision, after!.revision]);
        assert.equal((await engine.get('before', Date.now()))?.value.toString(), '1');
      } finally {
        stop();
      }
    });

    it('etcd deletes expired keys through their leases, and the feed reports them as expire events', async () => {
      const engine = await open();
      const events: ChangeEvent[] = [];
      const stop = engine.subscribe((batch) => events.push(...batch));
      try {
        const now = Date.now();
        await engine.commit(
          {
            conditions: [],
            operations: [
              put('short/a', 'v', now + 500),
              put('short/b', 'v', now + 800),
              put('long', 'v', now + 600_000),
            ],
          },
          now,
        );
        // Hidden at once when their time comes, whatever etcd has done by then.
        assert.equal(await engine.get('short/a', now + 500), undefined);
        await waitUntil(
          () => events.filter((event) => event.type === 'expire').length >= 2,
          'two expire events',
          30_000,
        );
        assert.deepEqual(
          events
            .filter((event) => event.type === 'expire')
            .map((event) => event.key)
            .sort(),
          ['short/a', 'short/b'],
        );
        assert.equal(await engine.count(), 1, 'etcd removed the expired keys');
        assert.equal((await engine.get('long', Date.now()))?.value.toString(), 'v');
        const history = await engine.history(0, 100);
        assert.deepEqual(
          history.events.filter((event) => event.key.startsWith('short/')).map((event) => event.type),
          ['put', 'put', 'expire', 'expire'],
        );
      } finally {
        stop();
      }
    });

    it('history of one namespace skips the revisions of another, and ends even when none of its own follow', async () => {
      const mine = await open();
      const theirs = await open();
      const ours: number[] = [];
      for (let round = 0; round < 5; round++) {
        const committed = (await mine.commit(
          { conditions: [], operations: [put(`m/${round}`, 'v')] },
          Date.now(),
        )) as Extract<CommitResult, { ok: true }>;
        ours.push(committed.revision);
        await theirs.commit(
          { conditions: [], operations: [put(`t/${round}`, 'v'), put(`u/${round}`, 'v')] },
          Date.now(),
        );
      }
      const revision = await mine.revision();
      assert.ok(revision > ours[4]!, 'the other namespace wrote last');
      const all = await mine.history(ours[0]! - 1, 100);
      assert.deepEqual(
        all.events.map((event) => [event.key, event.revision]),
        ours.map((committed, round) => [`m/${round}`, committed]),
      );
      // Nothing of ours after our last commit, though the store revision moved on.
      const none = await mine.history(ours[4]!, 100);
      assert.deepEqual(none.events, []);
      assert.equal(none.revision, revision);
      const paged = await mine.history(ours[1]!, 2);
      assert.deepEqual(
        paged.events.map((event) => event.key),
        ['m/2', 'm/3'],
      );
    });

    // Last in this file: compaction is cluster-wide and ends the history the other tests read.
    it('with --log-length kvs compacts etcd, and a watch resuming from before that is 410 history_compacted', async () => {
      const token = newToken();
      const server = await startServer({
        args: [
          '--store',
          cluster.storeUrl,
          '--etcd-prefix',
          `edges-log-${randomBytes(4).toString('hex')}/`,
          '--log-length',
          '5',
        ],
        tokenFileText: `${token} admin\n`,
      });
      try {
        const revisions: number[] = [];
        for (let index = 0; index < 20; index++) {
          const response = await fetch(`${server.url}/v1/kv/log/${index}`, {
            method: 'PUT',
            body: 'v',
            headers: { authorization: `Bearer ${token}` },
          });
          revisions.push(((await response.json()) as { modRevision: number }).modRevision);
        }
        const last = revisions[revisions.length - 1]!;
        let gone: Response | undefined;
        await waitUntil(async () => {
          gone = await fetch(`${server.url}/v1/watch?since=${revisions[0]}`);
          if (gone.status === 200) await gone.body?.cancel();
          return gone.status === 410;
        }, 'the compaction');
        const body = (await gone!.json()) as { error: { code: string; oldestRevision: number } };
        assert.equal(body.error.code, 'history_compacted');
        assert.ok(
          body.error.oldestRevision > revisions[0]! + 1 && body.error.oldestRevision <= last - 5 + 1,
          JSON.stringify(body),
        );
        const recent = await fetch(`${server.url}/v1/watch?since=${last - 2}`);
        assert.equal(recent.status, 200);
        await recent.body?.cancel();
      } finally {
        await server.stop();
        removeDir(server.dataDir);
      }
    });
  });
} else {
  describe('etcd engine edges', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
