// What every answered RESP command leaves behind: its duration in the command histogram, and with
// --access-log one JSON line (fields in docs/observability.md). The token is named by its label:
// AUTH's arguments are never logged.

import type { Logger } from '../core/logger.js';
import type { KvsMetrics } from '../core/metrics.js';
import type { Caller } from '../core/service.js';
import { ErrorReply, type Reply } from './reply.js';
/** What the record needs of the session that ran the command (session.ts). */
export interface CommandSession {
  readonly id: number;
  readonly connection: { readonly remoteAddress: string };
  readonly caller: Caller;
}

/** Records one answered command; `command` is Session.metricName (a bounded label). */
export type RecordCommand = (session: CommandSession, command: string, seconds: number, reply: Reply) => void;

export function createCommandRecorder(metrics: KvsMetrics, accessLog: Logger | undefined): RecordCommand {
  if (accessLog === undefined) return (_session, command, seconds) => metrics.observeResp(command, seconds);
  return (session, command, seconds, reply) => {
    metrics.observeResp(command, seconds);
    accessLog.info(
      {
        frontEnd: 'resp',
        client: session.connection.remoteAddress,
        clientId: session.id,
        command,
        status: reply instanceof ErrorReply ? reply.line.split(' ', 1)[0] : 'ok',
        durationMs: Math.round(seconds * 1e6) / 1e3,
        token: session.caller.principal?.grant.label ?? null,
      },
      'command',
    );
  };
}
