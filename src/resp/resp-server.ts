// The RESP listener (`kvs serve --resp-port N`): a node:net server whose connections each run a
// RespConnection over the shared KvService. Connections beyond limits.maxConnections are told
// `-ERR max number of clients reached` and closed, as Redis does.

import { createServer, type Socket } from 'node:net';
import type { Limits } from '../core/limits.js';
import type { KvService } from '../core/service.js';
import type { Logger } from '../core/logger.js';
import type { KvsMetrics } from '../core/metrics.js';
import { createCommandRecorder } from './command-record.js';
import { createCommandTable } from './command-table.js';
import { RespConnection } from './resp-connection.js';
import { RespServerState } from './server-state.js';

export interface RespServerOptions {
  readonly service: KvService;
  readonly host: string;
  readonly port: number;
  readonly limits: Limits;
  readonly log?: (message: string) => void;
  /** Command durations and the open-connections gauge go here. */
  readonly metrics?: KvsMetrics;
  /** With --access-log: one line per command. */
  readonly accessLog?: Logger;
}

export interface RespServer {
  /** The port listened on (the OS's choice when 0 was asked). */
  readonly port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

export async function startRespServer(options: RespServerOptions): Promise<RespServer> {
  const log = options.log ?? (() => {});
  const state = new RespServerState(options.service, options.limits, createCommandTable(), log);
  const sockets = new Set<Socket>();
  if (options.metrics !== undefined) {
    state.recordCommand = createCommandRecorder(options.metrics, options.accessLog);
    options.metrics.gauge('kvs_resp_connections', 'Open RESP connections', () => sockets.size);
  }
  const server = createServer((socket) => {
    state.stats.connectionsReceived++;
    if (sockets.size >= options.limits.maxConnections) {
      state.stats.rejectedConnections++;
      socket.on('error', () => socket.destroy());
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new RespConnection(socket, state);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Only once listening: a port that cannot be listened on fails the start, reported once by
  // `kvs serve` in its one line (docs/cli.md), not also as a log line before it.
  server.on('error', (error) => log(`resp: listener error: ${error.message}`));
  const address = server.address();
  state.port = typeof address === 'object' && address !== null ? address.port : options.port;
  state.host = typeof address === 'object' && address !== null ? address.address : options.host;
  return {
    port: state.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
