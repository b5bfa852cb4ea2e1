// Node's own HTTP ceiling on this machine: a bare node:http server over a Map, with no routing,
// validation, auth or storage. `GET /KEY` answers the stored value (404 if absent); `PUT /KEY`
// stores the body. Run as its own process: node dist/bench/peers/node-http-map.js --port 0

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } },
});

const store = new Map<string, Buffer>();

const server = createServer((request, response) => {
  const key = (request.url ?? '/').slice(1);
  if (request.method === 'GET') {
    const value = store.get(key);
    if (value === undefined) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': value.length }).end(value);
    return;
  }
  if (request.method === 'PUT') {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      store.set(key, Buffer.concat(chunks));
      response.writeHead(204).end();
    });
    return;
  }
  response.writeHead(405).end();
});

server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  process.stdout.write(`node-http-map ready: http://${values.host}:${address.port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
