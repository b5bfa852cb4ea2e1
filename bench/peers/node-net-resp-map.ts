// Node's own RESP ceiling on this machine: a bare node:net server over a Map, with no command
// table, auth, limits or storage. GET, SET (no options), PING, and CONFIG GET answered with an
// empty value (redis-benchmark asks for `save` and `appendonly` before it starts); anything else
// is an error reply. Replies go out in request order, one write per chunk read, so pipelined
// requests (redis-benchmark -P 16) are answered as a real server would.
//
// With `--aof FILE` it is also Node's ceiling for a durable SET, built the way redis-server
// `appendfsync always` is (aof.c: commands appended to a buffer while the event loop handles
// reads, written and fsynced in beforeSleep, before any reply of that turn goes out): every SET
// of a turn is appended to FILE as its RESP command, and once the poll phase has read every
// socket that was ready, one setImmediate writes them all with one write(2) and one
// fdatasync(2), on the event loop thread as redis does, then sends the replies it held. A
// connection's replies keep their order: once one of its replies waits for the sync, the ones
// after it wait too.
// Run as its own process: node dist/bench/peers/node-net-resp-map.js --port 0 [--aof FILE]

import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { RespCommandParser } from './resp-command-parser.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    aof: { type: 'string' },
  },
});

const store = new Map<string, Buffer>();
const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');
const CRLF = Buffer.from('\r\n');

function bulk(value: Buffer, replies: Buffer[]): void {
  replies.push(Buffer.from(`$${value.length}\r\n`), value, CRLF);
}

/** The append-only file, when durable: SETs of this turn not yet written, and the replies held for them. */
const aof = values.aof === undefined ? undefined : openSync(values.aof, 'a');
let appended: Buffer[] = [];
let held: { socket: Socket; replies: Buffer }[] = [];
const waiting = new Set<Socket>();

/** redis's beforeSleep with appendfsync always: one write and one fdatasync, then the replies. */
function syncAndReply(): void {
  const batch = Buffer.concat(appended);
  appended = [];
  let written = 0;
  while (written < batch.length) written += writeSync(aof!, batch, written);
  fdatasyncSync(aof!);
  const replies = held;
  held = [];
  waiting.clear();
  for (const { socket, replies: bytes } of replies) if (!socket.destroyed) socket.write(bytes);
}

function appendSet(args: Buffer[]): void {
  if (appended.length === 0 && held.length === 0) setImmediate(syncAndReply);
  const [, key, value] = args as [Buffer, Buffer, Buffer];
  appended.push(
    Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n`),
    key,
    Buffer.from(`\r\n$${value.length}\r\n`),
    value,
    CRLF,
  );
}

function answer(args: Buffer[], replies: Buffer[]): void {
  const name = args[0]!.toString('latin1').toLowerCase();
  if (name === 'get' && args.length === 2) {
    const value = store.get(args[1]!.toString('utf8'));
    if (value === undefined) replies.push(NIL);
    else bulk(value, replies);
  } else if (name === 'set' && args.length === 3) {
    // A copy: the argument is a view of the socket's chunk.
    store.set(args[1]!.toString('utf8'), Buffer.from(args[2]!));
    if (aof !== undefined) appendSet(args);
    replies.push(OK);
  } else if (name === 'ping' && args.length <= 2) {
    if (args.length === 2) bulk(args[1]!, replies);
    else replies.push(PONG);
  } else if (name === 'config' && args.length === 3 && args[1]!.toString('latin1').toLowerCase() === 'get') {
    replies.push(Buffer.from('*2\r\n'));
    bulk(args[2]!, replies);
    bulk(Buffer.alloc(0), replies);
  } else {
    replies.push(Buffer.from(`-ERR unknown command or arguments '${name.replace(/[^\x21-\x7e]/g, '?')}'\r\n`));
  }
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  const parser = new RespCommandParser();
  socket.on('data', (chunk: Buffer) => {
    let commands: Buffer[][];
    try {
      commands = parser.push(chunk);
    } catch (error) {
      socket.end(`-ERR Protocol error: ${(error as Error).message}\r\n`);
      return;
    }
    if (commands.length === 0) return;
    const replies: Buffer[] = [];
    const before = appended.length;
    for (const args of commands) answer(args, replies);
    const bytes = replies.length === 1 ? replies[0]! : Buffer.concat(replies);
    if (appended.length === before && !waiting.has(socket)) socket.write(bytes);
    else {
      // After this turn's sync (a SET in the chunk), or behind replies that wait for it.
      waiting.add(socket);
      held.push({ socket, replies: bytes });
    }
  });
  socket.on('error', () => socket.destroy());
});

server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  process.stdout.write(`node-net-resp-map ready: ${values.host}:${address.port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => {
    if (aof !== undefined) closeSync(aof);
    process.exit(0);
  });
