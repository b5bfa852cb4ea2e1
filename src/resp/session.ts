// Per-connection state and command dispatch: protocol version (2, or 3 after HELLO 3), who the
// client is (AUTH), its name, the MULTI queue and the WATCHed keys. dispatch() finds the
// command, checks arity and access in Redis's order (unknown command, arity, authentication,
// permissions), then queues it (inside MULTI) or runs it.

import { errorCatalogue } from '../core/errors.js';
import { anonymous, type Caller } from '../core/service.js';
import type { Protocol } from './encoder.js';
import {
  isBlindWrite,
  keyIndexCount,
  type Command,
  type CommandCall,
  type ConnectionInfo,
  type QueuedCommand,
  type SessionContext,
} from './command.js';
import { runCommand } from './command-runner.js';
import { commandCost } from './parser.js';
import { decodeKey } from './key-decoding.js';
import { UNKNOWN_COMMAND } from '../core/metrics.js';
import { lowerWord } from './numeric-args.js';
import { queued, RespError, redisErrors, type Reply } from './reply.js';
import { noPermissionForCommand, noPermissionForKeys, toErrorReply } from './resp-errors.js';
import type { RespServerState } from './server-state.js';

/** Longest command name findCommand remembers (every name in the table is shorter). */
const MAX_REMEMBERED_NAME_BYTES = 32;

export class Session implements SessionContext {
  readonly id: number;
  readonly createdAt: number;
  protocol: Protocol = 2;
  caller: Caller = anonymous;
  name = '';
  libName = '';
  libVersion = '';
  lastCommand = 'NULL';
  lastActiveAt: number;
  /** The MULTI queue, or undefined outside MULTI. */
  multi: QueuedCommand[] | undefined;
  /** An error was answered while queueing: EXEC will answer EXECABORT. */
  multiFailed = false;
  /** What the MULTI queue holds (parser.ts commandCost of each command), at most maxRespRequestBytes. */
  multiBytes = 0;
  /** WATCHed keys and the modRevision each had when watched (0 = absent). */
  readonly watched = new Map<string, number>();
  /** Set by QUIT: the connection closes once this reply is written. */
  closeAfterReply = false;
  /**
   * The metric label of the command dispatch() last took: its name in the command table
   * (`client|setname` for a subcommand), or UNKNOWN_COMMAND; never a name the client made up.
   */
  metricName = UNKNOWN_COMMAND;
  /**
   * Whether the command dispatch() last ran is a blind write (a write that reads nothing): the
   * connection may start the next blind write before it ends. A field rather than part of
   * dispatch's answer so that no object is made per command.
   */
  dispatchedBlindWrite = false;
  /** A copy of the last command name looked up and what it found (see findCommand). */
  private lastName: Buffer | undefined;
  private lastNameCommand: Command | undefined;

  constructor(
    readonly server: RespServerState,
    readonly connection: ConnectionInfo,
  ) {
    this.id = server.nextClientId();
    this.createdAt = Date.now();
    this.lastActiveAt = this.createdAt;
  }

  get authenticated(): boolean {
    return this.caller.principal !== undefined;
  }

  /** Runs or queues one command: its reply, now or later (dispatchedBlindWrite says more). */
  dispatch(args: readonly Buffer[]): Reply | Promise<Reply> {
    this.server.stats.commandsProcessed++;
    this.dispatchedBlindWrite = false;
    const command = this.resolve(args);
    if (typeof command === 'string') {
      const word = lowerWord(args[0]!);
      this.metricName = this.server.commands.has(word) ? word : UNKNOWN_COMMAND;
      return this.rejected(command);
    }
    const name = command.name;
    this.lastCommand = name;
    this.metricName = name;
    if (command.repliesWithValue === true && this.multi === undefined) {
      const value = this.readValueAtOnce(args[command.keys!.first]!);
      if (value !== undefined) return value;
    }

    if (this.multi !== undefined && !command.controlsTransaction) {
      if (command.notInMulti !== undefined) return this.rejected(command.notInMulti);
      let call: CommandCall;
      try {
        call = this.checkedCall(command, name, args);
      } catch (error) {
        this.multiFailed = true;
        return toErrorReply(error, this.server.log);
      }
      // The queue is bounded like one request: EXEC could not commit more anyway (maxBodyBytes).
      const cost = commandCost(args);
      const limit = this.server.limits.maxRespRequestBytes;
      if (this.multiBytes + cost > limit) {
        return this.rejected(
          `ERR MULTI queue larger than ${limit} bytes (maxRespRequestBytes); the transaction is discarded`,
        );
      }
      this.multiBytes += cost;
      this.multi.push({ command, call });
      return queued;
    }

    let call: CommandCall;
    try {
      call = this.checkedCall(command, name, args);
    } catch (error) {
      return toErrorReply(error, this.server.log);
    }
    if (command.execute) return this.guard(() => command.execute!(call));
    this.dispatchedBlindWrite = isBlindWrite(command, args);
    return runCommand(call, command, this.server.scheduler);
  }

  /**
   * GET's fast path (Command.repliesWithValue): the key's value read synchronously, null when it
   * is absent, or undefined to take the full path, which then answers exactly as before: an
   * engine without synchronous reads, --private reads (per-key checks), a token no longer live,
   * a key that does not decode, a failed read. What it skips per GET is the command call, its
   * key list, the entries array, the key view and the run context. Measured, 7 rounds taking
   * turns under redis-benchmark -c 50 (bench/ab-resp-get.sh): median CPU per GET 3.2 against
   * 3.7 us at -P 16, 11.6 against 13.8 us at -P 1 (BENCHMARKS.md, the run of 2026-12-01 10:39).
   */
  private readValueAtOnce(keyBytes: Buffer): Buffer | null | undefined {
    const service = this.server.service;
    if (service.privateReads || !service.stillValid(this.caller)) return undefined;
    try {
      const entry = service.getSync(this.caller, decodeKey(keyBytes, service.limits));
      if (entry === null) return undefined;
      return entry === undefined ? null : entry.value;
    } catch {
      return undefined;
    }
  }

  /** Whether the command is a blind write that may start while earlier blind writes are in flight. */
  isBlindWrite(args: readonly Buffer[]): boolean {
    if (this.multi !== undefined) return false;
    const command = this.findCommand(args[0]!);
    return command !== undefined && isBlindWrite(command, args);
  }

  /** An error answered before running: inside MULTI it also dooms the transaction. */
  private rejected(line: string): Reply {
    if (this.multi !== undefined) this.multiFailed = true;
    return toErrorReply(new RespError(line));
  }

  private guard(work: () => Reply | Promise<Reply>): Reply | Promise<Reply> {
    try {
      const reply = work();
      if (reply instanceof Promise) return reply.catch((error: unknown) => toErrorReply(error, this.server.log));
      return reply;
    } catch (error) {
      return toErrorReply(error, this.server.log);
    }
  }

  /**
   * The command table's entry for a command name, in any case. The last name looked up is
   * remembered as bytes: a pipeline mostly repeats one command, and comparing a few bytes
   * (50-90 ns for `GET` on the 2-core machine) costs less than making a lowercase string and
   * hashing it for the Map (300-500 ns) on every command.
   */
  private findCommand(nameBytes: Buffer): Command | undefined {
    const last = this.lastName;
    if (last !== undefined && last.length === nameBytes.length) {
      let same = true;
      for (let index = 0; index < last.length; index++) {
        if (last[index] !== nameBytes[index]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastNameCommand;
    }
    const command = this.server.commands.get(lowerWord(nameBytes));
    // Only names of commands kvs has are remembered (a copy: the argument is a view of a read chunk).
    if (command !== undefined && nameBytes.length <= MAX_REMEMBERED_NAME_BYTES) {
      this.lastName = Buffer.from(nameBytes);
      this.lastNameCommand = command;
    }
    return command;
  }

  /** The command (or subcommand), or the error line for an unknown one / wrong arity. */
  private resolve(args: readonly Buffer[]): Command | string {
    let command = this.findCommand(args[0]!);
    if (command === undefined) return unknownCommandLine(args);
    if (command.subcommands !== undefined && args.length >= 2) {
      const commandName = command.name;
      const subName = lowerWord(args[1]!);
      const sub = command.subcommands.find((candidate) => candidate.name === `${commandName}|${subName}`);
      if (sub === undefined) {
        const shown = args[1]!.toString('utf8').slice(0, 128);
        return `ERR unknown subcommand '${shown}'. Try ${commandName.toUpperCase()} HELP.`;
      }
      command = sub;
    }
    const arity = command.arity;
    if ((arity > 0 && args.length !== arity) || (arity < 0 && args.length < -arity)) {
      return `ERR wrong number of arguments for '${command.name}' command`;
    }
    return command;
  }

  /** Checks authentication and permissions, decodes the keys: the call, or throws. */
  private checkedCall(command: Command, name: string, args: readonly Buffer[]): CommandCall {
    const service = this.server.service;
    const access = command.access;
    // A revoked or expired token stops working at the connection's next command: the session
    // falls back to anonymous and that command is refused, unless it authenticates again or
    // ends the session (docs/tokens.md).
    if (!service.stillValid(this.caller)) {
      this.caller = anonymous;
      if (!command.flags.includes('no_auth')) throw new RespError(`WRONGPASS ${errorCatalogue.token_revoked.message}`);
    }
    const principal = this.caller.principal;
    // Without a token: reads are public unless --private; with --private, as on a Redis server
    // with a password, a connection may only authenticate (AUTH, HELLO ... AUTH), QUIT or RESET.
    if (
      principal === undefined &&
      (service.privateReads ? !command.flags.includes('no_auth') : access === 'write' || access === 'admin')
    ) {
      throw new RespError(redisErrors.noAuth);
    }
    if (principal !== undefined && (access === 'write' || access === 'admin') && !principal.allows(access)) {
      throw new RespError(noPermissionForCommand(name));
    }
    if (access === 'admin' && principal !== undefined && !principal.unrestricted) {
      throw new RespError(noPermissionForCommand(name));
    }
    const keyCount = keyIndexCount(command.keys, args.length);
    const keys: string[] = new Array<string>(keyCount);
    for (let position = 0; position < keyCount; position++) {
      const key = decodeKey(args[command.keys!.first + position * command.keys!.step]!, service.limits);
      keys[position] = key;
      if (principal !== undefined && access !== 'none') {
        const keyAccess = command.keyAccess ? command.keyAccess(position) : access === 'admin' ? 'write' : access;
        if ((keyAccess === 'write' || service.privateReads) && !principal.allows(keyAccess, key)) {
          throw new RespError(noPermissionForKeys);
        }
      }
    }
    return { session: this, server: this.server, service, args, keys };
  }

  /** MULTI: start queueing. */
  beginMulti(): void {
    this.multi = [];
    this.multiFailed = false;
    this.multiBytes = 0;
  }

  /** Leaves MULTI (EXEC, DISCARD) and forgets the watched keys. */
  endMulti(): void {
    this.multi = undefined;
    this.multiFailed = false;
    this.multiBytes = 0;
    this.watched.clear();
  }

  /** RESET: back to a fresh connection's state (keeps the id). */
  reset(): void {
    this.endMulti();
    this.protocol = 2;
    this.caller = anonymous;
    this.name = '';
  }
}

/** Redis 7.0's wording, arguments quoted and cut at 128 bytes. */
export function unknownCommandLine(args: readonly Buffer[]): string {
  let shownArgs = '';
  for (let index = 1; index < args.length && shownArgs.length < 128; index++) {
    shownArgs += `'${args[index]!.toString('utf8').slice(0, 128 - shownArgs.length)}' `;
  }
  const name = args[0]!.toString('utf8').slice(0, 128);
  return `ERR unknown command '${name}', with args beginning with: ${shownArgs}`;
}
