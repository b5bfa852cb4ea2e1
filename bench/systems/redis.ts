// redis-server on a free port in its own directory: no persistence, or append-only with an
// fsync per write (`appendfsync always`), the durable comparison.

import { startChild, stopChild } from '../lib/children.js';
import { freePort } from '../lib/ports.js';
import { systemDir, type BenchContext } from './context.js';

export interface RedisServer {
  readonly port: number;
  readonly durable: boolean;
  /** The redis-server process. */
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startRedis(context: BenchContext, durable: boolean): Promise<RedisServer> {
  const dir = systemDir(context, durable ? 'redis-aof' : 'redis');
  const port = await freePort();
  const persistence = durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child = startChild(durable ? 'redis-server (appendfsync always)' : 'redis-server', 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    ...persistence,
    '--dir',
    dir,
    '--daemonize',
    'no',
  ]);
  await child.waitForLine(/Ready to accept connections/, 15_000);
  return { port, durable, pid: child.pid, stop: async () => void (await stopChild(child)) };
}
