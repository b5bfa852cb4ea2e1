// slowloris: connections that trickle a request one byte per second — half never finish their
// headers, half send complete headers and then trickle a body — to see when the server cuts them
// against the documented headersTimeoutMs and requestTimeoutMs (docs/limits.md).

import { connect, type Socket } from 'node:net';
import { sleep, type Attack, type AttackContext, type AttackFindings } from './attack.js';
import { defaultLimits } from '../../src/core/limits.js';
import { PREFIX_TOKEN } from './attack-server.js';
import { latencyStats } from './latency-stats.js';
import { StatusTally } from './status-tally.js';

interface Trickle {
  readonly socket: Socket;
  readonly kind: 'headers' | 'body';
  firstLine: string;
  cutAfterMs: number | undefined;
}

export const slowloris: Attack = {
  name: 'slowloris',
  summary:
    'N connections send a request one byte per second for S seconds: half never finish the headers (`GET`), half send full headers of a `PUT` with Content-Length 100000 (the p/ token) and trickle the body.',
  maxSeconds: (settings) => settings.slowlorisSeconds + 30,
  async run(context: AttackContext): Promise<AttackFindings> {
    const { settings, server } = context;
    const tally = new StatusTally();
    const started = performance.now();
    const trickles: Trickle[] = [];
    for (let index = 0; index < settings.slowlorisConnections; index++) {
      const kind = index % 2 === 0 ? 'headers' : 'body';
      const socket = context.track(connect({ host: '127.0.0.1', port: server.httpPort }));
      const trickle: Trickle = { socket, kind, firstLine: '', cutAfterMs: undefined };
      trickles.push(trickle);
      socket.on('error', () => undefined);
      socket.on('data', (chunk: Buffer) => {
        if (trickle.firstLine === '') trickle.firstLine = chunk.toString('latin1', 0, 200).split('\r\n')[0]!;
      });
      socket.on('close', () => {
        trickle.cutAfterMs ??= performance.now() - started;
      });
      socket.write(
        kind === 'headers'
          ? 'GET /v1/kv/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '
          : `PUT /v1/kv/p/slow-${index} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${PREFIX_TOKEN}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`,
      );
    }
    const until = started + settings.slowlorisSeconds * 1000;
    while (
      context.active() &&
      performance.now() < until &&
      trickles.some((trickle) => trickle.cutAfterMs === undefined)
    ) {
      await sleep(1000);
      for (const trickle of trickles)
        if (trickle.cutAfterMs === undefined && !trickle.socket.destroyed) trickle.socket.write('a');
    }
    const group = (kind: Trickle['kind']) => {
      const members = trickles.filter((trickle) => trickle.kind === kind);
      const cut = members.filter((trickle) => trickle.cutAfterMs !== undefined);
      const times = latencyStats(cut.map((trickle) => trickle.cutAfterMs! / 1000));
      const answers = new Map<string, number>();
      for (const trickle of members) {
        const label = trickle.firstLine === '' ? '(no answer)' : trickle.firstLine;
        answers.set(label, (answers.get(label) ?? 0) + 1);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(trickle.firstLine)?.[1] ?? 0);
        if (status > 0) tally.status(status);
        else tally.failure(trickle.cutAfterMs !== undefined ? 'closed without an answer' : 'still open at the end');
      }
      return `${cut.length} of ${members.length} cut${cut.length > 0 ? ` after ${times.p50.toFixed(1)} s median (first ${(Math.min(...cut.map((trickle) => trickle.cutAfterMs!)) / 1000).toFixed(1)} s, last ${times.max.toFixed(1)} s)` : ''}; answers: ${[...answers].map(([line, count]) => `${line} ×${count}`).join(', ')}`;
    };
    const details: [string, string][] = [
      [`slow headers (documented cut: headersTimeoutMs ${defaultLimits.headersTimeoutMs} ms)`, group('headers')],
      [`slow body (documented cut: requestTimeoutMs ${defaultLimits.requestTimeoutMs} ms)`, group('body')],
    ];
    for (const trickle of trickles) trickle.socket.destroy();
    return {
      tried: `${settings.slowlorisConnections} connections trickling 1 byte/s for up to ${settings.slowlorisSeconds} s`,
      tally,
      details,
    };
  },
};
