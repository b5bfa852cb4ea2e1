// Node's own RESP ceiling on this machine: a bare node:net server over a Map, with no command
// table, auth, limits or storage. GET, SET (no options), PING, and CONFIG GET answered with an
// empty value (redis-benchmark asks for `save` and `appendonly` before it starts); anything else
// is an error reply. Replies go out in request order, one write per chunk read, so pipelined
// requests (redis-benchmark -P 16) are answered as a real server would.
//
// With `--aof FILE` it is also Node's ceiling for a durable SET: every SET is appended to FILE as
// its RESP command, and its reply (with every later reply of its connection) waits until FILE is
// written and fdatasynced, on libuv's thread pool (`--aof-sync pool`, the default: kvs's rule) or
// on the event loop once per turn (`--aof-sync loop`: redis's way); see append-only-file.ts.
// Run as its own process: node dist/bench/peers/node-net-resp-map.js --port 0 [--aof FILE [--aof-sync loop|pool]]

import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { type AofSync, AppendOnlyFile } from './append-only-file.js';
import { RespCommandParser } from './resp-command-parser.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    aof: { type: 'string' },
    'aof-sync': { type: 'string', default: 'pool' },
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

/** The append-only file, when durable (append-only-file.ts); each SET is appended as its RESP command. */
const aof = values.aof === undefined ? undefined : new AppendOnlyFile(values.aof, values['aof-sync'] as AofSync);
/** Per connection, how many of its replies wait for the file: the ones after them wait too. */
const waiting = new Map<Socket, number>();

function setCommand(args: Buffer[], parts: Buffer[]): void {
  const [, key, value] = args as [Buffer, Buffer, Buffer];
  parts.push(
    Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n`),
    key,
    Buffer.from(`\r\n$${value.length}\r\n`),
    value,
    CRLF,
  );
}

function answer(args: Buffer[], replies: Buffer[], appended: Buffer[]): void {
  const name = args[0]!.toString('latin1').toLowerCase();
  if (name === 'get' && args.length === 2) {
    const value = store.get(args[1]!.toString('utf8'));
    if (value === undefined) replies.push(NIL);
    else bulk(value, replies);
  } else if (name === 'set' && args.length === 3) {
    // A copy: the argument is a view of the socket's chunk.
    store.set(args[1]!.toString('utf8'), Buffer.from(args[2]!));
    if (aof !== undefined) setCommand(args, appended);
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
    const appended: Buffer[] = [];
    for (const args of commands) answer(args, replies, appended);
    const bytes = replies.length === 1 ? replies[0]! : Buffer.concat(replies);
    if (aof === undefined || (appended.length === 0 && !waiting.has(socket))) {
      socket.write(bytes);
      return;
    }
    // Once this chunk's SETs are durable, or behind this connection's replies that wait for theirs.
    waiting.set(socket, (waiting.get(socket) ?? 0) + 1);
    aof.append(appended, () => {
      const count = waiting.get(socket)! - 1;
      if (count === 0) waiting.delete(socket);
      else waiting.set(socket, count);
      if (!socket.destroyed) socket.write(bytes);
    });
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
    aof?.close();
    process.exit(0);
  });
