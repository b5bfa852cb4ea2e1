// MULTI / EXEC / DISCARD / WATCH / UNWATCH. Queued commands run at EXEC in one KeyView and are
// committed as one KvService.txn (command-runner.ts); WATCH records each key's modRevision, and
// EXEC's commit is conditioned on them, so a change by anyone (over HTTP too) aborts it.

import { allKeys, defineCommand, type Command } from '../command.js';
import { ok, RespError } from '../reply.js';

export const transactionCommands: readonly Command[] = [
  defineCommand({
    name: 'multi',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'],
    group: 'transactions',
    summary: 'Mark the start of a transaction block',
    since: '1.2.0',
    access: 'none',
    controlsTransaction: true,
    execute(call) {
      if (call.session.multi !== undefined) throw new RespError('ERR MULTI calls can not be nested');
      call.session.beginMulti();
      return ok;
    },
  }),

  defineCommand({
    name: 'exec',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'skip_slowlog'],
    group: 'transactions',
    summary: 'Execute all commands issued after MULTI',
    since: '1.2.0',
    complexity: 'Depends on commands in the transaction',
    access: 'none',
    controlsTransaction: true,
    execute(call) {
      const session = call.session;
      const queue = session.multi;
      if (queue === undefined) throw new RespError('ERR EXEC without MULTI');
      const failed = session.multiFailed;
      const watched = new Map(session.watched);
      session.endMulti();
      if (failed) throw new RespError('EXECABORT Transaction discarded because of previous errors.');
      return call.server.runTransaction(call, queue, watched);
    },
  }),

  defineCommand({
    name: 'discard',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'],
    group: 'transactions',
    summary: 'Discard all commands issued after MULTI',
    since: '2.0.0',
    complexity: 'O(N), when N is the number of queued commands',
    access: 'none',
    controlsTransaction: true,
    execute(call) {
      if (call.session.multi === undefined) throw new RespError('ERR DISCARD without MULTI');
      call.session.endMulti();
      return ok;
    },
  }),

  defineCommand({
    name: 'watch',
    arity: -2,
    flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'],
    group: 'transactions',
    summary: 'Watch the given keys to determine execution of the MULTI/EXEC block',
    since: '2.2.0',
    complexity: 'O(1) for every key.',
    keys: allKeys,
    access: 'read',
    usesValues: false,
    controlsTransaction: true,
    run(context) {
      const session = context.session;
      if (session.multi !== undefined) throw new RespError('ERR WATCH inside MULTI is not allowed');
      // Watched keys are read by EXEC, which touches at most maxBatch keys: more could never run,
      // and repeated WATCHes would otherwise grow the session without bound.
      let added = 0;
      for (const key of new Set(context.keys)) if (!session.watched.has(key)) added++;
      context.service.validateBatch(session.watched.size + added);
      for (const key of context.keys) {
        // As in Redis, watching a key twice keeps the first watch.
        if (!session.watched.has(key)) session.watched.set(key, context.view.modRevision(key));
      }
      return ok;
    },
  }),

  defineCommand({
    name: 'unwatch',
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'],
    group: 'transactions',
    summary: 'Forget about all watched keys',
    since: '2.2.0',
    access: 'none',
    run(context) {
      context.session.watched.clear();
      return ok;
    },
  }),
];
