// COMMAND and its subcommands (COUNT, LIST, INFO, DOCS, GETKEYS, HELP): what clients and
// redis-cli probe to learn the commands kvs answers, derived from each command's metadata
// (command.ts). Names asked for are at most maxBatch per request.

import {
  defineCommand,
  defineGroupCommand,
  keyIndexes,
  type Command,
  type GroupCommandSpec,
  type ListenerContext,
} from '../command.js';
import { lowerWord } from '../numeric-args.js';
import { MapReply, RespError, SimpleReply, type Reply } from '../reply.js';

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

function lookupByName(server: ListenerContext, name: Buffer): Command | undefined {
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

export const commandCommand: Command = defineCommand({
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
});
