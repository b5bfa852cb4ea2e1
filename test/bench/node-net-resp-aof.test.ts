// The node:net RESP peer with --aof (bench/peers/node-net-resp-map.ts), the resp suite's
// measure of Node's ceiling for a durable SET: every acknowledged SET is in the append-only file,
// in each connection's order, and replies keep their order on a connection, also behind SETs
// that wait for the turn's sync. (That the write and fdatasync precede the reply is the code
// order of append-only-file.ts, which acknowledges a batch after its sync; a client cannot see a
// gap of microseconds, so this does not claim it.)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { RespCommandParser } from '../../bench/peers/resp-command-parser.js';
import { useAofPeer } from './peer-process.js';

const PEER = new URL('../../bench/peers/node-net-resp-map.js', import.meta.url).pathname;
const encode = (...args: string[]) =>
  `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;

/** The SETs in the file, as [key, value] pairs, in file order. */
function setsInFile(path: string): string[][] {
  return new RespCommandParser()
    .push(readFileSync(path))
    .map((args) => args.map((arg) => arg.toString('utf8')))
    .map(([name, key, value]) => {
      assert.equal(name, 'SET');
      return [key!, value!];
    });
}

/** Sends `bytes` and collects `count` replies (simple strings, bulk strings, nil as '$-1'). */
function exchange(socket: Socket, bytes: string, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const replies: string[] = [];
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      for (;;) {
        const end = pending.indexOf('\r\n');
        if (end < 0) break;
        const line = pending.slice(0, end);
        if (line.startsWith('$') && line !== '$-1') {
          const length = Number(line.slice(1));
          if (pending.length < end + 2 + length + 2) break;
          const reply = pending.slice(end + 2, end + 2 + length);
          pending = pending.slice(end + 2 + length + 2);
          replies.push(reply);
        } else {
          // A simple string without its '+'; nil and errors as they are.
          const reply = line.startsWith('+') ? line.slice(1) : line;
          pending = pending.slice(end + 2);
          replies.push(reply);
        }
        if (replies.length === count) {
          socket.off('data', onData);
          resolve(replies);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(bytes);
  });
}

for (const sync of ['pool', 'loop'] as const)
  describe(`node:net RESP peer with --aof --aof-sync ${sync} (bench)`, () => {
    const peer = useAofPeer(PEER, sync);

    it('has every acknowledged SET in the file, and answers pipelines in order', async () => {
      const file = peer.file;
      const sockets = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<Socket>((resolve) => {
              const socket = connect(peer.port, '127.0.0.1', () => resolve(socket));
              socket.setNoDelay(true);
            }),
        ),
      );
      try {
        const runs = sockets.map((socket, index) => {
          const commands = [
            encode('GET', `k${index}:0`),
            ...Array.from({ length: 20 }, (_, n) => encode('SET', `k${index}:${n}`, `v${index}:${n}`)),
            encode('GET', `k${index}:0`),
            encode('PING'),
          ];
          return exchange(socket, commands.join(''), commands.length);
        });
        const replies = await Promise.all(runs);
        for (const [index, answered] of replies.entries()) {
          assert.equal(answered[0], '$-1', 'a GET before the SETs finds nothing');
          assert.deepEqual(answered.slice(1, 21), Array(20).fill('OK'));
          assert.equal(answered[21], `v${index}:0`, 'a GET behind the SETs reads them');
          assert.equal(answered[22], 'PONG');
        }
        const inFile = setsInFile(file);
        assert.equal(inFile.length, 60);
        for (const index of [0, 1, 2])
          assert.deepEqual(
            inFile.filter(([key]) => key!.startsWith(`k${index}:`)),
            Array.from({ length: 20 }, (_, n) => [`k${index}:${n}`, `v${index}:${n}`]),
          );
      } finally {
        for (const socket of sockets) socket.destroy();
      }
    });
  });
