// The node:net RESP peer's parser (bench/peers/resp-command-parser.ts): pipelined commands come
// out whole and in order however the bytes are cut into chunks, so the peer's figures at -P 16
// are those of a server that answers every request.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RespCommandParser, RespProtocolError } from '../../bench/peers/resp-command-parser.js';

const encode = (...args: string[]) =>
  `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
const strings = (commands: Buffer[][]) => commands.map((args) => args.map((arg) => arg.toString('utf8')));

describe('RespCommandParser (bench peer)', () => {
  const pipeline = [
    ['SET', 'key:1', 'x'.repeat(100)],
    ['GET', 'key:1'],
    ['PING'],
    ['SET', 'crlf', 'a\r\nb'],
    ['GET', 'é'],
  ];
  const bytes = Buffer.from(`${pipeline.map((args) => encode(...args)).join('')}PING\r\n`);
  const expected = [...pipeline, ['PING']];

  it('parses a pipeline in one chunk, in order, including values holding CRLF and an inline command', () => {
    assert.deepEqual(strings(new RespCommandParser().push(bytes)), expected);
  });

  it('gives the same commands whatever the chunk boundaries', () => {
    for (const size of [1, 2, 3, 7, 50]) {
      const parser = new RespCommandParser();
      const commands: Buffer[][] = [];
      for (let offset = 0; offset < bytes.length; offset += size)
        commands.push(...parser.push(bytes.subarray(offset, offset + size)));
      assert.deepEqual(strings(commands), expected, `chunks of ${size} bytes`);
    }
  });

  it('refuses a malformed array', () => {
    assert.throws(() => new RespCommandParser().push(Buffer.from('*1\r\n:5\r\n')), RespProtocolError);
    assert.throws(() => new RespCommandParser().push(Buffer.from('*x\r\n')), RespProtocolError);
  });
});
