// Bounds the number of open connections on a listener (docs/limits.md, maxConnections). Past
// the bound a new connection gets a one-shot 503 JSON answer and is closed; everyone else keeps
// being served.

import type { Server } from 'node:net';
import { KvsError } from '../core/errors.js';

export function limitConnections(server: Server, maxConnections: number, tls: boolean): void {
  let open = 0;
  const refusal = new KvsError('too_many_connections', undefined, { limit: maxConnections });
  const body = JSON.stringify(refusal.toJSON());
  const answer =
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`;
  server.prependListener('connection', (socket) => {
    if (open >= maxConnections) {
      // Over TLS the raw socket cannot carry a plain-text answer: close it.
      if (tls) socket.destroy();
      else socket.end(answer);
      socket.destroySoon?.();
      return;
    }
    open++;
    socket.once('close', () => {
      open--;
    });
  });
}
