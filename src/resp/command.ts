// The shape of a RESP command: its Redis metadata (arity, flags, key positions: what COMMAND
// INFO reports and what the session uses to check access before running it) and its handler.
//
// Data commands are written as a synchronous `run` over a KeyView: the runner first reads the
// command's keys (and whatever `prepare` fetches, e.g. a listing for KEYS), runs the command,
// then commits its writes with conditions on what it read. The same `run` therefore serves a
// lone command and a command queued in MULTI. Connection-level commands that change the session
// or the connection (MULTI, EXEC, QUIT, FLUSHDB, ...) use `execute` instead.

import type { KvService } from '../core/service.js';
import type { KeyView } from './key-view.js';
import type { Reply } from './reply.js';
import type { Session } from './session.js';
import type { RespServerState } from './server-state.js';

export type CommandGroup = 'string' | 'bitmap' | 'generic' | 'transactions' | 'connection' | 'server';

/** Who may run the command: read follows --private; write and admin always need a token. */
export type Access = 'none' | 'read' | 'write' | 'admin';

/** Redis's key positions: first key, last key (negative: from the end), step. */
export interface KeyPositions {
  readonly first: number;
  readonly last: number;
  readonly step: number;
}

export interface CommandCall {
  readonly session: Session;
  readonly server: RespServerState;
  readonly service: KvService;
  readonly args: readonly Buffer[];
  /** The command's keys, decoded, in argument order. */
  readonly keys: readonly string[];
}

export interface RunContext extends CommandCall {
  readonly view: KeyView;
  readonly now: number;
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
  readonly complexity: string;
  readonly keys?: KeyPositions;
  readonly access: Access;
  /** Access per key when keys differ (COPY reads its source and writes its destination). */
  readonly keyAccess?: (keyIndex: number) => 'read' | 'write';
  /**
   * Whether run uses the keys' values (default: yes). No: it only asks whether they exist, their
   * expiry or revision (DEL, EXISTS, TTL, WATCH), and the read lets the values go (key-preload.ts).
   */
  readonly usesValues?: boolean;
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

/** A command with its prepared type erased, as the command table holds it. */
export interface Command extends Omit<CommandSpec<unknown>, 'prepare' | 'run'> {
  readonly prepare?: (call: CommandCall) => Promise<unknown>;
  readonly run?: (context: RunContext, prepared: unknown) => Reply;
}

export function defineCommand<Prepared = undefined>(spec: CommandSpec<Prepared>): Command {
  const { prepare, run, ...rest } = spec;
  const command: Command = { ...rest };
  return {
    ...command,
    ...(prepare ? { prepare: (call: CommandCall) => prepare(call) } : {}),
    // Safe: `prepared` is always what this command's own prepare resolved to.
    ...(run ? { run: (context: RunContext, prepared: unknown) => run(context, prepared as Prepared) } : {}),
  };
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

/** Defines a group's keyless command: default flags and O(1) unless the spec says otherwise. */
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
    complexity: spec.complexity ?? 'O(1)',
    access: spec.access ?? 'none',
    run: spec.run,
  });
}

/** The argument indexes holding keys. */
export function keyIndexes(positions: KeyPositions | undefined, argCount: number): number[] {
  if (positions === undefined) return [];
  const last = positions.last < 0 ? argCount + positions.last : positions.last;
  const indexes: number[] = [];
  for (let index = positions.first; index <= last && index < argCount; index += positions.step) indexes.push(index);
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
