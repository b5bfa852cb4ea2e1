// kvs's own limits on etcd with per-key history (docs/limits.md, "On etcd with per-key
// history"), against a real single-member etcd: the server lowers the defaults of --max-batch
// and --max-value-bytes to what one etcd commit holds, so a request at that limit is written and
// one past it is the core's 413 naming it; a larger value given on the command line (or in its
// environment variable) refuses the start with one coded line; --history-versions 0 keeps the
// defaults. The start-up summary and RESP's CONFIG GET report the limits in effect.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultLimits } from '../../src/core/limits.js';
import { etcdWriteBounds } from '../../src/storage/index.js';
import { runKvs } from '../cli/run-kvs.js';
import { RespTestClient } from '../resp/resp-test-client.js';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { removeDir, startServer, tempDir, type ServerProcess } from '../helpers/server-process.js';

/** The limits the server's start-up summary reports (docs/observability.md); it follows the ready line. */
async function startedLimits(server: ServerProcess): Promise<{ maxBatch: number; maxValueBytes: number }> {
  const deadline = Date.now() + 10_000;
  let line: string | undefined;
  while (line === undefined && Date.now() < deadline) {
    line = server
      .output()
      .split('\n')
      .find((text) => text.includes('"msg":"kvs started"'));
    if (line === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(line, `a start-up summary in ${server.output()}`);
  const { maxBatch, maxValueBytes } = JSON.parse(line) as { maxBatch: number; maxValueBytes: number };
  return { maxBatch, maxValueBytes };
}

interface Answer {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON the route answered
  readonly json: any;
}

async function call(server: ServerProcess, method: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, {
    ...init,
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  return { status: response.status, json: text.startsWith('{') ? JSON.parse(text) : text };
}

const txnOf = (count: number) =>
  JSON.stringify({
    checks: [],
    operations: Array.from({ length: count }, (_, index) => ({ op: 'put', key: `batch/${index}`, value: 'v' })),
  });

if (etcdInstalled()) {
  describe('kvs limits on etcd with per-key history', () => {
    let cluster: EtcdCluster;
    const servers: ServerProcess[] = [];
    const newPrefix = () => `lim-${randomBytes(4).toString('hex')}/`;

    before(async () => {
      cluster = await startEtcdCluster({ size: 1 });
    });

    after(async () => {
      for (const server of servers) {
        await server.stop();
        removeDir(server.dataDir);
      }
      await cluster?.stop();
    });

    const serve = async (args: readonly string[]) => {
      const server = await startServer({ args: ['--store', cluster.storeUrl, ...args] });
      servers.push(server);
      return server;
    };

    it('the defaults are what one etcd commit holds: a request at them is written, one past them is 413 naming them', async () => {
      const prefix = newPrefix();
      const server = await serve(['--etcd-prefix', prefix, '--resp-port', '0']);
      const expected = etcdWriteBounds({
        prefix,
        withHistory: true,
        maxKeyBytes: defaultLimits.maxKeyBytes,
        maxContentTypeBytes: defaultLimits.maxContentTypeBytes,
      });
      // 128 etcd operations: the commit record, the audit entry, the history order key, one byte
      // counter and 16 drops, then two per key; a value travels twice in one 1.5 MiB request.
      assert.equal(expected.maxBatch, 54);
      assert.ok(
        expected.maxValueBytes > 770_000 && expected.maxValueBytes < 786_000,
        `maxValueBytes ${expected.maxValueBytes}`,
      );
      assert.deepEqual(await startedLimits(server), expected);
      // RESP reports the value limit as Redis does.
      const resp = await RespTestClient.connect(server.respPort!);
      try {
        assert.equal(await resp.do('AUTH', server.token), '+OK');
        assert.deepEqual(await resp.do('CONFIG', 'GET', 'proto-max-bulk-len'), [
          'proto-max-bulk-len',
          String(expected.maxValueBytes),
        ]);
      } finally {
        resp.close();
      }

      // The largest value with the longest key and content type kvs accepts, of the characters
      // that take the most room (U+0000: two bytes in history entry names, six in JSON), twice
      // (the second time with the first one's history entry in place), is written and kept.
      const key = `k/${'\u0000'.repeat(defaultLimits.maxKeyBytes - 2)}`;
      const path = `/v1/kv/${encodeURIComponent(key)}`;
      // Escaped quotes: twice as long again in the history entry's JSON header.
      const contentType = `text/plain; p="a${'\\"'.repeat((defaultLimits.maxContentTypeBytes - 17) / 2)}"`;
      assert.equal(contentType.length, defaultLimits.maxContentTypeBytes);
      const value = Buffer.alloc(expected.maxValueBytes, 0x61);
      for (const status of [201, 200]) {
        const put = await call(server, 'PUT', path, {
          body: value,
          headers: { 'content-type': contentType },
        });
        assert.equal(put.status, status, JSON.stringify(put.json));
      }
      const read = await fetch(`${server.url}${path}`);
      assert.equal((await read.arrayBuffer()).byteLength, expected.maxValueBytes);
      const history = await call(server, 'GET', `${path}?history`);
      assert.equal(history.json.versions.length, 2);

      const over = await call(server, 'PUT', '/v1/kv/over', { body: Buffer.alloc(expected.maxValueBytes + 1) });
      assert.equal(over.status, 413);
      assert.equal(over.json.error.code, 'value_too_large');
      assert.equal(over.json.error.limit, expected.maxValueBytes);

      const atBatch = await call(server, 'POST', '/v1/txn', {
        body: txnOf(54),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(atBatch.status, 200, JSON.stringify(atBatch.json));
      const overBatch = await call(server, 'POST', '/v1/txn', {
        body: txnOf(55),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(overBatch.status, 413);
      assert.equal(overBatch.json.error.code, 'batch_too_large');
      assert.equal(overBatch.json.error.limit, 54);
      assert.doesNotMatch(overBatch.json.error.message, /etcd/, 'the core refuses it, not etcd');
      const pairs = Array.from({ length: 55 }, (_, index) => `seed${index}=v`).join('&');
      const form = await call(server, 'POST', '/', {
        body: `${pairs}&auth=${server.token}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.equal(form.status, 413);
      assert.match(form.json, /batch_too_large/);
    });

    it('a --max-batch or --max-value-bytes above what etcd holds refuses the start with one coded line', async () => {
      const prefix = newPrefix();
      const { maxValueBytes } = etcdWriteBounds({
        prefix,
        withHistory: true,
        maxKeyBytes: defaultLimits.maxKeyBytes,
        maxContentTypeBytes: defaultLimits.maxContentTypeBytes,
      });
      const workDir = tempDir('kvs-etcd-limits');
      try {
        const base = ['serve', '--port', '0', '--store', cluster.storeUrl, '--etcd-prefix', prefix];
        const batch = await runKvs([...base, '--data', join(workDir, 'batch'), '--max-batch', '1000']);
        assert.equal(batch.code, 2);
        assert.equal(
          batch.stderr,
          'kvs: limit_above_store: --max-batch 1000 is above the 54 keys one etcd transaction can write with per-key history; give --max-batch 54 or less, or turn history off with --history-versions 0\n',
        );
        // The environment variable is a given value too.
        const value = await runKvs([...base, '--data', join(workDir, 'value')], {
          env: { KVS_MAX_VALUE_BYTES: String(maxValueBytes + 1) },
        });
        assert.equal(value.code, 2);
        assert.match(
          value.stderr,
          new RegExp(
            `^kvs: limit_above_store: --max-value-bytes ${maxValueBytes + 1} is above the ${maxValueBytes} bytes one etcd request can carry with per-key history \\(.*\\); give --max-value-bytes ${maxValueBytes} or less, or turn history off with --history-versions 0\\n$`,
          ),
        );
      } finally {
        removeDir(workDir);
      }
    });

    it('--history-versions 0 keeps the defaults', async () => {
      const server = await serve(['--etcd-prefix', newPrefix(), '--history-versions', '0']);
      assert.deepEqual(await startedLimits(server), {
        maxBatch: defaultLimits.maxBatch,
        maxValueBytes: defaultLimits.maxValueBytes,
      });
      // A value past what etcd holds with history, under kvs's default.
      const put = await call(server, 'PUT', '/v1/kv/big', { body: Buffer.alloc(1_000_000, 0x62) });
      assert.equal(put.status, 201, JSON.stringify(put.json));
    });
  });
} else {
  describe('kvs limits on etcd with per-key history', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
