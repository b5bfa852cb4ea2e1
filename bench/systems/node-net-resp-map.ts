// The bare node:net RESP-over-a-Map peer (bench/peers/node-net-resp-map.ts) as a measured system;
// with `aofSync`, its SETs go to an append-only file fdatasynced before they are answered (--aof),
// on the event loop thread (redis's way) or on libuv's thread pool (kvs's rule).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, stopChild } from '../lib/children.js';
import { type BenchContext, systemDir } from './context.js';

export interface RespPeer {
  readonly port: number;
  /** The peer's process. */
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startNodeNetRespMap(context: BenchContext, aofSync?: 'loop' | 'pool'): Promise<RespPeer> {
  const script = join(context.repoRoot, 'dist', 'bench', 'peers', 'node-net-resp-map.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npx tsc -p .\` first`);
  const args = [script, '--host', '127.0.0.1', '--port', '0'];
  if (aofSync !== undefined)
    args.push('--aof', join(systemDir(context, 'node-net-resp-aof'), 'appendonly.aof'), '--aof-sync', aofSync);
  const child = startChild('node-net-resp-map', process.execPath, args);
  const ready = await child.waitForLine(/node-net-resp-map ready: [\d.]+:(\d+)/, 15_000);
  return { port: Number(ready[1]), pid: child.pid, stop: async () => void (await stopChild(child)) };
}
