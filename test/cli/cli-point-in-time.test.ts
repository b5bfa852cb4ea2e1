// `kvs export --at` and `kvs restore --to` (docs/history.md, "Point in time"; docs/cli.md) against
// a real server, through the typed client's snapshot() and restore().

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KvsClient } from '../../src/client/index.js';
import { newToken, removeDir, tempDir } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';
import { type KvsRun, runKvs } from './run-kvs.js';

const ADMIN = newToken();

function ok(run: KvsRun): KvsRun {
  assert.equal(run.code, 0, `kvs failed (${run.code}): ${run.stderr}`);
  return run;
}

describe('kvs export --at and kvs restore', () => {
  const server = useServer({ tokenFileText: `${ADMIN} admin\n`, token: ADMIN });
  let workDir: string;
  let client: KvsClient;
  /** The revision after the first two writes: app/a=one, app/b=two. */
  let before2: number;
  const kvs = (args: string[]) => runKvs(args, { env: { KVS_URL: server.url, KVS_TOKEN: ADMIN }, cwd: workDir });

  before(async () => {
    workDir = tempDir('kvs-cli-pit');
    client = new KvsClient({ url: server.url, token: ADMIN });
    await client.put('app/a', 'one');
    before2 = (await client.put('app/b', 'two')).modRevision;
    await client.put('app/a', 'changed');
    await client.delete('app/b');
    await client.put('app/c', 'new');
    await client.put('other', 'outside');
  });
  after(() => removeDir(workDir));

  it('kvs export --at writes the keys as they were then', async () => {
    const file = join(workDir, 'then.ndjson');
    ok(await kvs(['export', '--at', String(before2), '--output', file]));
    const records = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { key: string; value: string });
    assert.deepEqual(
      records.map((record) => [record.key, record.value]),
      [
        ['app/a', 'one'],
        ['app/b', 'two'],
      ],
    );
    const page = await client.snapshot({ at: before2, values: true });
    assert.equal(page.at.revision, before2);
    assert.deepEqual(
      page.items.map((item) => [item.key, item.value?.toString()]),
      [
        ['app/a', 'one'],
        ['app/b', 'two'],
      ],
    );
  });

  it('an export older than the history kept, or a bad point, is refused with its code', async () => {
    const future = await kvs(['export', '--at', '999999']);
    assert.equal(future.code, 1);
    assert.match(future.stderr.toString(), /invalid_point_in_time/);
    const nonsense = await kvs(['export', '--at', 'yesterday']);
    assert.match(nonsense.stderr.toString(), /invalid_point_in_time/);
    const both = await kvs(['export', '--at', '1', '--audit']);
    assert.equal(both.code, 2);
  });

  it('kvs restore --dry-run lists the changes; kvs restore makes them in one commit', async () => {
    const dry = ok(await kvs(['restore', '--to', String(before2), '--prefix', 'app/', '--dry-run']))
      .stdout.toString()
      .trim()
      .split('\n');
    assert.equal(dry.length, 4, dry.join('\n'));
    assert.match(dry[0]!, /^put +app\/a {2}\(now revision \d+, then revision 1\)$/);
    assert.match(dry[1]!, /^put +app\/b {2}\(now absent, then revision 2\)$/);
    assert.match(dry[2]!, /^delete +app\/c {2}\(now revision \d+, then absent\)$/);
    assert.match(dry[3]!, /would restore 3 keys to revision 2 .*dry run: nothing written/);
    assert.equal(await client.getText('app/c'), 'new', 'the dry run wrote nothing');

    const done = ok(await kvs(['restore', '--to', String(before2), '--prefix', 'app/', '--json']));
    const answer = JSON.parse(done.stdout.toString()) as { revision: number; changes: unknown[] };
    assert.equal(answer.changes.length, 3);
    assert.equal(await client.getText('app/a'), 'one');
    assert.equal(await client.getText('app/b'), 'two');
    assert.equal(await client.getText('app/c'), undefined);
    assert.equal(await client.getText('other'), 'outside');
    const audit = await client.audit({ limit: 1 });
    assert.equal(audit.entries[0]!.revision, answer.revision);
    assert.equal(audit.entries[0]!.via, 'restore');
    // Nothing left to do: the same restore again changes nothing.
    assert.match(
      ok(await kvs(['restore', '--to', String(before2), '--prefix', 'app/'])).stdout.toString(),
      /nothing to restore/,
    );
  });
});
