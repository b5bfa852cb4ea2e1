// A RESP listener started in the test process over a KvService on the memory engine (or lmdb
// in a temp dir): real sockets, no child process. Known tokens: admin, write, read, and a write
// token limited to the prefix `app:`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import { defaultLimits, type Limits } from '../../src/core/limits.js';
import { KvService } from '../../src/core/service.js';
import { TokenStore } from '../../src/core/tokens.js';
import { startRespServer } from '../../src/resp/resp-server.js';
import type { Engine } from '../../src/storage/engine.js';
import { LmdbEngine } from '../../src/storage/lmdb/lmdb-engine.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';

export const tokens = {
  admin: 'admin-token',
  write: 'write-token',
  read: 'read-token',
  appWriter: 'app-writer-token',
} as const;

export interface InProcessServer {
  readonly port: number;
  readonly service: KvService;
  readonly engine: Engine;
  /** Lines logged by the server. */
  readonly logged: string[];
  close(): Promise<void>;
}

export async function startInProcessServer(
  options: {
    limits?: Partial<Limits>;
    privateReads?: boolean;
    engine?: 'memory' | 'lmdb';
    clock?: () => number;
    host?: string;
  } = {},
): Promise<InProcessServer> {
  const limits: Limits = { ...defaultLimits, ...options.limits };
  let directory: string | undefined;
  let engine: Engine;
  if (options.engine === 'lmdb') {
    directory = mkdtempSync(join(tmpdir(), 'kvs-resp-'));
    engine = new LmdbEngine({ path: directory, durability: 'strict', logLength: 1000, logValueMax: 1024 });
  } else {
    engine = new MemoryEngine({ logLength: 1000, logValueMax: 1024 });
  }
  const store = new TokenStore([
    { token: tokens.admin, grant: { scope: 'admin', prefixes: [], label: 'admin' } },
    { token: tokens.write, grant: { scope: 'write', prefixes: [], label: 'write' } },
    { token: tokens.read, grant: { scope: 'read', prefixes: [], label: 'read' } },
    { token: tokens.appWriter, grant: { scope: 'write', prefixes: ['app:'], label: 'app' } },
  ]);
  const service = new KvService(engine, {
    limits,
    privateReads: options.privateReads ?? false,
    tokens: store,
    authLimiter: new AuthFailureLimiter(limits.authFailures, limits.authFailureWindowMs),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const logged: string[] = [];
  const server = await startRespServer({
    service,
    host: options.host ?? '127.0.0.1',
    port: 0,
    limits,
    log: (line) => logged.push(line),
  });
  return {
    port: server.port,
    service,
    engine,
    logged,
    async close() {
      await server.close();
      await engine.close();
      if (directory) rmSync(directory, { recursive: true, force: true });
    },
  };
}
