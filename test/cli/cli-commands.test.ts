// The real CLI (`node bin/kvs.js ...`) against a real server: get/set/del/ls/watch, tokens, and
// export -> wipe -> import round trips with binary values in every format.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { KvsClient, type ListItem } from '../../src/client/index.js';
import { kvsBin, removeDir, repoRoot, startServer, tempDir } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';
import { runKvs, type KvsRun } from './run-kvs.js';

let client: KvsClient;
let workDir: string;
let env: Record<string, string>;

function kvs(
  args: string[],
  input?: Buffer | string,
  extraEnv: Record<string, string | undefined> = {},
): Promise<KvsRun> {
  return runKvs(args, { env: { ...env, ...extraEnv }, input, cwd: workDir });
}

function ok(run: KvsRun): KvsRun {
  assert.equal(run.code, 0, `kvs failed (${run.code}): ${run.stderr}`);
  return run;
}

async function snapshot(prefix: string): Promise<object[]> {
  const items: ListItem[] = [];
  for await (const item of client.listAll({ prefix, values: true })) items.push(item);
  return items.map((item) => ({
    key: item.key,
    value: item.value?.toString('hex'),
    contentType: item.contentType,
    expires: item.expires?.getTime() ?? null,
  }));
}

/** A port nothing listens on: one the OS just handed out and that was closed again. */
async function freePort(): Promise<number> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as AddressInfo;
  await new Promise((resolve) => listener.close(resolve));
  return port;
}

async function wipe(prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const item of client.listAll({ prefix })) keys.push(item.key);
  for (let start = 0; start < keys.length; start += 500) {
    await client.txn({ operations: keys.slice(start, start + 500).map((key) => ({ op: 'delete' as const, key })) });
  }
  assert.equal((await client.list({ prefix })).items.length, 0);
}

describe('kvs CLI against a real server', () => {
  const server = useServer();
  after(async () => {
    if (workDir) removeDir(workDir);
  });
  before(async () => {
    client = new KvsClient({ url: server.url, token: server.token });
    workDir = tempDir('kvs-cli');
    env = { KVS_URL: server.url, KVS_TOKEN: server.token };
  });

  it('set, get, ls and del text and binary values', async () => {
    assert.equal(
      ok(await kvs(['set', 'basic/greeting', 'hello world'])).stdout.toString(),
      `version 1 (revision ${(await client.list()).revision})\n`,
    );
    assert.equal(ok(await kvs(['get', 'basic/greeting'])).stdout.toString(), 'hello world');

    const binary = Buffer.concat([Buffer.from([0, 255, 254, 10, 13]), randomBytes(5000)]);
    ok(await kvs(['set', '--content-type', 'application/octet-stream', 'basic/blob'], binary));
    assert.deepEqual(ok(await kvs(['get', 'basic/blob'])).stdout, binary);
    const stored = await client.get('basic/blob');
    assert.equal(stored?.contentType, 'application/octet-stream');

    ok(await kvs(['set', '--ttl', '3600', 'basic/a key/with ?odd& chars%', 'odd']));
    assert.equal(ok(await kvs(['get', 'basic/a key/with ?odd& chars%'])).stdout.toString(), 'odd');
    assert.ok((await client.get('basic/a key/with ?odd& chars%'))?.expires instanceof Date);

    assert.equal(
      ok(await kvs(['ls', 'basic/'])).stdout.toString(),
      'basic/a key/with ?odd& chars%\nbasic/blob\nbasic/greeting\n',
    );
    const long = ok(await kvs(['ls', '--long', 'basic/']))
      .stdout.toString()
      .trimEnd()
      .split('\n');
    assert.match(long[0]!, /VERSION +REVISION +SIZE +UPDATED +EXPIRES +KEY/);
    assert.match(long[2]!, /^ +1 +\d+ +5005 +\S+Z +- +basic\/blob +\(application\/octet-stream\)$/);
    const json = JSON.parse(ok(await kvs(['ls', '--json', 'basic/'])).stdout.toString()) as {
      key: string;
      size: number;
    }[];
    assert.deepEqual(
      json.map((item) => [item.key, item.size]),
      [
        ['basic/a key/with ?odd& chars%', 3],
        ['basic/blob', 5005],
        ['basic/greeting', 11],
      ],
    );
    assert.equal(ok(await kvs(['ls', '--json', 'nothing-here/'])).stdout.toString(), '[]\n');

    ok(await kvs(['del', 'basic/greeting']));
    assert.equal(await client.get('basic/greeting'), undefined);
  });

  it('set --keep-ttl keeps the expiry a plain set removes', async () => {
    ok(await kvs(['set', '--ttl', '3600', 'keep/k', 'one']));
    const expires = (await client.get('keep/k'))?.expires;
    assert.ok(expires instanceof Date);
    ok(await kvs(['set', '--keep-ttl', 'keep/k', 'two']));
    const kept = await client.get('keep/k');
    assert.equal(kept?.value.toString(), 'two');
    assert.equal(kept?.expires?.getTime(), expires.getTime());
    ok(await kvs(['set', 'keep/k', 'three']));
    assert.equal((await client.get('keep/k'))?.expires, null);
    const both = await kvs(['set', '--keep-ttl', '--ttl', '5', 'keep/k', 'four']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^kvs: .*--keep-ttl.*\(usage\)\n$/);
  });

  it('reports failures as `kvs: <message> (<code>)` with a non-zero exit', async () => {
    const missing = await kvs(['get', 'errors/missing']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /^kvs: .*\(not_found\)\n$/);
    assert.equal(missing.stdout.length, 0);

    const delMissing = await kvs(['del', 'errors/missing']);
    assert.notEqual(delMissing.code, 0);
    assert.match(delMissing.stderr, /\(not_found\)/);

    ok(await kvs(['set', 'errors/cas', 'one']));
    const wrongVersion = await kvs(['set', '--if-version', '7', 'errors/cas', 'two']);
    assert.notEqual(wrongVersion.code, 0);
    assert.match(wrongVersion.stderr, /^kvs: .*\(version_mismatch\)\n$/);
    ok(await kvs(['set', '--if-version', '1', 'errors/cas', 'two']));
    const exists = await kvs(['set', '--if-absent', 'errors/cas', 'three']);
    assert.match(exists.stderr, /\(key_exists\)/);
    assert.equal(await client.getText('errors/cas'), 'two');

    const anonymous = await kvs(['set', 'errors/anon', 'x'], undefined, { KVS_TOKEN: undefined });
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.stderr, /\(auth_required\)/);
    const badToken = await kvs(['set', '--token', 'not-a-token', 'errors/anon', 'x']);
    assert.match(badToken.stderr, /\(auth_invalid\)/);

    const closedPort = await freePort();
    const unreachable = await kvs(['get', 'x'], undefined, { KVS_URL: `http://127.0.0.1:${closedPort}` });
    assert.notEqual(unreachable.code, 0);
    assert.equal(
      unreachable.stderr,
      `kvs: cannot reach http://127.0.0.1:${closedPort}: ECONNREFUSED; is \`kvs serve\` running there? check --url (or KVS_URL) (connection_failed)\n`,
    );
  });

  for (const format of ['yaml', 'json', 'ndjson'] as const) {
    it(`export -> wipe -> import restores binary values, unicode keys, content types and expiry exactly (${format})`, async () => {
      const prefix = `rt-${format}/`;
      const operations = Array.from({ length: 60 }, (_, index) => {
        const binary = index % 3 === 0;
        return {
          op: 'put' as const,
          key: `${prefix}${index % 2 === 0 ? 'ключ/😀/' : 'key: #'}${index}`,
          value: binary ? randomBytes(index * 37) : `text ${index}\n  indented\r\nnull ~ "quoted" ${'é'.repeat(index)}`,
          contentType: index % 4 === 0 ? 'application/x-test; v=1' : null,
          expires: index % 5 === 0 ? new Date(Date.now() + 3_600_000 + index * 7) : undefined,
        };
      });
      await client.txn({ operations });
      const before = await snapshot(prefix);
      assert.equal(before.length, 60);

      const file = join(workDir, `backup-${format}.${format}`);
      const exported = ok(await kvs(['export', '--prefix', prefix, '--output', file]));
      assert.match(
        exported.stderr,
        new RegExp(`exported 60 keys to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`),
      );
      await wipe(prefix);

      const imported = ok(await kvs(['import', file]));
      assert.match(imported.stderr, /^imported 60 keys in 1 transaction\n$/);
      assert.deepEqual(await snapshot(prefix), before);

      // To stdout and back through stdin, too.
      const piped = ok(await kvs(['export', '--format', format, '--prefix', prefix]));
      await wipe(prefix);
      ok(await kvs(['import', '--format', format, '-'], piped.stdout));
      assert.deepEqual(await snapshot(prefix), before);
    });
  }

  it('imports in batches of at most 1000 keys, skips expired keys, and is idempotent', async () => {
    const prefix = 'bulk/';
    const now = Date.now();
    const lines: string[] = [];
    for (let index = 0; index < 2500; index++)
      lines.push(JSON.stringify({ key: `${prefix}${String(index).padStart(5, '0')}`, value: `v${index}` }));
    for (let index = 0; index < 5; index++) {
      lines.push(
        JSON.stringify({
          key: `${prefix}expired-${index}`,
          value: 'gone',
          expires: new Date(now - 1000 * (index + 1)).toISOString(),
        }),
      );
    }
    const file = join(workDir, 'bulk.ndjson');
    writeFileSync(file, `${lines.join('\n')}\n`);

    // An interrupted import leaves a part written, some of it stale: running it again finishes the job.
    writeFileSync(
      join(workDir, 'part.ndjson'),
      lines
        .slice(0, 1200)
        .map((line) => line.replace(/"v(\d+)"/, '"stale$1"'))
        .join('\n'),
    );
    ok(await kvs(['import', 'part.ndjson']));

    const run = ok(await kvs(['import', file]));
    assert.match(run.stderr, /^imported 2500 keys in 3 transactions; skipped 5 expired keys\n$/);
    const items = await snapshot(prefix);
    assert.equal(items.length, 2500);
    assert.ok(
      items.every((item, index) => (item as { value: string }).value === Buffer.from(`v${index}`).toString('hex')),
    );

    const again = ok(await kvs(['import', file]));
    assert.match(again.stderr, /^imported 2500 keys in 3 transactions; skipped 5 expired keys\n$/);
    assert.deepEqual(await snapshot(prefix), items);
  });

  it('import into a server that takes fewer keys per transaction goes on in batches of its size', async () => {
    // A server with --max-batch 7 refuses the first batch of 1000 (batch_too_large, limit 7),
    // which wrote nothing; the import writes it again in parts of 7, and the rest of the file too.
    const small = await startServer({ args: ['--max-batch', '7'] });
    try {
      const lines = Array.from({ length: 40 }, (_, index) =>
        JSON.stringify({ key: `small/${String(index).padStart(2, '0')}`, value: `v${index}` }),
      );
      const file = join(workDir, 'small.ndjson');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const run = ok(await kvs(['import', file], undefined, { KVS_URL: small.url, KVS_TOKEN: small.token }));
      assert.equal(
        run.stderr.toString(),
        'the server takes at most 7 keys per transaction; importing in batches of 7\nimported 40 keys in 6 transactions\n',
      );
      const stored = new KvsClient({ url: small.url, token: small.token });
      const items: ListItem[] = [];
      for await (const item of stored.listAll({ prefix: 'small/', values: true })) items.push(item);
      assert.deepEqual(
        items.map((item) => [item.key, item.value?.toString()]),
        lines.map((_, index) => [`small/${String(index).padStart(2, '0')}`, `v${index}`]),
      );
      // --atomic cannot be split: refused by the server, nothing written.
      const atomic = await kvs(['import', '--atomic', file], undefined, { KVS_URL: small.url, KVS_TOKEN: small.token });
      assert.notEqual(atomic.code, 0);
      assert.match(atomic.stderr.toString(), /batch_too_large/);
    } finally {
      await small.stop();
    }
  });

  it('import --atomic refuses a file that does not fit in one transaction, before writing anything', async () => {
    const lines = Array.from({ length: 1001 }, (_, index) => JSON.stringify({ key: `atomic/${index}`, value: 'x' }));
    writeFileSync(join(workDir, 'big.jsonl'), lines.join('\n'));
    const refused = await kvs(['import', '--atomic', 'big.jsonl']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /nothing was written.*\(txn_too_large\)\n$/);
    assert.equal((await client.list({ prefix: 'atomic/' })).items.length, 0);

    writeFileSync(join(workDir, 'fits.jsonl'), lines.slice(0, 1000).join('\n'));
    assert.match(ok(await kvs(['import', '--atomic', 'fits.jsonl'])).stderr, /^imported 1000 keys in 1 transaction\n$/);
    assert.equal(await client.getText('atomic/999'), 'x');
  });

  it("imports the seed's plain YAML as-is", async () => {
    writeFileSync(
      join(workDir, 'seed.yml'),
      'seed/position: 1234\nseed/leading: 007\nseed/flag: yes\nseed/empty:\nseed/show: "S01E02: pilot"\n',
    );
    assert.match(ok(await kvs(['import', 'seed.yml'])).stderr, /imported 5 keys/);
    assert.equal(await client.getText('seed/position'), '1234');
    assert.equal(await client.getText('seed/leading'), '007');
    assert.equal(await client.getText('seed/flag'), 'yes');
    assert.equal(await client.getText('seed/empty'), '');
    assert.equal(await client.getText('seed/show'), 'S01E02: pilot');
    assert.equal((await client.get('seed/position'))?.expires, null);
  });

  it('rejects malformed import files naming the place, and writes nothing from them', async () => {
    writeFileSync(join(workDir, 'broken.yaml'), 'broken/a: fine\nbroken/b: {value: "%%%", encoding: base64}\n');
    const run = await kvs(['import', 'broken.yaml']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /^kvs: broken\.yaml: line 2.*base64 \(invalid_file\)\n$/);
    assert.equal((await client.list({ prefix: 'broken/' })).items.length, 0);
    const unknown = await kvs(['import', 'notes.txt']);
    assert.match(unknown.stderr, /--format/);
    const missing = await kvs(['import', 'missing.yaml']);
    assert.match(
      missing.stderr,
      /cannot read missing\.yaml \(ENOENT\); give the path of a readable file, or - for stdin \(invalid_file\)/,
    );
  });

  it('watch prints one line per event', async () => {
    const since = (await client.list()).revision;
    const child = spawn(process.execPath, [kvsBin, 'watch', '--since', String(since), '--values', 'watched/'], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const first = await client.put('watched/a', 'one');
      await client.put('unwatched/b', 'nope');
      await client.put('watched/bin', Buffer.from([0xff, 0xfe]));
      const deleted = await client.txn({ operations: [{ op: 'delete', key: 'watched/a' }] });
      const expected = [
        `${first.modRevision} put watched/a "one"`,
        `${first.modRevision + 2} put watched/bin base64://4=`,
        `${deleted.revision} delete watched/a`,
      ];
      const deadline = Date.now() + 20_000;
      while (output.split('\n').length <= expected.length && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(output.trimEnd().split('\n'), expected);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    }
  });

  it('token add appends a scoped token (printed once) that the server honours; token list never shows tokens', async () => {
    const file = join(workDir, 'tokens');
    const admin = ok(await kvs(['token', 'add', '--scope', 'admin', '--file', file]))
      .stdout.toString()
      .trim();
    const added = ok(await kvs(['token', 'add', '--scope', 'write', '--prefix', 'pub/,docs/', '--file', file]));
    const limited = added.stdout.toString().trim();
    assert.match(added.stderr, /added a write token limited to pub\/, docs\/ to .*tokens/);
    const reader = ok(await runKvs(['token', 'add', '--scope', 'read'], { env: { KVS_TOKEN_FILE: file } }))
      .stdout.toString()
      .trim();
    assert.equal((readFileSync(file, 'utf8').match(/\n/g) ?? []).length, 3);

    const listed = ok(await kvs(['token', 'list', '--file', file])).stdout.toString();
    assert.equal(listed, '#1  admin  all keys\n#2  write  pub/, docs/\n#3  read   all keys\n');
    for (const token of [admin, limited, reader]) assert.ok(!listed.includes(token));

    const second = await startServer({ tokenFileText: readFileSync(file, 'utf8') });
    try {
      const at = (token: string) => ({ KVS_URL: second.url, KVS_TOKEN: token });
      ok(await runKvs(['set', 'pub/x', '1'], { env: at(limited) }));
      assert.match((await runKvs(['set', 'other/x', '1'], { env: at(limited) })).stderr, /\(forbidden\)/);
      assert.match((await runKvs(['set', 'pub/y', '1'], { env: at(reader) })).stderr, /\(forbidden\)/);
      assert.equal(ok(await runKvs(['get', 'pub/x'], { env: at(reader) })).stdout.toString(), '1');
      ok(await runKvs(['set', 'other/x', '2'], { env: at(admin) }));
    } finally {
      await second.stop();
      removeDir(second.dataDir);
    }
  });

  it('import --help says that re-running finishes an interrupted import', async () => {
    const help = ok(await kvs(['import', '--help'])).stdout.toString();
    assert.match(help, /idempotent/);
    assert.match(help, /running\s+the\s+same command again finishes it/);
  });
});
