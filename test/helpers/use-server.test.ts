// useServer() keeps what the hand-written before/after blocks did: the after hook stops the
// server with the crash-evidence check of stop() (a crashed server fails the suite) and removes
// the temporary data directory. Each case runs use-server-fixture.ts as a child test run.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const fixture = join(fileURLToPath(new URL('.', import.meta.url)), 'use-server-fixture.js');

function runFixture(mode: 'clean' | 'crash'): { status: number | null; output: string; dataDir: string } {
  // Without NODE_TEST_CONTEXT, which would make the child report to this run instead of running.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  const result = spawnSync(process.execPath, ['--test', '--test-reporter=tap', fixture], {
    env: { ...env, KVS_FIXTURE_MODE: mode },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  const dataDir = /fixture data dir: (\S+)/.exec(output)?.[1];
  assert.ok(dataDir !== undefined, `the fixture printed no data dir:\n${output}`);
  return { status: result.status, output, dataDir };
}

describe('useServer()', () => {
  it('passes a clean suite and removes the temporary data directory', () => {
    const run = runFixture('clean');
    assert.equal(run.status, 0, run.output);
    assert.equal(existsSync(run.dataDir), false, `${run.dataDir} is left behind`);
  });

  it('fails the suite when the server crashed, and still removes the data directory', () => {
    const run = runFixture('crash');
    assert.notEqual(run.status, 0, run.output);
    assert.match(run.output, /printed an uncaught exception or unhandled rejection/);
    assert.equal(existsSync(run.dataDir), false, `${run.dataDir} is left behind`);
  });
});
