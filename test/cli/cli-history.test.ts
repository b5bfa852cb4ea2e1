// `kvs history`, `kvs diff`, `kvs revert` and `kvs deleted` (docs/history.md, docs/cli.md)
// against a real server.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { KvsClient } from '../../src/client/index.js';
import { useServer } from '../helpers/use-server.js';
import { type KvsRun, runKvs } from './run-kvs.js';

function ok<Run extends Pick<KvsRun, 'code' | 'stderr'>>(run: Run): Run {
  assert.equal(run.code, 0, `kvs failed (${run.code}): ${run.stderr}`);
  return run;
}

describe('kvs history, diff, revert, deleted', () => {
  const server = useServer({ args: ['--store', 'memory'] });
  const kvs = async (args: string[]) => {
    const run = await runKvs(args, { env: { KVS_URL: server.url, KVS_TOKEN: server.token } });
    return { ...run, stdout: run.stdout.toString('utf8') };
  };
  let client: KvsClient;

  before(async () => {
    client = new KvsClient({ url: server.url, token: server.token });
    await client.put('cfg/db', 'host=old\n');
    await client.put('cfg/db', 'host=new\n');
    await client.put('cfg/gone', 'bye');
    await client.delete('cfg/gone');
  });

  it('kvs history lists versions newest first, with values and as NDJSON', async () => {
    const text = ok(await kvs(['history', 'cfg/db', '--values']));
    const lines = text.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\d+ {2}\S+ {2}v2 {2}9 bytes {2}v1 file:\S+ .* "host=new\\n"$/);
    assert.match(lines[1]!, /v1 {2}9 bytes/);
    const json = ok(await kvs(['history', 'cfg/db', '--limit', '1', '--json']));
    const entries = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { version: number; who: { via: string } });
    assert.deepEqual(
      entries.map((entry) => [entry.version, entry.who.via]),
      [[2, 'v1']],
    );
  });

  it('kvs diff prints a unified diff', async () => {
    const run = ok(await kvs(['diff', 'cfg/db', '1']));
    assert.match(run.stdout, /^--- cfg\/db@1$/m);
    assert.match(run.stdout, /^-host=old$/m);
    assert.match(run.stdout, /^\+host=new$/m);
    const missing = await kvs(['diff', 'cfg/db', '7']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /version_not_kept/);
  });

  it('kvs revert writes a version back (with --if-match), kvs deleted lists what it can restore', async () => {
    const stale = await kvs(['revert', 'cfg/db', '1', '--if-match', '1']);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /version_mismatch/);
    const run = ok(await kvs(['revert', 'cfg/db', '1', '--if-match', '2']));
    assert.match(run.stdout, /cfg\/db: version 1 written back as version 3 \(revision \d+\)/);
    assert.equal(await client.getText('cfg/db'), 'host=old\n');
    const deleted = ok(await kvs(['deleted', '--prefix', 'cfg/']));
    assert.match(deleted.stdout, /^cfg\/gone {2}delete at revision \d+ {2}\S+ {2}last v1 at revision \d+, 3 bytes$/m);
    ok(await kvs(['revert', 'cfg/gone', '1']));
    assert.equal(await client.getText('cfg/gone'), 'bye');
    assert.equal(ok(await kvs(['deleted', '--prefix', 'cfg/'])).stdout, '');
  });
});
