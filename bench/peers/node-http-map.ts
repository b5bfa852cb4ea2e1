// Node's own HTTP ceiling on this machine: a bare node:http server over a Map, with no routing,
// validation, auth or storage. `GET /KEY` answers the stored value (404 if absent); `PUT /KEY`
// stores the body. Run as its own process: node dist/bench/peers/node-http-map.js --port 0
//
// `--kvs-headers` answers a GET with the headers kvs's read fast path sends for an entry, built
// per request by kvs's own valueAnswerHeaderList from metadata kept per key, to tell what those
// headers cost from what the rest of kvs's code costs (BENCHMARKS.md, the run of 2026-12-01 10:39).
//
// `--aof FILE` makes it Node's ceiling for a durable PUT: each PUT's key and body are appended to
// FILE, and the PUT is answered once FILE is written and fdatasynced, many PUTs per sync, on
// libuv's thread pool (`--aof-sync pool`, the default: kvs's rule) or on the event loop once per
// turn (`--aof-sync loop`: redis's way); see append-only-file.ts.

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { type AofSync, AppendOnlyFile } from './append-only-file.js';
import type { KeyMeta } from '../../src/model/entry.js';
import { valueAnswerHeaderList } from '../../src/http/entry-headers.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'kvs-headers': { type: 'boolean', default: false },
    aof: { type: 'string' },
    'aof-sync': { type: 'string', default: 'pool' },
  },
});

const aof = values.aof === undefined ? undefined : new AppendOnlyFile(values.aof, values['aof-sync'] as AofSync);

/** A PUT as the file holds it: u32 key length, u32 value length, the key, the value. */
function putRecord(key: string, value: Buffer): Buffer[] {
  const keyBytes = Buffer.from(key, 'utf8');
  const lengths = Buffer.allocUnsafe(8);
  lengths.writeUInt32LE(keyBytes.length, 0);
  lengths.writeUInt32LE(value.length, 4);
  return [lengths, keyBytes, value];
}

const store = new Map<string, Buffer>();
/** Each key's metadata as kvs would keep it, for `--kvs-headers`. */
const metas = new Map<string, KeyMeta>();
let revision = 0;

function stored(key: string): KeyMeta {
  const previous = metas.get(key);
  revision++;
  return {
    createRevision: previous?.createRevision ?? revision,
    modRevision: revision,
    version: (previous?.version ?? 0) + 1,
    updated: Date.now(),
    expires: null,
    contentType: null,
  };
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
      response
        .writeHead(200, valueAnswerHeaderList(metas.get(key)!, value.length))
        .end(value.toString('latin1'), 'latin1');
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': value.length }).end(value);
    return;
  }
  if (request.method === 'PUT') {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const value = Buffer.concat(chunks);
      store.set(key, value);
      // Only with the flag: the bare peer's PUT stays a Map set.
      if (values['kvs-headers']) metas.set(key, stored(key));
      if (aof === undefined) response.writeHead(204).end();
      else aof.append(putRecord(key, value), () => response.writeHead(204).end());
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

for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => {
    aof?.close();
    process.exit(0);
  });
