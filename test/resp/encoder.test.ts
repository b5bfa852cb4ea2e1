import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeReply, formatDouble, writeReply } from '../../src/resp/encoder.js';
import {
  BooleanReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  nullArray,
  ok,
  SetReply,
  SimpleReply,
  VerbatimReply,
  type Reply,
} from '../../src/resp/reply.js';

function bytes(reply: Reply, protocol: 2 | 3): string {
  return encodeReply(reply, protocol).toString('latin1');
}

describe('RESP encoder', () => {
  const both: [string, Reply, string, string][] = [
    ['simple string', ok, '+OK\r\n', '+OK\r\n'],
    ['error', new ErrorReply('ERR syntax error'), '-ERR syntax error\r\n', '-ERR syntax error\r\n'],
    ['integer', 42, ':42\r\n', ':42\r\n'],
    ['negative integer', -7, ':-7\r\n', ':-7\r\n'],
    ['64-bit integer', -(2n ** 63n), ':-9223372036854775808\r\n', ':-9223372036854775808\r\n'],
    ['bulk string from bytes', Buffer.from([0, 13, 10, 255]), '$4\r\n\x00\r\n\xff\r\n', '$4\r\n\x00\r\n\xff\r\n'],
    ['empty bulk string', Buffer.alloc(0), '$0\r\n\r\n', '$0\r\n\r\n'],
    ['bulk string from UTF-8 text', 'é', '$2\r\n\xc3\xa9\r\n', '$2\r\n\xc3\xa9\r\n'],
    ['null', null, '$-1\r\n', '_\r\n'],
    ['null array', nullArray, '*-1\r\n', '_\r\n'],
    ['array', ['a', 1, null], '*3\r\n$1\r\na\r\n:1\r\n$-1\r\n', '*3\r\n$1\r\na\r\n:1\r\n_\r\n'],
    ['empty array', [], '*0\r\n', '*0\r\n'],
    ['nested array', [[1], []], '*2\r\n*1\r\n:1\r\n*0\r\n', '*2\r\n*1\r\n:1\r\n*0\r\n'],
    ['map', new MapReply([['k', 1]]), '*2\r\n$1\r\nk\r\n:1\r\n', '%1\r\n$1\r\nk\r\n:1\r\n'],
    ['set', new SetReply(['a']), '*1\r\n$1\r\na\r\n', '~1\r\n$1\r\na\r\n'],
    ['double', new DoubleReply(1.5), '$3\r\n1.5\r\n', ',1.5\r\n'],
    ['infinite double', new DoubleReply(-Infinity), '$4\r\n-inf\r\n', ',-inf\r\n'],
    ['boolean', new BooleanReply(true), ':1\r\n', '#t\r\n'],
    ['false', new BooleanReply(false), ':0\r\n', '#f\r\n'],
    ['verbatim string', new VerbatimReply('txt', 'hi'), '$2\r\nhi\r\n', '=6\r\ntxt:hi\r\n'],
  ];
  for (const [name, reply, resp2, resp3] of both) {
    it(`encodes a ${name} in RESP2 and RESP3`, () => {
      assert.equal(bytes(reply, 2), resp2);
      assert.equal(bytes(reply, 3), resp3);
    });
  }

  it('passes large values through as buffers, byte for byte', () => {
    const value = Buffer.alloc(100_000);
    for (let index = 0; index < value.length; index++) value[index] = index % 256;
    const encoded = encodeReply([value, 'x'], 2);
    const header = `*2\r\n$${value.length}\r\n`;
    assert.equal(encoded.toString('latin1', 0, header.length), header);
    assert.ok(encoded.subarray(header.length, header.length + value.length).equals(value));
    assert.equal(encoded.toString('latin1', header.length + value.length), '\r\n$1\r\nx\r\n');
  });

  it('keeps simple strings and errors on one line', () => {
    assert.equal(bytes(new ErrorReply('ERR a\r\nb'), 2), '-ERR a  b\r\n');
    assert.equal(bytes(new SimpleReply('x\ny'), 3), '+x y\r\n');
  });

  it('formats doubles like %.17g', () => {
    assert.equal(formatDouble(0.1), '0.10000000000000001');
    assert.equal(formatDouble(1), '1');
    assert.equal(formatDouble(1e21), '1e+21');
    assert.equal(formatDouble(1.5e-7), '1.4999999999999999e-07');
    assert.equal(formatDouble(Number.NaN), 'nan');
    assert.equal(formatDouble(123456789012345680000), '1.2345678901234568e+20');
  });

  // Hostile trial: `ttl: 1e308` stored over HTTP made PTTL answer `:Infinity`, which is not RESP.
  it('never writes an integer reply that is not a 64-bit integer: the internal error takes its place', () => {
    for (const value of [Infinity, -Infinity, Number.NaN, 1.5, 1e20, 2n ** 63n, -(2n ** 63n) - 1n]) {
      assert.equal(bytes(value, 2), '-ERR Internal server error.\r\n', String(value));
    }
    assert.equal(bytes([1, Infinity, 2], 3), '*3\r\n:1\r\n-ERR Internal server error.\r\n:2\r\n');
    assert.equal(bytes(2 ** 62, 2), `:${2n ** 62n}\r\n`);
    const reported: string[] = [];
    const sink = { text: () => {}, bytes: () => {}, invalid: (detail: string) => reported.push(detail) };
    writeReply(sink, Infinity, 2);
    assert.deepEqual(reported, ['integer reply Infinity is not a 64-bit integer']);
  });
});
