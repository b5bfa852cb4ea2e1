// Server commands: INFO, DBSIZE, FLUSHDB/FLUSHALL (admin tokens only), COMMAND (enough for
// clients and redis-cli to probe), CONFIG GET (a few read-only values redis-benchmark and
// clients ask for), TIME.

import { arch, cpus, platform, release } from 'node:os';
import {
  defineCommand,
  defineGroupCommand,
  keyIndexes,
  type Command,
  type CommandCall,
  type GroupCommandSpec,
  type RunContext,
} from '../command.js';
import { GlobPattern } from '../glob.js';
import { isWord, lowerWord } from '../numeric-args.js';
import { MapReply, ok, RespError, redisErrors, SimpleReply, VerbatimReply, type Reply } from '../reply.js';
import type { RespServerState } from '../server-state.js';
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

/** Redis's ACL categories of a command, derived from its flags and group. */
function categories(command: Command): string[] {
  const result: string[] = [];
  if (command.flags.includes('write')) result.push('@write');
  if (command.flags.includes('readonly')) result.push('@read');
  const group =
    command.group === 'generic' ? 'keyspace' : command.group === 'transactions' ? 'transaction' : command.group;
  result.push(`@${group}`);
  result.push(command.flags.includes('fast') ? '@fast' : '@slow');
  if (command.access === 'admin') result.push('@dangerous');
  return result;
}

function commandInfo(command: Command): Reply {
  const positions = command.keys;
  const keySpecs: Reply[] = positions
    ? [
        new MapReply([
          [
            'flags',
            command.access === 'write'
              ? [new SimpleReply('RW'), new SimpleReply('UPDATE')]
              : [new SimpleReply('RO'), new SimpleReply('ACCESS')],
          ],
          [
            'begin_search',
            new MapReply([
              ['type', 'index'],
              ['spec', new MapReply([['index', positions.first]])],
            ]),
          ],
          [
            'find_keys',
            new MapReply([
              ['type', 'range'],
              [
                'spec',
                new MapReply([
                  ['lastkey', positions.last < 0 ? positions.last : positions.last - positions.first],
                  ['keystep', positions.step],
                  ['limit', 0],
                ]),
              ],
            ]),
          ],
        ]),
      ]
    : [];
  return [
    command.name,
    command.arity,
    command.flags.map((flag) => new SimpleReply(flag)),
    positions?.first ?? 0,
    positions?.last ?? 0,
    positions?.step ?? 0,
    categories(command).map((category) => new SimpleReply(category)),
    [],
    keySpecs,
    (command.subcommands ?? []).map(commandInfo),
  ];
}

function commandDocs(command: Command): Reply {
  const entries: [Reply, Reply][] = [
    ['summary', command.summary],
    ['since', command.since],
    ['group', command.group],
    ['complexity', command.complexity],
  ];
  if (command.subcommands) {
    entries.push(['subcommands', new MapReply(command.subcommands.map((sub) => [sub.name, commandDocs(sub)]))]);
  }
  return new MapReply(entries);
}

const commandHelp = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all commands.',
  'COUNT',
  '    Return the total number of commands.',
  'LIST',
  '    Return a list of all commands.',
  'INFO [<command-name> ...]',
  '    Return details about multiple commands.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple commands.',
  'GETKEYS <full-command>',
  '    Return the keys from a full command.',
  'HELP',
  '    Print this help.',
];

const serverCommand = (spec: GroupCommandSpec): Command => defineGroupCommand('server', ['loading', 'stale'], spec);

function lookupByName(server: RespServerState, name: Buffer): Command | undefined {
  const text = lowerWord(name);
  const [container, sub] = text.split('|');
  const command = server.commands.get(container!);
  if (sub === undefined) return command;
  return command?.subcommands?.find((candidate) => candidate.name === text);
}

const commandSubcommands: readonly Command[] = [
  serverCommand({
    name: 'command|count',
    arity: 2,
    summary: 'Get total number of Redis commands',
    since: '2.8.13',
    run: (context) => context.server.commands.size,
  }),
  serverCommand({
    name: 'command|list',
    arity: -2,
    summary: 'Get an array of Redis command names',
    since: '7.0.0',
    complexity: 'O(N) where N is the total number of Redis commands',
    run: (context) => [...context.server.commands.keys()],
  }),
  serverCommand({
    name: 'command|info',
    arity: -2,
    summary: 'Get array of specific Redis command details, or all when no argument is given.',
    since: '2.8.13',
    complexity: 'O(N) where N is the number of commands to look up',
    run(context) {
      if (context.args.length === 2) return [...context.server.commands.values()].map(commandInfo);
      // Each name can cost a reply of kilobytes: at most maxBatch names (200,000 names, a 1.8 MB
      // request, made a 45.8 MB reply and stalled the server for 3.6 s).
      context.service.validateBatch(context.args.length - 2);
      return context.args.slice(2).map((name) => {
        const command = lookupByName(context.server, name);
        return command ? commandInfo(command) : null;
      });
    },
  }),
  serverCommand({
    name: 'command|docs',
    arity: -2,
    summary: 'Get array of specific Redis command documentation',
    since: '7.0.0',
    complexity: 'O(N) where N is the number of commands to look up',
    run(context) {
      context.service.validateBatch(context.args.length - 2);
      const commands =
        context.args.length === 2
          ? [...context.server.commands.values()]
          : context.args.slice(2).flatMap((name) => {
              const command = lookupByName(context.server, name);
              return command ? [command] : [];
            });
      return new MapReply(commands.map((command) => [command.name, commandDocs(command)]));
    },
  }),
  serverCommand({
    name: 'command|getkeys',
    arity: -3,
    summary: 'Extract keys given a full Redis command',
    since: '2.8.13',
    complexity: 'O(N) where N is the number of arguments to the command',
    run(context) {
      const args = context.args.slice(2);
      const command = context.server.commands.get(lowerWord(args[0]!));
      if (command === undefined) throw new RespError('ERR Invalid command specified');
      const arity = command.arity;
      if ((arity > 0 && args.length !== arity) || (arity < 0 && args.length < -arity)) {
        throw new RespError('ERR Invalid number of arguments specified for command');
      }
      const indexes = keyIndexes(command.keys, args.length);
      if (indexes.length === 0) throw new RespError('ERR The command has no key arguments');
      return indexes.map((index) => args[index]!);
    },
  }),
  serverCommand({
    name: 'command|help',
    arity: 2,
    summary: 'Show helpful text about the different subcommands',
    since: '5.0.0',
    run: () => commandHelp.map((line) => new SimpleReply(line)),
  }),
];

/** The values CONFIG GET reports (read-only: kvs is configured on its command line). */
function configValues(server: RespServerState): [string, string][] {
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
    complexity: 'O(1)',
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
    complexity: 'O(1)',
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
  defineCommand({
    name: 'command',
    arity: -1,
    flags: ['loading', 'stale'],
    group: 'server',
    summary: 'Get array of Redis command details',
    since: '2.8.13',
    complexity: 'O(N) where N is the total number of Redis commands',
    access: 'none',
    run: (context) => [...context.server.commands.values()].map(commandInfo),
    subcommands: commandSubcommands,
  }),
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
