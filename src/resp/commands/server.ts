// Server commands: INFO, DBSIZE, FLUSHDB/FLUSHALL (admin tokens only), COMMAND (enough for
// clients and redis-cli to probe; command-introspection.ts), CONFIG GET (a few read-only values
// redis-benchmark and clients ask for), TIME.

import { arch, cpus, platform, release } from 'node:os';
import {
  defineCommand,
  defineGroupCommand,
  type Command,
  type CommandCall,
  type GroupCommandSpec,
  type ListenerContext,
  type RunContext,
} from '../command.js';
import { GlobPattern } from '../../core/glob.js';
import { isWord } from '../numeric-args.js';
import { MapReply, ok, RespError, redisErrors, SimpleReply, VerbatimReply } from '../reply.js';
import { commandCommand } from './command-introspection.js';
import { REDIS_COMPATIBLE_VERSION } from './connection.js';
import { KVS_VERSION } from '../../core/version.js';

/** Deletes every key, page by page (each page one transaction; not atomic as a whole). */
async function flushAll(call: CommandCall): Promise<void> {
  const { service, session } = call;
  const pageSize = Math.min(service.limits.maxListLimit, service.limits.maxBatch);
  let after: string | undefined;
  for (;;) {
    const page = await service.list(session.caller, '', after, pageSize);
    if (page.items.length > 0) {
      await service.txnCountingItems(
        session.caller,
        [],
        page.items.map((item) => ({ type: 'delete', key: item.key })),
      );
    }
    if (page.next === null) return;
    after = page.next;
  }
}

const flushCommand = (name: 'flushdb' | 'flushall'): Command =>
  defineCommand({
    name,
    arity: -1,
    flags: ['write'],
    group: 'server',
    summary: name === 'flushdb' ? 'Remove all keys from the current database' : 'Remove all keys from all databases',
    since: '1.0.0',
    complexity: 'O(N) where N is the total number of keys in all databases',
    access: 'admin',
    notInMulti: `ERR ${name.toUpperCase()} inside MULTI is not supported by kvs`,
    async execute(call) {
      const args = call.args;
      if (args.length > 2 || (args.length === 2 && !isWord(args[1]!, 'async') && !isWord(args[1]!, 'sync'))) {
        throw new RespError(redisErrors.syntax);
      }
      await flushAll(call);
      return ok;
    },
  });

const serverCommand = (spec: GroupCommandSpec): Command => defineGroupCommand('server', ['loading', 'stale'], spec);

/** The values CONFIG GET reports (read-only: kvs is configured on its command line). */
function configValues(server: ListenerContext): [string, string][] {
  return [
    ['appendonly', 'yes'],
    ['bind', server.host],
    ['databases', '1'],
    ['maxclients', String(server.limits.maxConnections)],
    ['maxmemory', '0'],
    ['maxmemory-policy', 'noeviction'],
    ['port', String(server.port)],
    ['proto-max-bulk-len', String(server.limits.maxValueBytes)],
    ['save', ''],
    ['timeout', '0'],
  ];
}

const configSubcommands: readonly Command[] = [
  serverCommand({
    name: 'config|get',
    arity: -3,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    summary: 'Get the values of configuration parameters',
    since: '2.0.0',
    complexity: 'O(N) when N is the number of configuration parameters provided',
    run(context) {
      context.service.validateBatch(context.args.length - 2);
      const patterns = context.args
        .slice(2)
        .map((pattern) => new GlobPattern(Buffer.from(pattern.toString('latin1').toLowerCase(), 'latin1')));
      const entries = configValues(context.server).filter(([name]) =>
        patterns.some((pattern) => pattern.matches(name)),
      );
      return new MapReply(entries);
    },
  }),
  serverCommand({
    name: 'config|set',
    arity: -4,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    summary: 'Set configuration parameters to the given values',
    since: '2.0.0',
    complexity: 'O(N) when N is the number of configuration parameters provided',
    run(context) {
      const name = context.args[2]!.toString('utf8');
      const known = configValues(context.server).some(([candidate]) => candidate === name.toLowerCase());
      if (known)
        throw new RespError(
          `ERR CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`,
        );
      throw new RespError(`ERR Unknown option or number of arguments for CONFIG SET - '${name}'`);
    },
  }),
  serverCommand({
    name: 'config|resetstat',
    arity: 2,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    access: 'admin',
    summary: 'Reset the stats returned by INFO',
    since: '2.0.0',
    run(context) {
      const stats = context.server.stats;
      stats.commandsProcessed = 0;
      stats.connectionsReceived = 0;
      stats.rejectedConnections = 0;
      return ok;
    },
  }),
  serverCommand({
    name: 'config|rewrite',
    arity: 2,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    summary: 'Rewrite the configuration file with the in memory configuration',
    since: '2.8.0',
    run() {
      throw new RespError('ERR The server is running without a config file');
    },
  }),
  serverCommand({
    name: 'config|help',
    arity: 2,
    summary: 'Show helpful text about the different subcommands',
    since: '5.0.0',
    run: () =>
      [
        'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
        'GET <pattern>',
        '    Return parameters matching the glob-like <pattern> and their values.',
        'HELP',
        '    Print this help.',
      ].map((line) => new SimpleReply(line)),
  }),
];

const defaultSections = [
  'server',
  'clients',
  'memory',
  'persistence',
  'stats',
  'replication',
  'cpu',
  'modules',
  'errorstats',
  'cluster',
  'keyspace',
];

function infoText(context: RunContext, keyCount: number): string {
  const { args, server } = context;
  const requested = args.slice(1).map((arg) => arg.toString('latin1').toLowerCase());
  const everything = requested.includes('all') || requested.includes('everything');
  const wanted =
    requested.length === 0 || requested.includes('default') || everything
      ? new Set(defaultSections)
      : new Set(requested);
  const now = Date.now();
  const uptime = Math.floor((now - server.startedAt) / 1000);
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const sections: [string, [string, string | number][]][] = [
    [
      'Server',
      [
        ['redis_version', REDIS_COMPATIBLE_VERSION],
        ['redis_mode', 'standalone'],
        ['kvs_version', KVS_VERSION],
        ['kvs_engine', context.service.engine.kind],
        ['os', `${platform()} ${release()} ${arch()}`],
        ['arch_bits', 64],
        ['multiplexing_api', 'node'],
        ['process_id', process.pid],
        ['tcp_port', server.port],
        ['server_time_usec', now * 1000],
        ['uptime_in_seconds', uptime],
        ['uptime_in_days', Math.floor(uptime / 86400)],
        ['executable', process.execPath],
        ['config_file', ''],
      ],
    ],
    [
      'Clients',
      [
        ['connected_clients', server.sessions.size],
        ['maxclients', server.limits.maxConnections],
        ['blocked_clients', 0],
      ],
    ],
    [
      'Memory',
      [
        ['used_memory', memory.heapUsed + memory.external],
        ['used_memory_rss', memory.rss],
        ['maxmemory', 0],
        ['maxmemory_policy', 'noeviction'],
      ],
    ],
    [
      'Persistence',
      [
        ['loading', 0],
        ['async_loading', 0],
        ['rdb_changes_since_last_save', 0],
        ['rdb_bgsave_in_progress', 0],
        ['aof_enabled', 1],
        ['aof_rewrite_in_progress', 0],
      ],
    ],
    [
      'Stats',
      [
        ['total_connections_received', server.stats.connectionsReceived],
        ['total_commands_processed', server.stats.commandsProcessed],
        ['rejected_connections', server.stats.rejectedConnections],
        ['expired_keys', 0],
        ['evicted_keys', 0],
      ],
    ],
    [
      'Replication',
      [
        ['role', 'master'],
        ['connected_slaves', 0],
      ],
    ],
    [
      'CPU',
      [
        ['used_cpu_sys', (cpu.system / 1e6).toFixed(6)],
        ['used_cpu_user', (cpu.user / 1e6).toFixed(6)],
        ['cpu_count', cpus().length],
      ],
    ],
    ['Modules', []],
    ['Errorstats', []],
    ['Cluster', [['cluster_enabled', 0]]],
    ['Keyspace', keyCount > 0 ? [['db0', `keys=${keyCount},expires=0,avg_ttl=0`]] : []],
  ];
  return sections
    .filter(([title]) => wanted.has(title.toLowerCase()))
    .map(([title, fields]) => `# ${title}\r\n${fields.map(([name, value]) => `${name}:${value}\r\n`).join('')}`)
    .join('\r\n');
}

/** DBSIZE inside MULTI counts the writes queued before it. */
function countAfterWrites(context: RunContext, stored: number): number {
  let count = stored;
  for (const [key, exists] of context.view.pendingKeys()) {
    const before = context.view.existedBefore(key);
    if (exists && !before) count++;
    if (!exists && before) count--;
  }
  return count;
}

export const serverCommands: readonly Command[] = [
  defineCommand<number>({
    name: 'dbsize',
    arity: 1,
    flags: ['readonly', 'fast'],
    group: 'server',
    summary: 'Return the number of keys in the selected database',
    since: '1.0.0',
    access: 'read',
    prepare: (call) => call.service.count(),
    run: (context, count) => countAfterWrites(context, count),
  }),
  flushCommand('flushdb'),
  flushCommand('flushall'),
  defineCommand<number>({
    name: 'info',
    arity: -1,
    flags: ['loading', 'stale'],
    group: 'server',
    summary: 'Get information and statistics about the server',
    since: '1.0.0',
    access: 'read',
    prepare: (call) => call.service.count(),
    run: (context, count) => new VerbatimReply('txt', infoText(context, count)),
  }),
  serverCommand({
    name: 'time',
    arity: 1,
    flags: ['loading', 'stale', 'fast'],
    summary: 'Return the current server time',
    since: '2.6.0',
    run() {
      // Wall clock at process start plus a monotonic clock since: microseconds that never go
      // back (Date.now() plus hrtime's sub-millisecond digits could, by up to 1 ms).
      const micros = BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
      return [String(micros / 1_000_000n), String(micros % 1_000_000n)];
    },
  }),
  commandCommand,
  defineCommand({
    name: 'config',
    arity: -2,
    flags: [],
    group: 'server',
    summary: 'A container for server configuration commands',
    since: '2.0.0',
    complexity: 'Depends on subcommand.',
    access: 'none',
    subcommands: configSubcommands,
  }),
];
