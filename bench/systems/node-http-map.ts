// The bare node:http-over-a-Map peer (bench/peers/node-http-map.ts) as a measured system; with
// `aofSync`, its PUTs are answered once appended to a file and fdatasynced (--aof): Node's
// ceiling for a durable PUT.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, stopChild } from '../lib/children.js';
import { httpRequest } from '../lib/http-client.js';
import { type BenchContext, type HttpSystem, systemDir } from './context.js';

export async function startNodeHttpMap(context: BenchContext, aofSync?: 'pool' | 'loop'): Promise<HttpSystem> {
  const script = join(context.repoRoot, 'dist', 'bench', 'peers', 'node-http-map.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npx tsc -p .\` first`);
  const args = [script, '--host', '127.0.0.1', '--port', '0'];
  if (aofSync !== undefined)
    args.push('--aof', join(systemDir(context, 'node-http-aof'), 'appendonly.aof'), '--aof-sync', aofSync);
  const child = startChild('node-http-map', process.execPath, args);
  const ready = await child.waitForLine(/node-http-map ready: (http:\/\/\S+)/, 15_000);
  const baseUrl = ready[1]!;
  const headers = { 'Content-Type': 'application/octet-stream' };
  return {
    name:
      aofSync === undefined
        ? 'node:http + Map'
        : `node:http + Map + AOF (fdatasync ${aofSync === 'pool' ? 'on the thread pool' : 'on the event loop'})`,
    baseUrl,
    getSet: { method: 'GET', headers: {}, lines: context.keys.map((key) => ({ path: `/${key}`, body: '' })) },
    putSet: { method: 'PUT', headers, lines: context.keys.map((key) => ({ path: `/${key}`, body: context.value })) },
    async checkGet(key) {
      const answer = await httpRequest(`${baseUrl}/${key}`);
      if (answer.status !== 200 || answer.body !== context.value)
        throw new Error(`node-http-map GET /${key}: ${answer.status} ${answer.body.slice(0, 200)}`);
    },
    stop: async () => void (await stopChild(child)),
  };
}
