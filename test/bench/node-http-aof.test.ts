// The node:http peer with --aof (bench/peers/node-http-map.ts), the http suite's measure of
// Node's ceiling for a durable PUT: every PUT it answered is in the append-only file, with its
// body, however many arrive at once (many per sync), both ways of syncing.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { useAofPeer } from './peer-process.js';

const PEER = new URL('../../bench/peers/node-http-map.js', import.meta.url).pathname;

/** The file's records (u32 key length, u32 value length, key, value) as [key, value] pairs. */
function putsInFile(path: string): [string, string][] {
  const bytes = readFileSync(path);
  const puts: [string, string][] = [];
  for (let at = 0; at < bytes.length; ) {
    const keyLength = bytes.readUInt32LE(at);
    const valueLength = bytes.readUInt32LE(at + 4);
    const keyStart = at + 8;
    const valueStart = keyStart + keyLength;
    puts.push([
      bytes.toString('utf8', keyStart, valueStart),
      bytes.toString('utf8', valueStart, valueStart + valueLength),
    ]);
    at = valueStart + valueLength;
  }
  return puts;
}

for (const sync of ['pool', 'loop'] as const)
  describe(`node:http peer with --aof --aof-sync ${sync} (bench)`, () => {
    const peer = useAofPeer(PEER, sync);

    it('has every answered PUT in the file, and serves what it stored', async () => {
      const keys = Array.from({ length: 40 }, (_, index) => `key-${index}`);
      const answers = await Promise.all(
        keys.map((key) => fetch(`http://127.0.0.1:${peer.port}/${key}`, { method: 'PUT', body: `value of ${key}` })),
      );
      assert.deepEqual(
        answers.map((answer) => answer.status),
        keys.map(() => 204),
      );
      const inFile = new Map(putsInFile(peer.file));
      assert.equal(inFile.size, keys.length);
      for (const key of keys) assert.equal(inFile.get(key), `value of ${key}`);
      const read = await fetch(`http://127.0.0.1:${peer.port}/key-7`);
      assert.equal(await read.text(), 'value of key-7');
    });
  });
