// Node's own RESP ceiling on this machine: a bare node:net server over a Map, with no command
// table, auth, limits or storage. GET, SET (no options), PING, and CONFIG GET answered with an
// empty value (redis-benchmark asks for `save` and `appendonly` before it starts); anything else
// is an error reply. Replies go out in request order, one write per chunk read, so pipelined
// requests (redis-benchmark -P 16) are answered as a real server would.
// Run as its own process: node dist/bench/peers/node-net-resp-map.js --port 0

import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { RespCommandParser } from './resp-command-parser.js';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } },
});

const store = new Map<string, Buffer>();
const OK = Buffer.from('+OK\r\n');
const PONG = Buffer.from('+PONG\r\n');
const NIL = Buffer.from('$-1\r\n');
const CRLF = Buffer.from('\r\n');

function bulk(value: Buffer, replies: Buffer[]): void {
  replies.push(Buffer.from(`$${value.length}\r\n`), value, CRLF);
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
    for (const args of commands) answer(args, replies);
    socket.write(replies.length === 1 ? replies[0]! : Buffer.concat(replies));
  });
  socket.on('error', () => socket.destroy());
});

server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  process.stdout.write(`node-net-resp-map ready: ${values.host}:${address.port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
