// watch-flood: many revisions with values first, then many `GET /v1/watch?since=0&values=1`
// streams (parameter names from src/http/watch-routes.ts) that replay the whole history: half
// read a little once a second, half never read at all.

import { connect, type Socket } from 'node:net';
import { mib, sleep, type Attack, type AttackContext, type AttackFindings } from './attack.js';
import { loadThroughResp } from './resp-loader.js';
import { StatusTally } from './status-tally.js';

const DRAIN_MS = 1000;

interface Stream {
  readonly socket: Socket;
  readonly slow: boolean;
  bytes: number;
  status: number;
  closedAfterMs: number | undefined;
  sawEnd: string | undefined;
}

export const watchFlood: Attack = {
  name: 'watch-flood',
  summary:
    'Writes W revisions of 4 KiB values (RESP SET, 1,000 keys), then opens N `GET /v1/watch?since=0&values=1` streams: half read for 10 ms once a second, half do not read; held for S seconds, then every stream is read for 1 s.',
  maxSeconds: (settings) => settings.watchSeconds + 30,
  async prepare(context) {
    const { settings, server } = context;
    const value = Buffer.alloc(settings.watchValueBytes, 'w');
    const load = await loadThroughResp(server.respPort, settings.watchRevisions, (index) => [
      'SET',
      `w/${index % 1000}`,
      value,
    ]);
    return [
      [
        'prepared',
        `${load.commands} SETs of ${settings.watchValueBytes} B in ${load.seconds.toFixed(1)} s (${load.errors} errors${load.firstError ? `: ${load.firstError}` : ''})`,
      ],
    ];
  },
  async run(context: AttackContext): Promise<AttackFindings> {
    const { settings, server } = context;
    const tally = new StatusTally();
    const started = performance.now();
    const streams: Stream[] = [];
    for (let index = 0; index < settings.watchers; index++) {
      const socket = context.track(connect({ host: '127.0.0.1', port: server.httpPort }));
      const stream: Stream = {
        socket,
        slow: index % 2 === 0,
        bytes: 0,
        status: 0,
        closedAfterMs: undefined,
        sawEnd: undefined,
      };
      streams.push(stream);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        stream.closedAfterMs ??= performance.now() - started;
      });
      socket.on('data', (chunk: Buffer) => {
        if (stream.bytes === 0) {
          stream.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1', 0, 20))?.[1] ?? 0);
          if (!stream.slow) socket.pause();
        }
        stream.bytes += chunk.length;
        if (stream.sawEnd === undefined) {
          const end = chunk.indexOf('event: end');
          if (end >= 0) stream.sawEnd = chunk.toString('utf8', end, end + 80).replace(/\s+/g, ' ');
        }
      });
      socket.write('GET /v1/watch?since=0&values=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    }
    // Slow readers: 10 ms of reading once a second.
    const until = started + settings.watchSeconds * 1000;
    while (context.active() && performance.now() < until) {
      for (const stream of streams) if (stream.slow && stream.bytes > 0) stream.socket.pause();
      await sleep(990);
      for (const stream of streams) if (stream.slow) stream.socket.resume();
      await sleep(10);
    }
    // Then every stream is read for a second: a stream the server ended (`event: end`, or closed)
    // shows it only once its reader reads again.
    for (const stream of streams) stream.socket.resume();
    await sleep(DRAIN_MS);
    for (const stream of streams) {
      if (stream.status > 0) tally.status(stream.status);
      else tally.failure(stream.closedAfterMs !== undefined ? 'closed before any answer' : 'no answer read');
    }
    const group = (slow: boolean) => {
      const members = streams.filter((stream) => stream.slow === slow);
      const closed = members.filter((stream) => stream.closedAfterMs !== undefined);
      const closedTimes = closed.map((stream) => (stream.closedAfterMs! / 1000).toFixed(1));
      const ends = members.filter((stream) => stream.sawEnd !== undefined);
      return `${members.length} streams, ${mib(members.reduce((sum, stream) => sum + stream.bytes, 0))} read in all; closed from the server's side (an end, or the server died): ${closed.length}${closed.length > 0 ? ` (after ${closedTimes.slice(0, 6).join(', ')}${closed.length > 6 ? ', ...' : ''} s)` : ''}; end events seen: ${ends.length}${ends.length > 0 ? ` (${ends[0]!.sawEnd})` : ''}`;
    };
    for (const stream of streams) stream.socket.destroy();
    return {
      tried: `${settings.watchers} watch streams replaying ${settings.watchRevisions} revisions, held ${settings.watchSeconds} s, then all read for ${DRAIN_MS / 1000} s`,
      tally,
      details: [
        ['slow readers (10 ms a second)', group(true)],
        ['stalled readers (no reading after the first chunk until the last second)', group(false)],
      ],
    };
  },
};
