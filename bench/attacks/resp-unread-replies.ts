// resp-unread-replies: connections that pipeline GETs of a large value and never read a reply,
// so every reply the server produces has to wait somewhere.

import { connect, type Socket } from 'node:net';
import { mib, sleep, type Attack, type AttackContext, type AttackFindings } from './attack.js';
import { encodeCommand, RespConnection } from './resp-wire.js';
import { ADMIN_TOKEN } from './attack-server.js';
import { StatusTally } from './status-tally.js';

const BIG_KEY = 'unread/big';
const BATCH = 100;

export const respUnreadReplies: Attack = {
  name: 'resp-unread-replies',
  summary:
    'N RESP connections pipeline `GET` of a 64 KiB value as fast as the socket takes them (no token) and never read a reply, for S seconds.',
  maxSeconds: (settings) => settings.unreadSeconds + 30,
  async prepare(context) {
    const connection = await RespConnection.open(context.server.respPort);
    try {
      await connection.call(['AUTH', ADMIN_TOKEN]);
      const reply = await connection.call(['SET', BIG_KEY, Buffer.alloc(context.settings.unreadValueBytes, 'u')]);
      return [['prepared', `SET ${BIG_KEY} (${context.settings.unreadValueBytes} B): ${reply.kind} ${reply.text}`]];
    } finally {
      connection.close();
    }
  },
  async run(context: AttackContext): Promise<AttackFindings> {
    const { settings, server } = context;
    const tally = new StatusTally();
    const batch = Buffer.concat(Array.from({ length: BATCH }, () => encodeCommand(['GET', BIG_KEY])));
    const started = performance.now();
    const until = started + settings.unreadSeconds * 1000;
    let closedByServer = 0;
    const pump = async (socket: Socket): Promise<number> => {
      let sent = 0;
      let closed = false;
      socket.on('close', () => {
        closed = true;
      });
      while (context.active() && !closed && performance.now() < until && sent < settings.unreadMaxCommands) {
        sent += BATCH;
        if (!socket.write(batch)) {
          // Wait for room (or the end): the attacker's own memory stays bounded too.
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              socket.removeListener('drain', done);
              resolve();
            };
            const timer = setTimeout(done, 200);
            socket.once('drain', done);
          });
        }
      }
      if (closed) closedByServer++;
      return sent;
    };
    const sockets = Array.from({ length: settings.unreadConnections }, () => {
      const socket = context.track(connect({ host: '127.0.0.1', port: server.respPort }));
      socket.on('error', () => undefined);
      socket.pause();
      return socket;
    });
    await sleep(100);
    const sent = await Promise.all(sockets.map(pump));
    const accepted = sockets.reduce((sum, socket) => sum + socket.bytesWritten - socket.writableLength, 0);
    for (const socket of sockets) socket.destroy();
    const total = sent.reduce((sum, count) => sum + count, 0);
    return {
      tried: `${settings.unreadConnections} connections, ${total.toLocaleString('en-US')} GETs queued by the attacker in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      tally,
      details: [
        [
          'GETs that left the attacker (in the server or in kernel socket buffers)',
          `about ${Math.floor((accepted / batch.length) * BATCH).toLocaleString('en-US')} (${mib(accepted)} of commands)`,
        ],
        ["connections closed from the server's side", String(closedByServer)],
      ],
    };
  },
};
