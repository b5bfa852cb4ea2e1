// kvs itself, started exactly as a user would: node bin/kvs.js serve ... on --port 0.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, stopChild, type Child } from '../lib/children.js';
import { httpRequest } from '../lib/http-client.js';
import { systemDir, type BenchContext, type HttpSystem } from './context.js';

export const BENCH_TOKEN = 'bench-token-0123456789abcdef';

export interface KvsOptions {
  readonly workers?: number;
  readonly resp?: boolean;
  /** e.g. etcd://127.0.0.1:2379; default: the embedded lmdb store. */
  readonly store?: string;
  /** Reuse this data directory (start-up runs); default: a fresh one. */
  readonly dataDir?: string;
  readonly readyTimeoutMs?: number;
  /** More `kvs serve` flags (the stall suite's --log-length, --sweep-interval-ms). */
  readonly extraArgs?: readonly string[];
  /** More environment variables for the server process. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface KvsServer {
  readonly baseUrl: string;
  readonly respPort: number | undefined;
  readonly token: string;
  readonly dataDir: string;
  readonly child: Child;
  /** Milliseconds from spawn to the `kvs ready` line. */
  readonly readyMs: number;
  stop(): Promise<void>;
}

export class KvsNotBuiltError extends Error {}

export function requireKvsBuilt(repoRoot: string): void {
  const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) {
    throw new KvsNotBuiltError(`kvs is not built: ${main} is missing. Run \`npx tsc -p .\` (or npm run build) first.`);
  }
}

export function kvsArgs(context: BenchContext, dataDir: string, tokenFile: string, options: KvsOptions): string[] {
  const args = [
    join(context.repoRoot, 'bin', 'kvs.js'),
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data',
    dataDir,
    '--token-file',
    tokenFile,
  ];
  if (options.workers !== undefined) args.push('--workers', String(options.workers));
  if (options.resp) args.push('--resp-port', '0');
  if (options.store !== undefined) args.push('--store', options.store);
  if (!context.kvsFastPaths) args.push('--fast-paths', 'off');
  if (options.extraArgs !== undefined) args.push(...options.extraArgs);
  return args;
}

export function writeTokenFile(dir: string): string {
  const tokenFile = join(dir, 'tokens.txt');
  writeFileSync(tokenFile, `${BENCH_TOKEN} admin\n`, { mode: 0o600 });
  return tokenFile;
}

export async function startKvs(context: BenchContext, options: KvsOptions = {}): Promise<KvsServer> {
  requireKvsBuilt(context.repoRoot);
  const home = systemDir(context, 'kvs');
  const dataDir = options.dataDir ?? join(home, 'data');
  mkdirSync(dataDir, { recursive: true });
  const tokenFile = writeTokenFile(home);
  const started = process.hrtime.bigint();
  const child = startChild('kvs', process.execPath, kvsArgs(context, dataDir, tokenFile, options), {
    cwd: context.repoRoot,
    ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
  });
  const timeout = options.readyTimeoutMs ?? 60_000;
  // Both lines are awaited at once: their order is not specified.
  const httpReady = child.waitForLine(/kvs ready: (http:\/\/\S+)/, timeout).then((match) => {
    return { match, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  });
  const respReady = options.resp ? child.waitForLine(/kvs resp ready: \S*:(\d+)/, timeout) : Promise.resolve(undefined);
  try {
    const [http, resp] = await Promise.all([httpReady, respReady]);
    return {
      baseUrl: http.match[1]!,
      respPort: resp === undefined ? undefined : Number(resp[1]),
      token: BENCH_TOKEN,
      dataDir,
      child,
      readyMs: http.ms,
      stop: async () => {
        const exit = await stopChild(child);
        if (exit.code !== 0 && exit.signal !== 'SIGTERM') {
          process.stderr.write(`bench: note: kvs exited with code ${exit.code} signal ${exit.signal} on SIGTERM\n`);
        }
      },
    };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

export function kvsHttpSystem(context: BenchContext, server: KvsServer, name: string): HttpSystem {
  const path = (key: string) => `/v1/kv/${encodeURIComponent(key)}`;
  return {
    name: context.kvsFastPaths ? name : `${name}, --fast-paths off`,
    baseUrl: server.baseUrl,
    getSet: { method: 'GET', headers: {}, lines: context.keys.map((key) => ({ path: path(key), body: '' })) },
    putSet: {
      method: 'PUT',
      headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/octet-stream' },
      lines: context.keys.map((key) => ({ path: path(key), body: context.value })),
    },
    async checkGet(key) {
      const answer = await httpRequest(server.baseUrl + path(key));
      if (answer.status !== 200 || answer.body !== context.value)
        throw new Error(`kvs GET ${path(key)}: ${answer.status} ${answer.body.slice(0, 200)}`);
    },
    stop: () => server.stop(),
  };
}
