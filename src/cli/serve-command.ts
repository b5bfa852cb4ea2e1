// `kvs serve`: flags (each also settable as KVS_<FLAG>) -> a validated Config -> runServer.

import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, defaultConfig, parseDuration, parseStore, validateConfig, type Config } from '../core/config.js';
import { defaultLimits, type Limits } from '../core/limits.js';
import { fitLimitsToStore, storeBounds } from '../core/store-limits.js';
import { EngineUnavailableError } from '../storage/index.js';
import { preflight } from './serve-preflight.js';
import { EXIT_FAILED, EXIT_USAGE, reportFailure } from './usage.js';

function envName(flag: string): string {
  return `KVS_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

function option(flags: string, description: string, defaultValue?: string | boolean): Option {
  const long = flags.split(/[ ,]+/).find((part) => part.startsWith('--'))!;
  const made = new Option(flags, description).env(envName(long));
  return defaultValue === undefined ? made : made.default(defaultValue);
}

/** A whole number; its range is checked with the whole config (validateConfig). */
function integer(): (text: string) => number {
  return (text: string) => {
    if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError('expected a whole number.');
    return Number(text);
  };
}

const limitFlags: [keyof Limits, string, string][] = [
  ['maxKeyBytes', '--max-key-bytes <n>', 'longest key, in UTF-8 bytes'],
  ['maxValueBytes', '--max-value-bytes <n>', 'largest value, in bytes'],
  ['maxBodyBytes', '--max-body-bytes <n>', 'largest request body (seed POST form, txn), in bytes'],
  ['maxBatch', '--max-batch <n>', 'most pairs per seed POST / keys per ?k= list / operations per txn'],
  ['maxUrlBytes', '--max-url-bytes <n>', 'longest request URL, in bytes'],
  ['maxConnections', '--max-connections <n>', 'most open connections per listener'],
  ['headersTimeoutMs', '--headers-timeout-ms <n>', 'time a client has to send request headers'],
  ['requestTimeoutMs', '--request-timeout-ms <n>', 'time a client has to send a whole request'],
  ['maxListLimit', '--max-list-limit <n>', 'largest page of GET /v1/kv'],
  ['watchBufferEvents', '--watch-buffer-events <n>', 'events buffered for a slow watcher before it is disconnected'],
  ['watchBufferBytes', '--watch-buffer-bytes <n>', 'bytes buffered for a slow watcher before it is disconnected'],
  [
    'watchBufferTotalBytes',
    '--watch-buffer-total-bytes <n>',
    'bytes buffered for all watchers of a process before those with a backlog are disconnected',
  ],
  ['authFailures', '--auth-failures <n>', 'failed authentications per client per window before 429'],
  ['authFailureWindowMs', '--auth-failure-window-ms <n>', 'window of the failed-authentication limit'],
  [
    'authFailuresGlobal',
    '--auth-failures-global <n>',
    'failed authentications from all clients per window before every client gets 429',
  ],
  [
    'authTrackedClients',
    '--auth-tracked-clients <n>',
    'most client addresses the failure limit remembers (about 450 bytes each)',
  ],
  ['maxRespRequestBytes', '--max-resp-request-bytes <n>', 'largest RESP command, in bytes'],
  ['maxRespArguments', '--max-resp-arguments <n>', 'most arguments of one RESP command'],
  [
    'maxRespOutputBytes',
    '--max-resp-output-bytes <n>',
    'unsent RESP replies one connection may hold before it is disconnected, in bytes',
  ],
  [
    'maxRespClientsBytes',
    '--max-resp-clients-bytes <n>',
    'bytes all RESP connections together may hold before the largest is disconnected',
  ],
];

export function serveCommand(): Command {
  const command = new Command('serve')
    .description(
      'Start the kvs server (HTTP, and RESP with --resp-port). Every flag can also be set as KVS_<FLAG>, e.g. KVS_PORT=9000.',
    )
    .addOption(option('--host <address>', 'address to listen on', defaultConfig.host))
    .addOption(option('--port <n>', 'HTTP port (0 = any free port)', String(defaultConfig.port)).argParser(integer()))
    .addOption(option('--data <dir>', 'data directory (lmdb store, default token file)', defaultConfig.dataDir))
    .addOption(
      option(
        '--token-file <file>',
        'token file (TOKEN [read|write|admin] [PREFIX,...] per line; a seed auth.txt works); default DATA/tokens, created with a new admin token at first start',
      ),
    )
    .addOption(option('--private', 'reads need a token too (default: reads are public, writes need a token)'))
    .addOption(
      option(
        '--resp-port <n>',
        'also speak the Redis protocol (RESP2/RESP3) on this port (off unless given; 0 = any free port)',
      ).argParser(integer()),
    )
    .addOption(
      option('--workers <n>', 'number of server processes sharing the port and the store', '1').argParser(integer()),
    )
    .addOption(
      option(
        '--store <store>',
        'storage engine: lmdb (embedded, default) | memory (not durable) | etcd://host:2379[,host:2379...] (etcds:// for TLS)',
        'lmdb',
      ),
    )
    .addOption(
      option(
        '--durability <mode>',
        'strict: acknowledge writes after fsync; relaxed: after commit (faster, may lose recent writes on power loss)',
        defaultConfig.durability,
      ).choices(['strict', 'relaxed']),
    )
    .addOption(option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM); needs --tls-key'))
    .addOption(option('--tls-key <file>', 'private key (PEM) for --tls-cert'))
    .addOption(option('--etcd-prefix <prefix>', 'key prefix of this kvs namespace inside etcd', 'kvs/'))
    .addOption(option('--etcd-user <name>', 'etcd user name'))
    .addOption(option('--etcd-password <password>', 'etcd password'))
    .addOption(option('--etcd-ca <file>', 'CA certificate for etcds:// endpoints'))
    .addOption(option('--etcd-cert <file>', 'client certificate for etcds:// endpoints'))
    .addOption(option('--etcd-key <file>', 'client key for etcds:// endpoints'))
    .addOption(
      option(
        '--log-length <n>',
        'revisions kept in the change log (how far back a watch can resume)',
        String(defaultConfig.logLength),
      ).argParser(integer()),
    )
    .addOption(
      option(
        '--log-value-max <n>',
        'values up to this many bytes are included in watch events',
        String(defaultConfig.logValueMax),
      ).argParser(integer()),
    )
    .addOption(
      option(
        '--watch-heartbeat-ms <n>',
        'interval of keep-alive comments on watch streams',
        String(defaultConfig.watchHeartbeatMs),
      ).argParser(integer()),
    )
    .addOption(
      option(
        '--audit-max-bytes <n>',
        'bytes of audit trail kept at most; the oldest entries go first (docs/audit.md)',
        String(defaultConfig.auditRetention.maxBytes),
      ).argParser(integer()),
    )
    .addOption(
      option('--audit-max-age <duration>', 'age of the oldest audit entry kept: ms, or with s, m, h or d (30d)', '30d'),
    )
    .addOption(
      option(
        '--history-versions <n>',
        'versions of each key kept in its history; 0 turns history off (docs/history.md)',
        String(defaultConfig.historyRetention.versions),
      ).argParser(integer()),
    )
    .addOption(
      option(
        '--history-key-bytes <n>',
        "bytes of one key's history kept at most; its oldest versions go first",
        String(defaultConfig.historyRetention.keyBytes),
      ).argParser(integer()),
    )
    .addOption(
      option(
        '--history-max-bytes <n>',
        'bytes of history kept at most for the whole store; the oldest versions go first',
        String(defaultConfig.historyRetention.storeBytes),
      ).argParser(integer()),
    )
    .addOption(
      option(
        '--sweep-interval-ms <n>',
        'how often expired keys are removed in the background',
        String(defaultConfig.sweepIntervalMs),
      ).argParser(integer()),
    )
    .addOption(
      option(
        '--access-log',
        'log every HTTP request and RESP command to stderr as a JSON line (tokens by label, never the secret)',
      ),
    )
    .addOption(
      option(
        '--fast-paths <mode>',
        'on: answer the plain GET and PUT of one key in a lean handler in front of the HTTP framework; off: every request through the framework routes (same answers, slower; for A/B measurements)',
        'on',
      ).choices(['on', 'off']),
    )
    .addOption(
      option(
        '--cors-origin <origins>',
        'allow browser requests from these origins (repeatable or comma-separated, e.g. https://app.example.com; * for any); off by default',
      ).argParser((value: string, previous: string[] | string | undefined) => [
        ...(Array.isArray(previous) ? previous : []),
        ...value.split(','),
      ]),
    )
    .addOption(
      option(
        '--wal <mode>',
        "on: durable writes go through the write-ahead log, lmdb syncs in the background (docs/durability.md); off: the lmdb-only write path, acknowledged after lmdb's own sync (slower; for A/B measurements). --workers always uses the lmdb-only path",
        'on',
      ).choices(['on', 'off']),
    );
  const onEtcd = storeBounds({ ...defaultConfig, store: parseStore('etcd://localhost') });
  for (const [name, flags, description] of limitFlags) {
    const etcdDefault = onEtcd?.[name as keyof typeof onEtcd];
    const note = etcdDefault === undefined ? '' : `; ${etcdDefault} on etcd with per-key history, docs/limits.md`;
    command.addOption(option(flags, `${description} (default ${defaultLimits[name]}${note})`).argParser(integer()));
  }
  command.action(async (flags: Record<string, unknown>) => {
    try {
      // Loaded here so that the client commands do not pay for loading the server (~150 ms).
      const config = configFromFlags(flags);
      await preflight(config);
      const { runServer } = await import('../main.js');
      await runServer(config);
    } catch (error) {
      // Exits at once: a half-started server may hold handles that would keep the process alive.
      const refusal = startRefusal(error);
      reportFailure(refusal.message, error);
      process.exit(refusal.exitCode);
    }
  });
  return command;
}

/**
 * How a failed start is reported: a ConfigError, or an error of the system (a port in use, a
 * file that cannot be read or created) is the operator's to fix (exit 2); anything else is a bug.
 */
export function startRefusal(error: unknown): { message: string; exitCode: number } {
  if (error instanceof ConfigError) {
    return { message: withAdvice(error.message, adviceForRefusal(error.message)), exitCode: EXIT_USAGE };
  }
  // The store (an etcd cluster not answering, a damaged lmdb file) is the operator's to fix.
  if (error instanceof EngineUnavailableError)
    return { message: `cannot start: ${error.message} (unavailable)`, exitCode: EXIT_USAGE };
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code))
    return {
      message: withAdvice(`cannot start: ${message}`, 'check the paths and ports given; --debug shows where'),
      exitCode: EXIT_USAGE,
    };
  return {
    message: `cannot start: ${message}; this is a bug in kvs, run again with --debug and report it (internal)`,
    exitCode: EXIT_FAILED,
  };
}

const SEE_HELP = 'see `kvs serve --help`';

/** What to do about a refusal that does not say it (docs/errors.md, "Start-up refusals"). */
function adviceForRefusal(message: string): string {
  if (/^store_\w+: /.test(message)) return 'see docs/durability.md, "Damaged or missing store"';
  if (message.startsWith('another kvs process')) return 'stop that process, or give another --data';
  return SEE_HELP;
}

/** `message` followed by `; advice`, unless it already says what to do. */
function withAdvice(message: string, advice: string): string {
  return message.includes('; ') ? message : `${message}; ${advice}`;
}

/** `--cors-origin` values: `*` or origins such as https://app.example.com:8443 (no path). */
function corsOrigins(value: unknown): string[] {
  const list = (Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [])
    .map((origin: string) => origin.trim())
    .filter((origin: string) => origin !== '');
  for (const origin of list) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin !== origin)
      throw new ConfigError(
        `--cors-origin ${JSON.stringify(origin)} is not an origin; write it as scheme://host[:port] with no path, e.g. https://app.example.com`,
      );
  }
  return list;
}

export function configFromFlags(flags: Record<string, unknown>): Config {
  const text = (name: string): string | undefined =>
    typeof flags[name] === 'string' ? (flags[name] as string) : undefined;
  const limits: Record<string, number> = { ...defaultLimits };
  const given = new Set<keyof Limits>();
  for (const [name] of limitFlags) {
    if (typeof flags[name] !== 'number') continue;
    limits[name] = flags[name] as number;
    given.add(name);
  }
  const config = validateConfig({
    ...defaultConfig,
    host: text('host') ?? defaultConfig.host,
    port: typeof flags.port === 'number' ? flags.port : Number(flags.port ?? defaultConfig.port),
    dataDir: text('data') ?? defaultConfig.dataDir,
    tokenFile: text('tokenFile'),
    privateReads: flags.private === true || flags.private === 'true' || flags.private === '1',
    respPort: typeof flags.respPort === 'number' ? flags.respPort : undefined,
    workers: typeof flags.workers === 'number' ? flags.workers : Number(flags.workers ?? 1),
    store: parseStore(text('store') ?? 'lmdb', {
      prefix: text('etcdPrefix'),
      username: text('etcdUser'),
      password: text('etcdPassword'),
      caFile: text('etcdCa'),
      certFile: text('etcdCert'),
      keyFile: text('etcdKey'),
    }),
    durability: (text('durability') ?? defaultConfig.durability) as Config['durability'],
    tlsCert: text('tlsCert'),
    tlsKey: text('tlsKey'),
    limits: limits as unknown as Limits,
    logLength:
      typeof flags.logLength === 'number' ? flags.logLength : Number(flags.logLength ?? defaultConfig.logLength),
    logValueMax:
      typeof flags.logValueMax === 'number'
        ? flags.logValueMax
        : Number(flags.logValueMax ?? defaultConfig.logValueMax),
    watchHeartbeatMs:
      typeof flags.watchHeartbeatMs === 'number'
        ? flags.watchHeartbeatMs
        : Number(flags.watchHeartbeatMs ?? defaultConfig.watchHeartbeatMs),
    sweepIntervalMs:
      typeof flags.sweepIntervalMs === 'number'
        ? flags.sweepIntervalMs
        : Number(flags.sweepIntervalMs ?? defaultConfig.sweepIntervalMs),
    accessLog: flags.accessLog === true,
    fastPaths: text('fastPaths') !== 'off',
    writeAheadLog: text('wal') !== 'off',
    corsOrigins: corsOrigins(flags.corsOrigin),
    auditRetention: {
      maxBytes:
        typeof flags.auditMaxBytes === 'number'
          ? flags.auditMaxBytes
          : Number(flags.auditMaxBytes ?? defaultConfig.auditRetention.maxBytes),
      maxAgeMs:
        text('auditMaxAge') === undefined
          ? defaultConfig.auditRetention.maxAgeMs
          : parseDuration('--audit-max-age', text('auditMaxAge')!),
    },
    historyRetention: {
      versions: wholeFlag(flags.historyVersions, defaultConfig.historyRetention.versions),
      keyBytes: wholeFlag(flags.historyKeyBytes, defaultConfig.historyRetention.keyBytes),
      storeBytes: wholeFlag(flags.historyMaxBytes, defaultConfig.historyRetention.storeBytes),
    },
  });
  return fitLimitsToStore(config, given);
}

/** A whole-number flag as commander gives it (a number once parsed, a string as the default). */
function wholeFlag(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : Number(value ?? fallback);
}
