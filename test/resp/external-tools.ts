// External programs the RESP tests drive (redis-server, redis-cli, redis-benchmark from the
// Debian packages redis-server and redis-tools). When one is missing the test is skipped, except
// under CI=true, where a missing tool is a failure.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RespTestClient } from './resp-test-client.js';

export function toolAvailable(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** node:test `skip` value: false when the tool exists; throws under CI when it does not. */
export function skipUnlessTool(name: string): false | string {
  if (toolAvailable(name)) return false;
  if (process.env.CI === 'true')
    throw new Error(
      `${name} is required (install the Debian package redis-tools / redis-server); CI=true does not skip`,
    );
  return `${name} is not installed`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerProcess {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts a real redis-server on a free port, in a temp dir, without persistence (or with appendfsync always). */
export async function startRedisServer(options: { durable?: boolean } = {}): Promise<RedisServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kvs-redis-'));
  const persistence = options.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...persistence],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const client = await RespTestClient.connect(port);
      const reply = await client.call('PING');
      client.close();
      if (reply.type === 'simple') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('redis-server did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
