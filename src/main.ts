// The composition root: config -> engine -> core -> front ends. Also runs `--workers N` as a
// node:cluster of N processes over the same store.

import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuthFailureLimiter } from './core/auth-limiter.js';
import { ConfigError, type Config } from './core/config.js';
import { ExpirySweeper } from './core/expiry-sweeper.js';
import { KvService } from './core/service.js';
import { TokenFileError, TokenStore, ensureTokenFile } from './core/tokens.js';
import { KVS_VERSION } from './core/version.js';
import { startEventLoopDelayReport } from './core/event-loop-delay-report.js';
import { WatchHub } from './core/watch-hub.js';
import { diskUsageBytes } from './core/disk-usage.js';
import { createLogger, type Logger } from './core/logger.js';
import { KvsMetrics } from './core/metrics.js';
import { lockStore, makePrivateDir, openEngine, StoreOpenError } from './storage/index.js';

export interface RunningServer {
  readonly url: string;
  readonly respPort: number | undefined;
  close(): Promise<void>;
}

/** The process's log: JSON lines on stderr (docs/observability.md). */
let processLogger: Logger | undefined;
function logger(): Logger {
  processLogger ??= createLogger();
  return processLogger;
}

/** Something went wrong while serving (not a refused start: those are one line, serve-command.ts). */
const log = (message: string): void => {
  logger().error(message);
};

export function tokenFileOf(config: Config): string {
  return config.tokenFile ?? join(config.dataDir, 'tokens');
}

/** The data directory, created 0700 when missing; a failure is one line naming --data. */
function makeDataDir(config: Config): void {
  try {
    makePrivateDir(config.dataDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(
      `--data: cannot create the data directory ${config.dataDir} (${code}); give a directory this user can create or write`,
    );
  }
}

/**
 * Creates the default token file at first start. Returns the notice that shows the new token once
 * (never logged), for the caller to print when the server is ready, so that a start that fails
 * never shows a token.
 */
export function prepareTokens(config: Config): string | undefined {
  if (config.tokenFile !== undefined) return undefined;
  makeDataDir(config);
  const path = tokenFileOf(config);
  const token = ensureTokenFile(path);
  if (token === undefined) return undefined;
  return (
    `kvs: no token existed, so one admin token was created and saved (mode 0600) in ${path}.\n` +
    `kvs: it is shown only this once:\n\n    ${token}\n\n`
  );
}

/**
 * Undoes what a failed start created: the default token file, and the data directory when it did
 * not exist before (nothing else can be in it yet: it is locked by this process). Nothing that
 * existed before the start is touched.
 */
function undoOnFailure(config: Config): () => void {
  const dirExisted = existsSync(config.dataDir);
  const createsTokenFile = config.tokenFile === undefined && !existsSync(tokenFileOf(config));
  return () => {
    try {
      if (!dirExisted) rmSync(config.dataDir, { recursive: true, force: true });
      else if (createsTokenFile) rmSync(tokenFileOf(config), { force: true });
    } catch {
      // The start's own error is the one to report.
    }
  };
}

/** The token file, or a one-line ConfigError naming what is wrong with it. */
function loadTokens(path: string): TokenStore {
  try {
    return TokenStore.fromFile(path);
  } catch (error) {
    if (error instanceof TokenFileError) throw new ConfigError(`${path}: ${error.message}`);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ConfigError(
        `token file ${path} does not exist; create it (one token per line) or leave out --token-file`,
      );
    if (code === 'EACCES' || code === 'EISDIR')
      throw new ConfigError(
        `cannot read the token file ${path} (${code}); give --token-file a file this user can read`,
      );
    throw error;
  }
}

const TOKEN_POLL_MS = 250;

/**
 * The HTTP front end's modules (Fastify and its plugins, the largest part of loading kvs). Loaded
 * on first need; runServer starts loading them before it waits for the store lock, whose helper
 * process takes a while to answer, so that the two overlap.
 */
let httpServerModule: Promise<typeof import('./http/server.js')> | undefined;
function loadHttpServer(): Promise<typeof import('./http/server.js')> {
  httpServerModule ??= import('./http/server.js');
  return httpServerModule;
}

/** Starts one kvs process: engine, core service, HTTP and (optionally) RESP listeners. */
export async function startServer(
  config: Config,
  role: { sweeper: boolean } = { sweeper: true },
): Promise<RunningServer> {
  const tokens = loadTokens(tokenFileOf(config));
  const engine = await asConfigError(() => openEngine(config));
  const metrics = new KvsMetrics();
  if (config.store.kind === 'lmdb') {
    const dataDir = config.dataDir;
    metrics.gauge('kvs_store_disk_bytes', 'Bytes the files of the data directory take on disk (lmdb store)', () =>
      diskUsageBytes(dataDir),
    );
  }
  if (engine.writeStats?.() !== undefined) {
    // Group commit as it runs: mean records per WAL fdatasync, and commits per background lmdb
    // transaction, since start (docs/durability.md, "The write path").
    const ratio = (parts: number, wholes: number) => (wholes === 0 ? 0 : parts / wholes);
    metrics.gauge('kvs_wal_records_per_flush', 'Mean WAL records per fdatasync since start (group commit)', () => {
      const stats = engine.writeStats?.();
      return stats === undefined ? 0 : ratio(stats.walRecords, stats.walFlushes);
    });
    metrics.gauge(
      'kvs_lmdb_commits_per_transaction',
      'Mean acknowledged commits per background lmdb transaction since start',
      () => {
        const stats = engine.writeStats?.();
        return stats === undefined ? 0 : ratio(stats.appliedCommits, stats.applyTransactions);
      },
    );
    // The totals behind both means, so that a scraper can take rates over any window
    // (rate(kvs_wal_records_total) / rate(kvs_wal_flushes_total) is the group-commit factor now):
    // the means above weigh the whole life of the process.
    const total = (field: 'walRecords' | 'walFlushes' | 'applyTransactions' | 'appliedCommits') => () =>
      engine.writeStats?.()?.[field] ?? 0;
    metrics.counter('kvs_wal_records_total', 'WAL records appended and synced since start', total('walRecords'));
    metrics.counter(
      'kvs_wal_flushes_total',
      'WAL flushes (one write and one fdatasync each) since start',
      total('walFlushes'),
    );
    metrics.counter(
      'kvs_lmdb_apply_transactions_total',
      'Background lmdb transactions that applied acknowledged commits since start',
      total('applyTransactions'),
    );
    metrics.counter(
      'kvs_lmdb_applied_commits_total',
      'Acknowledged (or replayed) commits lmdb has applied since start',
      total('appliedCommits'),
    );
    // How far lmdb is behind the WAL: after a start-up that replayed a log, the commits it has
    // still to apply in the background (docs/durability.md, "The write path", step 6).
    metrics.gauge(
      'kvs_lmdb_unapplied_commits',
      'Acknowledged commits (or commits a start-up replayed from the WAL) lmdb has not applied yet',
      () => engine.writeStats?.()?.unappliedCommits ?? 0,
    );
  }
  const service = new KvService(engine, {
    observer: metrics.service,
    limits: config.limits,
    privateReads: config.privateReads,
    tokens,
    authLimiter: new AuthFailureLimiter(config.limits.authFailures, config.limits.authFailureWindowMs, Date.now, {
      globalLimit: config.limits.authFailuresGlobal,
      maxClients: config.limits.authTrackedClients,
    }),
  });
  // Other processes' revocations end this process's open watch streams within this much time
  // (requests and RESP commands check on every call; docs/tokens.md).
  service.tokens.startPolling(TOKEN_POLL_MS);
  const hub = new WatchHub(service);
  const sweeper = new ExpirySweeper(engine, {
    intervalMs: config.sweepIntervalMs,
    batch: 500,
    onError: (error) => log(`expiry sweep failed: ${error instanceof Error ? error.message : String(error)}`),
  });
  if (role.sweeper) sweeper.start();
  const { startHttpServer } = await loadHttpServer();
  const http = await startHttpServer({ service, hub, config, logger: logger(), metrics });
  const resp =
    config.respPort === undefined
      ? undefined
      : await (await import('./resp/resp-server.js')).startRespServer({
          service,
          host: config.host,
          port: config.respPort,
          limits: config.limits,
          log,
          metrics,
          accessLog: config.accessLog ? logger() : undefined,
        });
  let closing: Promise<void> | undefined;
  return {
    url: http.url,
    respPort: resp?.port,
    close: () =>
      (closing ??= (async () => {
        hub.closeAll();
        service.tokens.stopPolling();
        await Promise.allSettled([http.close(), resp?.close()]);
        await sweeper.stop();
        await engine.close();
      })()),
  };
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface WorkerReady {
  readonly kind: 'kvs-ready';
  readonly url: string;
  readonly respPort: number | undefined;
}

/**
 * Runs the server as the CLI does: one process, or a primary with N workers sharing the ports
 * (node:cluster) and the store. Prints `kvs ready: URL` once everything accepts requests.
 */
export async function runServer(config: Config): Promise<void> {
  startEventLoopDelayReport();
  if (config.workers <= 1) {
    const undo = undoOnFailure(config);
    let release: (() => void) | undefined;
    let server: RunningServer;
    let notice: string | undefined;
    // A failed load is met (and reported) where startServer awaits it; a refused start never does.
    loadHttpServer().catch(() => {});
    try {
      if (config.store.kind === 'lmdb') makeDataDir(config);
      release = await asConfigError(() => lockStore(config));
      notice = prepareTokens(config);
      server = await startServer(config);
    } catch (error) {
      release?.();
      undo();
      throw error;
    }
    // The stop handler first: a supervisor may send SIGTERM as soon as it reads the ready line,
    // and a signal without a handler kills the process without a graceful stop.
    onShutdown(async () => {
      await server.close();
      release?.();
    });
    if (notice !== undefined) process.stdout.write(notice);
    announce(config, server.url, server.respPort);
    return;
  }
  if (cluster.isPrimary) {
    const undo = undoOnFailure(config);
    let release: (() => void) | undefined;
    let notice: string | undefined;
    try {
      notice = prepareTokens(config);
      if (config.store.kind === 'lmdb') makeDataDir(config);
      release = await asConfigError(() => lockStore(config));
      // The store is created (and its marker written) here, by one process, before the workers
      // open it: a worker cannot check the store's files while others may be writing them.
      if (config.store.kind === 'lmdb') await (await asConfigError(() => openEngine(config))).close();
    } catch (error) {
      release?.();
      undo();
      throw error;
    }
    process.once('exit', release);
    // Workers listening on port 0 would share one random port per (host, port) pair, so HTTP and
    // RESP would collide: choose the ports here.
    const port = config.port === 0 ? await freePort(config.host) : config.port;
    const respPort = config.respPort === 0 ? await freePort(config.host) : config.respPort;
    const shared = JSON.stringify({ ...config, port, respPort });
    let ready = 0;
    let stopping = false;
    for (let index = 0; index < config.workers; index++) {
      const worker = cluster.fork({ KVS_WORKER_CONFIG: shared, KVS_WORKER_INDEX: String(index) });
      worker.on('message', (message: WorkerReady) => {
        if (message?.kind === 'kvs-ready' && ++ready === config.workers) {
          if (notice !== undefined) process.stdout.write(notice);
          announce(config, message.url, message.respPort);
        }
      });
    }
    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      log(`worker ${worker.process.pid} exited (${signal ?? code}); stopping`);
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.kill('SIGTERM');
      process.exitCode = 1;
    });
    onShutdown(async () => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              worker.once('exit', () => resolve());
              worker.kill('SIGTERM');
            }),
        ),
      );
    });
    return;
  }
  const workerConfig = JSON.parse(process.env.KVS_WORKER_CONFIG ?? '{}') as Config;
  const index = Number(process.env.KVS_WORKER_INDEX ?? '0');
  processLogger = logger().child({ worker: index });
  const server = await startServer(workerConfig, { sweeper: index === 0 });
  onShutdown(() => server.close());
  process.send?.({ kind: 'kvs-ready', url: server.url, respPort: server.respPort } satisfies WorkerReady);
}

/** A store that cannot be opened as configured is a one-line start-up refusal, like a bad flag. */
async function asConfigError<T>(open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (error instanceof StoreOpenError) throw new ConfigError(error.message);
    throw error;
  }
}

/** The ready lines (stdout, for scripts) and the start-up summary (the log). */
function announce(config: Config, url: string, respPort: number | undefined): void {
  const resp = respPort === undefined ? null : `${new URL(url).hostname}:${respPort}`;
  process.stdout.write(`kvs ready: ${url}\n`);
  if (resp !== null) process.stdout.write(`kvs resp ready: ${resp}\n`);
  logger().info(
    {
      http: url,
      resp,
      engine: config.store.kind,
      durability: config.store.kind === 'lmdb' ? config.durability : null,
      // The write path (docs/durability.md): the WAL unless --wal off; --workers share lmdb without it.
      writeAheadLog: config.store.kind === 'lmdb' && config.writeAheadLog && config.workers <= 1,
      dataDir: resolve(config.dataDir),
      workers: config.workers,
      version: KVS_VERSION,
      node: process.version,
      accessLog: config.accessLog,
      privateReads: config.privateReads,
      // Their defaults depend on the store (etcd with per-key history takes less: docs/limits.md).
      maxBatch: config.limits.maxBatch,
      maxValueBytes: config.limits.maxValueBytes,
    },
    'kvs started',
  );
}

function onShutdown(close: () => Promise<void>): void {
  let done = false;
  const stop = (signal: string) => {
    if (done) return;
    done = true;
    const started = performance.now();
    logger().info({ signal }, 'kvs stopping');
    close()
      .then(() => {
        logger().info({ signal, durationMs: Math.round(performance.now() - started) }, 'kvs stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        log(`error while stopping on ${signal}: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
