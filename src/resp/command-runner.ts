// Runs data commands against the store with optimistic concurrency (see key-view.ts): read the
// keys, run the command synchronously, commit its writes as one KvService.txn conditioned on what
// was read, retry if someone changed those keys in between. A command that reads nothing and
// only writes (plain SET, MSET) commits without conditions, and one that writes nothing commits
// nothing. MULTI/EXEC runs its whole queue the same way, in one view and one commit.

import { KvsError } from '../core/errors.js';
import type { Entry } from '../core/model.js';
import type { Command, CommandCall, RunContext } from './command.js';
import { KeyView } from './key-view.js';
import { nullArray, type Reply } from './reply.js';
import { toErrorReply } from './resp-errors.js';

const MAX_ATTEMPTS = 100;
const NO_ENTRIES: readonly (Entry | undefined)[] = [];

function isCheckFailure(error: unknown): error is KvsError {
  return error instanceof KvsError && error.code === 'txn_check_failed';
}

function failedCheckIndex(error: KvsError): number {
  const failed = error.details['failed'] as { index?: unknown } | undefined;
  return typeof failed?.index === 'number' ? failed.index : -1;
}

/** Runs one command outside MULTI. Synchronous when it neither reads nor writes the store. */
export function runCommand(call: CommandCall, command: Command): Reply | Promise<Reply> {
  const run = command.run!;
  const reads = call.keys.length > 0 && (command.reads === undefined || command.reads(call.args));
  if (command.prepare === undefined && !reads) {
    const view = KeyView.fromEntries([], NO_ENTRIES, call.service.now(), call.service.limits);
    const reply = run({ ...call, view, now: view.now }, undefined);
    if (!view.hasWrites) return reply;
    return commit(call, view, reply);
  }
  return runWithRetries(call, command, reads);
}

async function commit(call: CommandCall, view: KeyView, reply: Reply): Promise<Reply> {
  try {
    await call.service.txn(call.session.caller, [], view.operations());
    return reply;
  } catch (error) {
    return toErrorReply(error, call.server.log);
  }
}

async function runWithRetries(call: CommandCall, command: Command, reads: boolean): Promise<Reply> {
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const prepared = command.prepare ? await command.prepare(call) : undefined;
      const keys = reads ? uniqueKeys(call.keys) : [];
      const entries = reads ? await call.service.getMany(call.session.caller, keys) : NO_ENTRIES;
      const view = KeyView.fromEntries(keys, entries, call.service.now(), call.service.limits);
      const context: RunContext = { ...call, view, now: view.now };
      const reply = command.run!(context, prepared);
      if (!view.hasWrites) return reply;
      const conditions = view.conditions();
      try {
        await call.service.txn(call.session.caller, conditions, view.operations());
        return reply;
      } catch (error) {
        if (!isCheckFailure(error) || conditions.length === 0) throw error;
        // A key read changed before the commit: run again on fresh values.
      }
    }
    throw new KvsError('unavailable', 'Too much contention on these keys; try again.');
  } catch (error) {
    return toErrorReply(error, call.server.log);
  }
}

function uniqueKeys(keys: readonly string[]): string[] {
  if (keys.length === 1) return keys as string[];
  return [...new Set(keys)];
}

export interface QueuedCommand {
  readonly command: Command;
  readonly call: CommandCall;
}

/**
 * EXEC: every queued command in one view, committed as one transaction whose first conditions
 * are the WATCHed keys' modRevisions as seen at WATCH time. A watched key that changed makes
 * EXEC answer the null array, as in Redis. A queued command that fails at run time answers its
 * error in the result array and writes nothing; the others still run (Redis semantics).
 */
export async function runTransaction(call: CommandCall, queue: readonly QueuedCommand[], watched: ReadonlyMap<string, number>): Promise<Reply> {
  const service = call.service;
  const caller = call.session.caller;
  const keySet = new Set<string>(watched.keys());
  for (const queuedCommand of queue) for (const key of queuedCommand.call.keys) keySet.add(key);
  const keys = [...keySet];
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const prepared: unknown[] = [];
      for (const { command, call: queuedCall } of queue) {
        prepared.push(command.prepare ? await command.prepare(queuedCall) : undefined);
      }
      const entries = keys.length > 0 ? await service.getMany(caller, keys) : NO_ENTRIES;
      const view = KeyView.fromEntries(keys, entries, service.now(), service.limits);
      for (const [key, modRevision] of watched) {
        if (view.modRevision(key) !== modRevision) return nullArray;
      }
      const replies: Reply[] = [];
      queue.forEach(({ command, call: queuedCall }, index) => {
        const mark = view.mark();
        try {
          if (command.run) replies.push(command.run({ ...queuedCall, view, now: view.now }, prepared[index]));
          else replies.push(toErrorReply(new KvsError('internal', 'command cannot run inside MULTI'), call.server.log));
        } catch (error) {
          view.rollback(mark);
          replies.push(toErrorReply(error, call.server.log));
        }
      });
      if (!view.hasWrites) return replies;
      const watchConditions = [...watched].map(([key, modRevision]) => ({ key, kind: 'modRevision' as const, modRevision }));
      const conditions = [...watchConditions, ...view.conditions()];
      try {
        await service.txn(caller, conditions, view.operations());
        return replies;
      } catch (error) {
        if (!isCheckFailure(error)) throw error;
        if (failedCheckIndex(error) < watchConditions.length) return nullArray;
      }
    }
    throw new KvsError('unavailable', 'Too much contention on these keys; try again.');
  } catch (error) {
    return toErrorReply(error, call.server.log);
  }
}
