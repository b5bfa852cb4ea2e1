// resp-partial-args: connections that announce a command of ~1M arguments, send all but the last
// (each an empty bulk string), and then wait, never completing the command.

import { connect, type Socket } from 'node:net';
import { mib, sleep, type Attack, type AttackContext, type AttackFindings } from './attack.js';
import { StatusTally } from './status-tally.js';

interface Held {
  readonly socket: Socket;
  replyText: string;
  closedAfterMs: number | undefined;
  error: string | undefined;
}

export const respPartialArgs: Attack = {
  name: 'resp-partial-args',
  summary:
    'N RESP connections each send `*1048576\\r\\n` and 1,048,575 × `$0\\r\\n\\r\\n` (no token), never the last argument, and hold the connection open for S seconds.',
  maxSeconds: (settings) => settings.partialSeconds + 30,
  async run(context: AttackContext): Promise<AttackFindings> {
    const { settings, server } = context;
    const tally = new StatusTally();
    const emptyArg = Buffer.from('$0\r\n\r\n');
    const payload = Buffer.concat([
      Buffer.from(`*${settings.partialArgs}\r\n`),
      Buffer.alloc(emptyArg.length * (settings.partialArgs - 1)),
    ]);
    for (let offset = payload.indexOf('\n') + 1; offset < payload.length; offset += emptyArg.length)
      emptyArg.copy(payload, offset);
    const started = performance.now();
    const held: Held[] = [];
    for (let index = 0; index < settings.partialConnections; index++) {
      const socket = context.track(connect({ host: '127.0.0.1', port: server.respPort }));
      const entry: Held = { socket, replyText: '', closedAfterMs: undefined, error: undefined };
      held.push(entry);
      socket.on('error', (error: NodeJS.ErrnoException) => {
        entry.error ??= error.code ?? error.message;
      });
      socket.on('data', (chunk: Buffer) => {
        if (entry.replyText.length < 200) entry.replyText += chunk.toString('utf8', 0, 200);
      });
      socket.on('close', () => {
        entry.closedAfterMs ??= performance.now() - started;
      });
      socket.write(payload);
    }
    const until = started + settings.partialSeconds * 1000;
    while (context.active() && performance.now() < until) await sleep(100);
    let accepted = 0;
    for (const entry of held) {
      // What left this process: written minus what is still queued locally.
      accepted += entry.socket.bytesWritten - entry.socket.writableLength;
      if (entry.replyText.startsWith('-'))
        tally.resp({ kind: 'error', text: entry.replyText.split('\r\n')[0]!.slice(1), bytes: 0 });
      else if (entry.closedAfterMs !== undefined) tally.failure(entry.error ?? 'closed without a reply');
      else tally.failure('still waiting (no reply) at the end');
    }
    const closed = held.filter((entry) => entry.closedAfterMs !== undefined);
    for (const entry of held) entry.socket.destroy();
    return {
      tried: `${settings.partialConnections} connections × ${mib(payload.length)} (${settings.partialArgs - 1} of ${settings.partialArgs} arguments), held ${settings.partialSeconds} s`,
      tally,
      details: [
        [
          'bytes the server took off the sockets (all connections)',
          `${mib(accepted)} of ${mib(payload.length * held.length)}`,
        ],
        [
          "connections closed from the server's side",
          `${closed.length}${closed.length > 0 ? ` (first after ${(Math.min(...closed.map((entry) => entry.closedAfterMs!)) / 1000).toFixed(1)} s)` : ''}`,
        ],
        ['first reply seen', held.find((entry) => entry.replyText !== '')?.replyText.split('\r\n')[0] ?? '(none)'],
      ],
    };
  },
};
