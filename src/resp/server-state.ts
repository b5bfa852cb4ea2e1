// What all connections of one RESP listener share: the service, the command table, the open
// sessions (CLIENT LIST, INFO clients), SCAN cursors and counters for INFO.

import type { Limits } from '../core/limits.js';
import type { KvService } from '../core/service.js';
import { ClientMemoryBudget } from './client-memory.js';
import type { RecordCommand } from './command-record.js';
import type { ClientDescription, Command, CommandCall, ListenerContext, QueuedCommand, RespStats } from './command.js';
import { executeBatch, runTransaction, type KeyJob } from './command-runner.js';
import { KeyScheduler } from './key-scheduler.js';
import type { Reply } from './reply.js';
import { ScanCursors } from './scan-cursors.js';

export class RespServerState implements ListenerContext {
  readonly startedAt = Date.now();
  readonly sessions = new Map<number, ClientDescription>();
  readonly cursors = new ScanCursors();
  /** Orders and combines read-modify-write work per key (command-runner.ts). */
  readonly scheduler = new KeyScheduler<KeyJob>(executeBatch);
  readonly stats: RespStats = { connectionsReceived: 0, rejectedConnections: 0, commandsProcessed: 0 };
  /** The port actually listened on (set once listening). */
  port = 0;
  /** The address listened on (set once listening), for CONFIG GET bind. */
  host = '127.0.0.1';
  /** What all connections hold together, bounded by limits.maxRespClientsBytes. */
  readonly memory: ClientMemoryBudget;
  /** Called once per answered command (metrics, access log); set by the listener. */
  recordCommand: RecordCommand = () => {};
  private lastClientId = 0;

  constructor(
    readonly service: KvService,
    readonly limits: Limits,
    readonly commands: ReadonlyMap<string, Command>,
    readonly log: (message: string) => void,
  ) {
    this.memory = new ClientMemoryBudget(limits.maxRespClientsBytes);
  }

  nextClientId(): number {
    return ++this.lastClientId;
  }

  runTransaction(
    call: CommandCall,
    queue: readonly QueuedCommand[],
    watched: ReadonlyMap<string, number>,
  ): Reply | Promise<Reply> {
    return runTransaction(call, queue, watched, this.scheduler);
  }
}
