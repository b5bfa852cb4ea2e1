// The shape of a RESP command: its Redis metadata (arity, flags, key positions: what COMMAND
// INFO reports and what the session uses to check access before running it) and its handler.
//
// Data commands are written as a synchronous `run` over a KeyView: the runner first reads the
// command's keys (and whatever `prepare` fetches, e.g. a listing for KEYS), runs the command,
// then commits its writes with conditions on what it read. The same `run` therefore serves a
// lone command and a command queued in MULTI. Connection-level commands that change the session
// or the connection (MULTI, EXEC, QUIT, FLUSHDB, ...) use `execute` instead.
//
// A command sees its connection and its listener only through the narrow interfaces below
// (SessionContext, ListenerContext): what commands may read and change, not the Session and
// RespServerState classes that implement them. This module imports neither, so the runner, the
// session and the listener state depend on it and never the other way round.

import type { Caller, KvService } from '../core/service.js';
import type { Limits } from '../core/limits.js';
import type { Protocol } from './encoder.js';
import type { KeyView } from './key-view.js';
import type { Reply } from './reply.js';
import type { ScanCursors } from './scan-cursors.js';

export type CommandGroup = 'string' | 'bitmap' | 'generic' | 'transactions' | 'connection' | 'server';

/** Who may run the command: read follows --private; write and admin always need a token. */
export type Access = 'none' | 'read' | 'write' | 'admin';

/** Redis's key positions: first key, last key (negative: from the end), step. */
export interface KeyPositions {
  readonly first: number;
  readonly last: number;
  readonly step: number;
}

/** One key, the first argument (GET, SET, INCR, ...). */
export const oneKey: KeyPositions = { first: 1, last: 1, step: 1 };
/** The first two arguments (RENAME, COPY, LCS). */
export const twoKeys: KeyPositions = { first: 1, last: 2, step: 1 };
/** Every argument after the name (MGET, DEL, EXISTS, WATCH). */
export const allKeys: KeyPositions = { first: 1, last: -1, step: 1 };
/** Every other argument after the name: key value pairs (MSET, MSETNX). */
export const keyValuePairs: KeyPositions = { first: 1, last: -1, step: 2 };

export interface ConnectionInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

/** What CLIENT LIST and CLIENT INFO show of a connection. */
export interface ClientDescription {
  readonly id: number;
  readonly connection: ConnectionInfo;
  readonly name: string;
  readonly libName: string;
  readonly libVersion: string;
  readonly protocol: Protocol;
  readonly createdAt: number;
  readonly lastActiveAt: number;
  readonly lastCommand: string;
  /** The MULTI queue, or undefined outside MULTI. */
  readonly multi: readonly QueuedCommand[] | undefined;
}

/** What a command may read and change of its own connection (the Session implements it). */
export interface SessionContext extends ClientDescription {
  /** Who the client is: AUTH and HELLO ... AUTH change it. */
  caller: Caller;
  readonly authenticated: boolean;
  protocol: Protocol;
  name: string;
  libName: string;
  libVersion: string;
  /** An error was answered while queueing: EXEC will answer EXECABORT. */
  readonly multiFailed: boolean;
  /** WATCHed keys and the modRevision each had when watched (0 = absent). */
  readonly watched: Map<string, number>;
  /** Set by QUIT: the connection closes once this reply is written. */
  closeAfterReply: boolean;
  beginMulti(): void;
  endMulti(): void;
  reset(): void;
}

/** The counters INFO reports and CONFIG RESETSTAT clears. */
export interface RespStats {
  connectionsReceived: number;
  rejectedConnections: number;
  commandsProcessed: number;
}

/** What a command may see and use of its listener (RespServerState implements it). */
export interface ListenerContext {
  readonly startedAt: number;
  readonly limits: Limits;
  readonly commands: ReadonlyMap<string, Command>;
  /** The open connections, for CLIENT LIST and INFO clients. */
  readonly sessions: ReadonlyMap<number, ClientDescription>;
  readonly cursors: ScanCursors;
  readonly stats: RespStats;
  readonly port: number;
  readonly host: string;
  readonly log: (message: string) => void;
  /** EXEC: runs the queued commands as one transaction, ordered with other work on their keys. */
  runTransaction(
    call: CommandCall,
    queue: readonly QueuedCommand[],
    watched: ReadonlyMap<string, number>,
  ): Reply | Promise<Reply>;
}

/** The KvService calls RESP makes (its commands and their runner): reads, listings, commits, AUTH. */
export type RespService = Pick<
  KvService,
  | 'limits'
  | 'privateReads'
  | 'now'
  | 'validateBatch'
  | 'authenticate'
  | 'getSync'
  | 'getMany'
  | 'list'
  | 'count'
  | 'recentlyModified'
  | 'greatestKey'
  | 'txnCountingItems'
  | 'txnCountingKeys'
> & {
  /** INFO reports the engine's kind. */
  readonly engine: { readonly kind: string };
};

export interface CommandCall {
  readonly session: SessionContext;
  readonly server: ListenerContext;
  readonly service: RespService;
  readonly args: readonly Buffer[];
  /** The command's keys, decoded, in argument order. */
  readonly keys: readonly string[];
}

export interface RunContext extends CommandCall {
  readonly view: KeyView;
  readonly now: number;
}

/** A command queued in MULTI, with the call checked when it was queued. */
export interface QueuedCommand {
  readonly command: Command;
  readonly call: CommandCall;
}

export interface CommandSpec<Prepared = undefined> {
  /** Lowercase; subcommands are `container|sub` as Redis names them. */
  readonly name: string;
  /** Redis arity: N exactly, -N at least N (the command name counts). */
  readonly arity: number;
  readonly flags: readonly string[];
  readonly group: CommandGroup;
  readonly summary: string;
  readonly since: string;
  /** Default O(1). */
  readonly complexity?: string;
  /** Where the keys are (oneKey, twoKeys, allKeys, keyValuePairs); none by default. */
  readonly keys?: KeyPositions;
  readonly access: Access;
  /** Access per key when keys differ (COPY reads its source and writes its destination). */
  readonly keyAccess?: (keyIndex: number) => 'read' | 'write';
  /**
   * Whether run uses the keys' values (default: yes). No: it only asks whether they exist, their
   * expiry or revision (DEL, EXISTS, TTL, WATCH), and the read lets the values go (key-preload.ts).
   */
  readonly usesValues?: boolean;
  /**
   * The reply is the one key's value, or null when the key is absent (GET): outside MULTI the
   * session answers it straight from the engine's synchronous read (session.ts, readValueAtOnce)
   * instead of through a call, a key view and a run. `run` must still answer the same (MULTI,
   * engines without synchronous reads).
   */
  readonly repliesWithValue?: boolean;
  /** Whether the keys must be read before run (default: yes). SET without options writes blindly. */
  readonly reads?: (args: readonly Buffer[]) => boolean;
  /** Asynchronous work before run (listings, counts); not protected by the commit's conditions. */
  readonly prepare?: (call: CommandCall) => Promise<Prepared>;
  readonly run?: (context: RunContext, prepared: Prepared) => Reply;
  /** For commands that act on the session or connection rather than on keys. */
  readonly execute?: (call: CommandCall) => Reply | Promise<Reply>;
  /** Refused inside MULTI with this error line. */
  readonly notInMulti?: string;
  /** Runs at once even inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET). */
  readonly controlsTransaction?: boolean;
  readonly subcommands?: readonly Command[];
}

/** A command with its prepared type erased and its defaults filled in, as the command table holds it. */
export interface Command extends Omit<CommandSpec<unknown>, 'prepare' | 'run' | 'complexity'> {
  readonly complexity: string;
  readonly prepare?: (call: CommandCall) => Promise<unknown>;
  readonly run?: (context: RunContext, prepared: unknown) => Reply;
}

export function defineCommand<Prepared = undefined>(spec: CommandSpec<Prepared>): Command {
  const { prepare, run, ...rest } = spec;
  const command: Command = { ...rest, complexity: spec.complexity ?? 'O(1)' };
  return {
    ...command,
    ...(prepare ? { prepare: (call: CommandCall) => prepare(call) } : {}),
    // Safe: `prepared` is always what this command's own prepare resolved to.
    ...(run ? { run: (context: RunContext, prepared: unknown) => run(context, prepared as Prepared) } : {}),
  };
}

/** What one file's commands share: their group and, for data commands, their usual key positions. */
export interface CommandDefaults {
  readonly group: CommandGroup;
  readonly keys?: KeyPositions;
}

/** A defineCommand whose specs take `defaults` unless they say otherwise (strings.ts, bits.ts). */
export function commandDefiner(defaults: CommandDefaults) {
  return <Prepared = undefined>(
    spec: Omit<CommandSpec<Prepared>, keyof CommandDefaults> & Partial<CommandDefaults>,
  ): Command => defineCommand<Prepared>({ ...defaults, ...spec });
}

/** A keyless command of a group (connection, server) with that group's defaults. */
export interface GroupCommandSpec {
  readonly name: string;
  readonly arity: number;
  readonly flags?: string[];
  readonly summary: string;
  readonly since: string;
  readonly complexity?: string;
  /** Default 'none'; 'admin' for what shows or changes other connections or the server's state. */
  readonly access?: 'none' | 'admin';
  readonly run: (context: RunContext) => Reply;
}

/** Defines a group's keyless command: the group's flags unless the spec says otherwise. */
export function defineGroupCommand(
  group: CommandGroup,
  defaultFlags: readonly string[],
  spec: GroupCommandSpec,
): Command {
  return defineCommand({
    name: spec.name,
    arity: spec.arity,
    flags: spec.flags ?? defaultFlags,
    group,
    summary: spec.summary,
    since: spec.since,
    complexity: spec.complexity,
    access: spec.access ?? 'none',
    run: spec.run,
  });
}

/** The highest argument index that may hold a key (`last` counts from the end when negative). */
function lastKeyIndex(positions: KeyPositions, argCount: number): number {
  return Math.min(positions.last < 0 ? argCount + positions.last : positions.last, argCount - 1);
}

/** How many keys keyIndexes finds (without making the array: the session's per-command check). */
export function keyIndexCount(positions: KeyPositions | undefined, argCount: number): number {
  if (positions === undefined) return 0;
  const last = lastKeyIndex(positions, argCount);
  return last < positions.first ? 0 : Math.floor((last - positions.first) / positions.step) + 1;
}

/** The argument indexes holding keys. */
export function keyIndexes(positions: KeyPositions | undefined, argCount: number): number[] {
  if (positions === undefined) return [];
  const last = lastKeyIndex(positions, argCount);
  const indexes: number[] = [];
  for (let index = positions.first; index <= last; index += positions.step) indexes.push(index);
  return indexes;
}

/** Whether the command only writes, without reading anything first (pipelined without waiting). */
export function isBlindWrite(command: Command, args: readonly Buffer[]): boolean {
  return (
    command.access === 'write' &&
    command.run !== undefined &&
    command.prepare === undefined &&
    command.reads !== undefined &&
    !command.reads(args)
  );
}
