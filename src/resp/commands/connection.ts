// Connection commands: AUTH (the same tokens as HTTP), HELLO (RESP2/RESP3), PING, ECHO,
// SELECT (database 0 only), QUIT, RESET and CLIENT. They touch the session, not the store.

import { isKvsError } from '../../core/errors.js';
import {
  defineCommand,
  defineGroupCommand,
  type ClientDescription,
  type Command,
  type CommandCall,
  type GroupCommandSpec,
  type SessionContext,
} from '../command.js';
import { integerArg, int32Arg, isWord, parseInt64 } from '../numeric-args.js';
import { MapReply, ok, pong, RespError, redisErrors, SimpleReply, VerbatimReply, type Reply } from '../reply.js';

/** The Redis version kvs answers as (HELLO, INFO): the behaviour it implements. */
export const REDIS_COMPATIBLE_VERSION = '7.0.15';

/** Authenticates the session with a token; the RESP username must be `default`. */
function authenticate(call: CommandCall, username: string, token: string): void {
  const { session, service } = call;
  if (username !== 'default') throw new RespError(redisErrors.wrongPass);
  try {
    const caller = service.authenticate(token, session.connection.remoteAddress, 'resp');
    if (caller.principal === undefined) throw new RespError(redisErrors.wrongPass);
    session.caller = caller;
  } catch (error) {
    if (isKvsError(error) && error.code === 'auth_invalid') throw new RespError(redisErrors.wrongPass);
    throw error;
  }
}

function validateClientName(name: Buffer): string {
  for (const byte of name) {
    if (byte < 0x21 || byte > 0x7e) {
      throw new RespError('ERR Client names cannot contain spaces, newlines or special characters.');
    }
  }
  return name.toString('latin1');
}

function helloReply(session: SessionContext): Reply {
  return new MapReply([
    ['server', 'redis'],
    ['version', REDIS_COMPATIBLE_VERSION],
    ['proto', session.protocol],
    ['id', session.id],
    ['mode', 'standalone'],
    ['role', 'master'],
    ['modules', []],
  ]);
}

/** One line of CLIENT LIST / CLIENT INFO, in Redis's field order. */
export function clientInfoLine(session: ClientDescription, now: number): string {
  const { connection } = session;
  const fields: [string, string | number][] = [
    ['id', session.id],
    ['addr', `${connection.remoteAddress}:${connection.remotePort}`],
    ['laddr', `${connection.localAddress}:${connection.localPort}`],
    ['fd', -1],
    ['name', session.name],
    ['age', Math.floor((now - session.createdAt) / 1000)],
    ['idle', Math.floor((now - session.lastActiveAt) / 1000)],
    ['flags', session.multi !== undefined ? 'x' : 'N'],
    ['db', 0],
    ['sub', 0],
    ['psub', 0],
    ['ssub', 0],
    ['multi', session.multi?.length ?? -1],
    ['qbuf', 0],
    ['qbuf-free', 0],
    ['argv-mem', 0],
    ['multi-mem', 0],
    ['rbs', 0],
    ['rbp', 0],
    ['obl', 0],
    ['oll', 0],
    ['omem', 0],
    ['tot-mem', 0],
    ['events', 'r'],
    ['cmd', session.lastCommand],
    ['user', 'default'],
    ['redir', -1],
    ['resp', session.protocol],
    ['lib-name', session.libName],
    ['lib-ver', session.libVersion],
  ];
  return `${fields.map(([name, value]) => `${name}=${value}`).join(' ')}\n`;
}

const connectionCommand = (spec: GroupCommandSpec): Command =>
  defineGroupCommand('connection', ['noscript', 'loading', 'stale', 'fast'], spec);

const clientHelp = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'LIST [TYPE <normal|master|replica|pubsub>] [ID <id> [<id> ...]]',
  '    Return information about client connections.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <LIB-NAME|LIB-VER> <value>',
  '    Set client library name or version (as Redis 7.2 does).',
  'HELP',
  '    Print this help.',
];

const clientSubcommands: readonly Command[] = [
  connectionCommand({
    name: 'client|id',
    arity: 2,
    summary: 'Returns the client ID for the current connection',
    since: '5.0.0',
    run: (context) => context.session.id,
  }),
  connectionCommand({
    name: 'client|getname',
    arity: 2,
    summary: 'Get the current connection name',
    since: '2.6.9',
    run: (context) => (context.session.name === '' ? null : context.session.name),
  }),
  connectionCommand({
    name: 'client|setname',
    arity: 3,
    summary: 'Set the current connection name',
    since: '2.6.9',
    run(context) {
      context.session.name = validateClientName(context.args[2]!);
      return ok;
    },
  }),
  connectionCommand({
    name: 'client|setinfo',
    arity: 4,
    summary: 'Set client or connection specific info',
    since: '7.2.0',
    run(context) {
      const value = context.args[3]!;
      if (isWord(context.args[2]!, 'lib-name')) context.session.libName = validateClientName(value);
      else if (isWord(context.args[2]!, 'lib-ver')) context.session.libVersion = validateClientName(value);
      else throw new RespError(`ERR Unrecognized option '${context.args[2]!.toString('utf8')}'`);
      return ok;
    },
  }),
  connectionCommand({
    name: 'client|info',
    arity: 2,
    summary: 'Returns information about the current client connection.',
    since: '6.2.0',
    run: (context) => new VerbatimReply('txt', clientInfoLine(context.session, Date.now())),
  }),
  connectionCommand({
    name: 'client|list',
    arity: -2,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    // Every connection's address, name and last command: not for anonymous or non-admin tokens.
    access: 'admin',
    summary: 'Get the list of client connections',
    since: '2.4.0',
    complexity: 'O(N) where N is the number of client connections',
    run(context) {
      const { args, server } = context;
      let sessions = [...server.sessions.values()];
      for (let index = 2; index < args.length; index++) {
        if (isWord(args[index]!, 'type') && index + 1 < args.length) {
          const type = args[++index]!.toString('latin1').toLowerCase();
          if (!['normal', 'master', 'replica', 'slave', 'pubsub'].includes(type)) {
            throw new RespError(`ERR Unknown client type '${type}'`);
          }
          if (type !== 'normal') sessions = [];
        } else if (isWord(args[index]!, 'id') && index + 1 < args.length) {
          const ids = new Set<number>();
          while (index + 1 < args.length) {
            const id = parseInt64(args[++index]!);
            if (id === undefined || id <= 0n) throw new RespError('ERR Invalid client ID');
            ids.add(Number(id));
          }
          sessions = sessions.filter((session) => ids.has(session.id));
        } else {
          throw new RespError(redisErrors.syntax);
        }
      }
      const now = Date.now();
      return new VerbatimReply('txt', sessions.map((session) => clientInfoLine(session, now)).join(''));
    },
  }),
  connectionCommand({
    name: 'client|help',
    arity: 2,
    summary: 'Show helpful text about the different subcommands',
    since: '5.0.0',
    run: () => clientHelp.map((line) => new SimpleReply(line)),
  }),
];

export const connectionCommands: readonly Command[] = [
  connectionCommand({
    name: 'ping',
    arity: -1,
    flags: ['fast'],
    summary: 'Ping the server',
    since: '1.0.0',
    run(context) {
      if (context.args.length > 2) throw new RespError("ERR wrong number of arguments for 'ping' command");
      return context.args.length === 2 ? context.args[1]! : pong;
    },
  }),
  connectionCommand({
    name: 'echo',
    arity: 2,
    flags: ['fast'],
    summary: 'Echo the given string',
    since: '1.0.0',
    run: (context) => context.args[1]!,
  }),
  connectionCommand({
    name: 'select',
    arity: 2,
    flags: ['loading', 'stale', 'fast'],
    summary: 'Change the selected database for the current connection',
    since: '1.0.0',
    run(context) {
      // kvs has one database.
      if (int32Arg(context.args[1]!) !== 0) throw new RespError(redisErrors.dbIndex);
      return ok;
    },
  }),
  connectionCommand({
    name: 'auth',
    arity: -2,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    summary: 'Authenticate to the server',
    since: '1.0.0',
    complexity: 'O(N) where N is the number of passwords defined for the user',
    run(context) {
      const args = context.args;
      if (args.length > 3) throw new RespError(redisErrors.syntax);
      const username = args.length === 3 ? args[1]!.toString('utf8') : 'default';
      authenticate(context, username, args[args.length - 1]!.toString('utf8'));
      return ok;
    },
  }),
  connectionCommand({
    name: 'hello',
    arity: -1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    summary: 'Handshake with Redis',
    since: '6.0.0',
    run(context) {
      const { args, session, service } = context;
      let protocol: 2 | 3 | undefined;
      let index = 1;
      if (args.length >= 2) {
        const version = integerArg(args[index++]!, 'ERR Protocol version is not an integer or out of range');
        if (version !== 2 && version !== 3) throw new RespError('NOPROTO unsupported protocol version');
        protocol = version;
      }
      let credentials: [string, string] | undefined;
      let name: string | undefined;
      for (; index < args.length; index++) {
        const option = args[index]!;
        const moreArgs = args.length - 1 - index;
        if (isWord(option, 'auth') && moreArgs >= 2) {
          credentials = [args[index + 1]!.toString('utf8'), args[index + 2]!.toString('utf8')];
          index += 2;
        } else if (isWord(option, 'setname') && moreArgs >= 1) {
          name = validateClientName(args[++index]!);
        } else {
          throw new RespError(`ERR Syntax error in HELLO option '${option.toString('utf8')}'`);
        }
      }
      if (credentials !== undefined) authenticate(context, credentials[0], credentials[1]);
      if (service.privateReads && !session.authenticated) {
        throw new RespError(
          'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
        );
      }
      if (name !== undefined) session.name = name;
      if (protocol !== undefined) session.protocol = protocol;
      return helloReply(session);
    },
  }),
  defineCommand({
    name: 'quit',
    arity: -1,
    flags: ['allow_busy', 'noscript', 'loading', 'stale', 'fast', 'no_auth'],
    group: 'connection',
    summary: 'Close the connection',
    since: '1.0.0',
    access: 'none',
    controlsTransaction: true,
    execute(call) {
      call.session.closeAfterReply = true;
      return ok;
    },
  }),
  defineCommand({
    name: 'reset',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    group: 'connection',
    summary: 'Reset the connection',
    since: '6.2.0',
    access: 'none',
    controlsTransaction: true,
    execute(call) {
      call.session.reset();
      return new SimpleReply('RESET');
    },
  }),
  defineCommand({
    name: 'client',
    arity: -2,
    flags: ['sentinel'],
    group: 'connection',
    summary: 'A container for client connection commands',
    since: '2.4.0',
    complexity: 'Depends on subcommand.',
    access: 'none',
    subcommands: clientSubcommands,
  }),
];
