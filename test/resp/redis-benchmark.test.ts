// redis-benchmark (Debian redis-tools) completes its SET, GET, INCR and MSET tests against the
// real kvs server without an error reply, unpipelined and with 16 commands per pipeline. This is
// a correctness test (the numbers are not asserted): redis-benchmark stops at the first error.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { useServer } from '../helpers/use-server.js';
import { skipUnlessTool } from './external-tools.js';

function runBenchmark(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('redis-benchmark against kvs', { skip: skipUnlessTool('redis-benchmark') }, () => {
  const server = useServer({ args: ['--resp-port', '0'] });

  for (const pipeline of [1, 16]) {
    it(`completes -t set,get,incr,mset -P ${pipeline} without errors`, async () => {
      const counterUrl = `${server.url}/v1/kv/counter:__rand_int__`;
      const before = await fetch(counterUrl);
      const counterBefore = before.status === 200 ? Number(await before.text()) : 0;
      const args = [
        '-h',
        '127.0.0.1',
        '-p',
        String(server.respPort),
        '-a',
        server.token,
        '-t',
        'set,get,incr,mset',
        '-n',
        '20000',
        '-c',
        '50',
        '-P',
        String(pipeline),
        '--csv',
      ];
      const run = await runBenchmark(args);
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.code, 0, output);
      assert.doesNotMatch(output, /Error from server|replied with error|ERR /, output);
      const rows = new Map<string, number>();
      for (const line of run.stdout.split('\n')) {
        const cells = line
          .trim()
          .split(',')
          .map((cell) => cell.replace(/"/g, ''));
        if (cells.length > 2 && cells[0] !== 'test') rows.set(cells[0]!, Number(cells[1]));
      }
      for (const test of ['SET', 'GET', 'INCR', 'MSET (10 keys)']) {
        const rps = rows.get(test);
        assert.ok(rps !== undefined && Number.isFinite(rps) && rps > 0, `no result for ${test} in:\n${run.stdout}`);
      }
      // Without -r every INCR hits one key, from 50 clients at once: each must count exactly once.
      const after = await fetch(counterUrl);
      assert.equal(Number(await after.text()), counterBefore + 20000);
    });
  }
});
