// `kvs audit` and `kvs export --audit` (docs/audit.md, docs/cli.md) against a real server, and
// `kvs import`'s writes recorded as via `import`.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KvsClient } from '../../src/client/index.js';
import { newToken, removeDir, tempDir } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';
import { type KvsRun, runKvs } from './run-kvs.js';

const ADMIN = newToken();
const WRITER = newToken();
const fileId = (token: string) => `file:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;

function ok(run: KvsRun): KvsRun {
  assert.equal(run.code, 0, `kvs failed (${run.code}): ${run.stderr}`);
  return run;
}

describe('kvs audit', () => {
  const server = useServer({ tokenFileText: `${ADMIN} admin\n${WRITER} write\n`, token: ADMIN });
  let workDir: string;
  const kvs = (args: string[], token = ADMIN) =>
    runKvs(args, { env: { KVS_URL: server.url, KVS_TOKEN: token }, cwd: workDir });

  before(async () => {
    workDir = tempDir('kvs-cli-audit');
    const writer = new KvsClient({ url: server.url, token: WRITER });
    await writer.put('app/a', 'one');
    await writer.put('app/b', 'two');
    await new KvsClient({ url: server.url, token: ADMIN }).put('other', 'three');
    await writer.delete('app/a');
  });
  after(() => removeDir(workDir));

  it('lists who changed what, newest first, with filters', async () => {
    const all = ok(await kvs(['audit']))
      .stdout.toString()
      .trim()
      .split('\n');
    assert.equal(all.length, 4);
    assert.match(
      all[0]!,
      new RegExp(`^4  \\S+Z  v1      ${fileId(WRITER)} \\(token#2\\(write\\)\\)  \\S*127\\.0\\.0\\.1  app/a$`),
    );
    const byKey = ok(await kvs(['audit', '--key', 'app/a', '--json']))
      .stdout.toString()
      .trim()
      .split('\n');
    assert.deepEqual(
      byKey.map((line) => (JSON.parse(line) as { revision: number }).revision),
      [4, 1],
    );
    const byToken = ok(await kvs(['audit', '--token-id', fileId(ADMIN), '--json']))
      .stdout.toString()
      .trim()
      .split('\n');
    assert.deepEqual(
      byToken.map((line) => (JSON.parse(line) as { keys: string[] }).keys),
      [['other']],
    );
    const limited = ok(await kvs(['audit', '--prefix', 'app/', '--limit', '2', '--json']))
      .stdout.toString()
      .trim()
      .split('\n');
    assert.equal(limited.length, 2);
  });

  it('refuses a write token (forbidden) and a bad time (invalid_audit_query)', async () => {
    const refused = await kvs(['audit'], WRITER);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /forbidden/);
    const bad = await kvs(['audit', '--since', 'last tuesday']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid_audit_query/);
  });

  it('kvs export --audit writes the trail as NDJSON or JSON; kvs import writes as via import', async () => {
    const file = join(workDir, 'trail.ndjson');
    ok(await kvs(['export', '--audit', '--output', file]));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 4);
    assert.deepEqual(JSON.parse(lines[3]!).keys, ['app/a']);
    const json = JSON.parse(ok(await kvs(['export', '--audit', '--format', 'json'])).stdout.toString()) as {
      revision: number;
    }[];
    assert.deepEqual(
      json.map((entry) => entry.revision),
      [4, 3, 2, 1],
    );
    const yaml = await kvs(['export', '--audit', '--format', 'yaml']);
    assert.equal(yaml.code, 2);

    const input = join(workDir, 'in.ndjson');
    writeFileSync(input, `${JSON.stringify({ key: 'imported', value: 'x' })}\n`);
    ok(await kvs(['import', input], WRITER));
    const [newest] = JSON.parse(ok(await kvs(['export', '--audit', '--format', 'json'])).stdout.toString()) as {
      via: string;
      keys: string[];
    }[];
    assert.deepEqual({ via: newest!.via, keys: newest!.keys }, { via: 'import', keys: ['imported'] });
  });
});
