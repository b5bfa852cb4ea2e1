// Node's own RESP ceiling on this machine: a bare node:net server over a Map, with no command
// table, auth, limits or storage. GET, SET (no options), PING, and CONFIG GET answered with an
// empty value (redis-benchmark asks for `save` and `appendonly` before it starts); anything else
// is an error reply. Replies go out in request order, one write per chunk read, so pipelined
// requests (redis-benchmark -P 16) are answered as a real server would.
//
// With `--aof FILE` it is also Node's ceiling for a durable SET: every SET is appended to FILE as
// its RESP command, and its reply (with every later reply of its connection) waits until FILE is
// written and fdatasynced. Two ways, `--aof-sync`:
// - `loop`: the way redis-server `appendfsync always` does it (aof.c: commands appended to a
//   buffer while the event loop reads, written and fsynced in beforeSleep before that turn's
//   replies go out): once the poll phase has read every ready socket, one setImmediate does one
//   write(2) and one fdatasync(2) on the event loop thread, then sends the held replies;
// - `pool` (the default): the rule kvs's WAL keeps (docs/durability.md), the write and the
//   fdatasync on libuv's thread pool, one batch in flight, the next one gathering meanwhile.
// Run as its own process: node dist/bench/peers/node-net-resp-map.js --port 0 [--aof FILE [--aof-sync loop|pool]]

import { closeSync, fdatasync, fdatasyncSync, openSync, write, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
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

/** The append-only file, when durable: SETs not yet written, and the replies held for them. */
const aof = values.aof === undefined ? undefined : openSync(values.aof, 'a');
const syncOnLoop = values['aof-sync'] === 'loop';
let appended: Buffer[] = [];
let held: { socket: Socket; replies: Buffer }[] = [];
/** Per connection, how many of its replies are held: those after them must wait too. */
const heldCount = new Map<Socket, number>();
let syncing = false;

function release(replies: readonly { socket: Socket; replies: Buffer }[]): void {
  for (const { socket, replies: bytes } of replies) {
    const count = heldCount.get(socket)! - 1;
    if (count === 0) heldCount.delete(socket);
    else heldCount.set(socket, count);
    if (!socket.destroyed) socket.write(bytes);
  }
}

/** Takes what this turn appended and the replies held for it. */
function takeBatch(): { bytes: Buffer; replies: { socket: Socket; replies: Buffer }[] } {
  const batch = { bytes: Buffer.concat(appended), replies: held };
  appended = [];
  held = [];
  return batch;
}

/** `--aof-sync loop`, redis's beforeSleep with appendfsync always: write, fdatasync, reply. */
function syncOnLoopAndReply(): void {
  const { bytes, replies } = takeBatch();
  let written = 0;
  while (written < bytes.length) written += writeSync(aof!, bytes, written);
  fdatasyncSync(aof!);
  release(replies);
}

/**
 * `--aof-sync pool` (the default), the rule kvs's WAL keeps: the write and the fdatasync run on
 * libuv's thread pool, one batch at a time, while the event loop goes on reading and answering;
 * what arrives meanwhile goes into the next batch (group commit).
 */
function syncInPoolAndReply(): void {
  if (syncing || (appended.length === 0 && held.length === 0)) return;
  syncing = true;
  const { bytes, replies } = takeBatch();
  const fail = (error: unknown) => {
    process.stderr.write(`node-net-resp-map: the AOF failed: ${String(error)}\n`);
    process.exit(1);
  };
  const writeFrom = (offset: number): void => {
    if (offset === bytes.length) {
      fdatasync(aof!, (error) => {
        if (error) fail(error);
        release(replies);
        syncing = false;
        syncInPoolAndReply();
      });
      return;
    }
    write(aof!, bytes, offset, bytes.length - offset, null, (error, count) => {
      if (error) fail(error);
      writeFrom(offset + count);
    });
  };
  writeFrom(0);
}

function appendSet(args: Buffer[]): void {
  if (appended.length === 0 && held.length === 0) setImmediate(syncOnLoop ? syncOnLoopAndReply : syncInPoolAndReply);
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
    if (appended.length === before && !heldCount.has(socket)) socket.write(bytes);
    else {
      // After the sync of this chunk's SETs, or behind this connection's replies that wait for one.
      heldCount.set(socket, (heldCount.get(socket) ?? 0) + 1);
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
