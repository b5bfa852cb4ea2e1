// Node's own HTTP ceiling on this machine: a bare node:http server over a Map, with no routing,
// validation, auth or storage. `GET /KEY` answers the stored value (404 if absent); `PUT /KEY`
// stores the body. Run as its own process: node dist/bench/peers/node-http-map.js --port 0
//
// `--kvs-headers` answers a GET with the headers kvs sends for an entry (the same names and value
// shapes, built per request as kvs builds them), to tell what those headers cost from what kvs's
// own code costs (BENCHMARKS.md, the run of 2026-12-01 10:39).

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'kvs-headers': { type: 'boolean', default: false },
  },
});

const store = new Map<string, Buffer>();
/** Each key's version, for the kvs-shaped headers. */
const versions = new Map<string, number>();

function kvsHeaders(key: string, value: Buffer): string[] {
  const version = String(versions.get(key) ?? 1);
  return [
    'etag',
    `"${version}"`,
    'last-modified',
    new Date(Math.floor(Date.now() / 1000) * 1000).toUTCString(),
    'kvs-revision',
    version,
    'kvs-create-revision',
    version,
    'kvs-version',
    version,
    'content-type',
    'text/plain; charset=utf-8',
    'content-security-policy',
    "sandbox; default-src 'none'",
    'x-content-type-options',
    'nosniff',
    'content-length',
    String(value.length),
  ];
}

const server = createServer((request, response) => {
  const key = (request.url ?? '/').slice(1);
  if (request.method === 'GET') {
    const value = store.get(key);
    if (value === undefined) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    if (values['kvs-headers']) {
      response.writeHead(200, kvsHeaders(key, value)).end(value.toString('latin1'), 'latin1');
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
      versions.set(key, (versions.get(key) ?? 0) + 1);
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
