// A single-member etcd (fsync per commit) and its JSON gateway, which takes base64 keys/values.

import { startChild, stopChild } from '../lib/children.js';
import { httpRequest, waitForHttp } from '../lib/http-client.js';
import { freePort } from '../lib/ports.js';
import { systemDir, type BenchContext, type HttpSystem } from './context.js';

export interface EtcdServer {
  readonly clientUrl: string;
  stop(): Promise<void>;
}

export async function startEtcd(context: BenchContext): Promise<EtcdServer> {
  const dir = systemDir(context, 'etcd');
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = startChild('etcd', 'etcd', [
    '--name',
    'n1',
    '--data-dir',
    dir,
    '--listen-client-urls',
    clientUrl,
    '--advertise-client-urls',
    clientUrl,
    '--listen-peer-urls',
    peerUrl,
    '--initial-advertise-peer-urls',
    peerUrl,
    '--initial-cluster',
    `n1=${peerUrl}`,
  ]);
  try {
    await Promise.race([
      waitForHttp(`${clientUrl}/health`, 30_000, (status) => status === 200),
      child.exited.then((exit) => {
        throw new Error(`etcd exited (code ${exit.code}) during start:\n${child.outputTail()}`);
      }),
    ]);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { clientUrl, stop: async () => void (await stopChild(child)) };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** etcd's own HTTP front: POST /v3/kv/range and /v3/kv/put. */
export function etcdGateway(context: BenchContext, etcd: EtcdServer): HttpSystem {
  const headers = { 'Content-Type': 'application/json' };
  const baseUrl = etcd.clientUrl;
  return {
    name: 'etcd gateway',
    baseUrl,
    getSet: {
      method: 'POST',
      headers,
      lines: context.keys.map((key) => ({ path: '/v3/kv/range', body: JSON.stringify({ key: b64(key) }) })),
    },
    putSet: {
      method: 'POST',
      headers,
      lines: context.keys.map((key) => ({
        path: '/v3/kv/put',
        body: JSON.stringify({ key: b64(key), value: b64(context.value) }),
      })),
    },
    async checkGet(key) {
      const answer = await httpRequest(`${baseUrl}/v3/kv/range`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ key: b64(key) }),
      });
      const found =
        answer.status === 200 ? (JSON.parse(answer.body) as { kvs?: { value?: string }[] }).kvs?.[0]?.value : undefined;
      if (found === undefined || Buffer.from(found, 'base64').toString() !== context.value) {
        throw new Error(`etcd range ${key}: ${answer.status} ${answer.body.slice(0, 200)}`);
      }
    },
    stop: () => etcd.stop(),
  };
}

export async function startEtcdGateway(context: BenchContext): Promise<HttpSystem> {
  return etcdGateway(context, await startEtcd(context));
}
