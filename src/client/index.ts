// The kvs package's main export: a typed client for a kvs server.
//
//   import { KvsClient } from 'kvs-server';
//   const kv = new KvsClient({ url: 'http://127.0.0.1:8080', token: process.env.KVS_TOKEN });
//   await kv.put('greeting', 'hello');
//   console.log(await kv.getText('greeting'));

export { KvsClient } from './kvs-client.js';
export { KvsClientError } from './errors.js';
export type { ClientSideCode } from './errors.js';
export { SseParser } from './sse-parser.js';
export type { SseMessage } from './sse-parser.js';
export type * from './types.js';
