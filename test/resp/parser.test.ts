import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARGUMENT_OVERHEAD_BYTES,
  MAX_INLINE_BYTES,
  ProtocolError,
  RespParser,
  splitInlineArgs,
} from '../../src/resp/parser.js';
import { encodeCommand } from './resp-test-client.js';

const limits = { maxRequestBytes: 4 * 1024 * 1024, maxArguments: 1024 * 1024 };

type Item = string[] | { error: string };

/** Feeds the chunks one by one and collects everything the parser produces. */
function parseChunks(chunks: readonly Buffer[], parserLimits = limits): Item[] {
  const parser = new RespParser(parserLimits);
  const items: Item[] = [];
  for (const chunk of chunks) {
    parser.feed(chunk);
    for (;;) {
      const result = parser.next();
      if (result === undefined) break;
      if (result instanceof ProtocolError) items.push({ error: result.message });
      else items.push(result.map((arg) => arg.toString('latin1')));
    }
  }
  return items;
}

function parse(input: string | Buffer, parserLimits = limits): Item[] {
  return parseChunks([typeof input === 'string' ? Buffer.from(input, 'latin1') : input], parserLimits);
}

describe('RESP parser: multibulk requests', () => {
  it('parses arrays of bulk strings, including empty and binary arguments', () => {
    assert.deepEqual(parse('*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n'), [['GET', 'key']]);
    assert.deepEqual(parse('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n'), [['SET', 'k', '']]);
    assert.deepEqual(parse('*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n'), [['ECHO', 'a\r\nb']]);
    const binary = Buffer.from([0, 255, 13, 10, 36, 42]);
    const [command] = parseChunks([encodeCommand(['SET', 'k', binary])]);
    assert.deepEqual(command, ['SET', 'k', binary.toString('latin1')]);
  });

  it('parses many pipelined commands from one read, in order', () => {
    const input = Buffer.concat(Array.from({ length: 100 }, (_, index) => encodeCommand(['INCR', `k${index}`])));
    const items = parse(input);
    assert.equal(items.length, 100);
    items.forEach((item, index) => assert.deepEqual(item, ['INCR', `k${index}`]));
  });

  it('ignores *0 and *-1 (empty commands), as Redis does', () => {
    assert.deepEqual(parse('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n'), [['PING']]);
  });

  it('handles a split read at every byte boundary, with small and large (copied) bulk strings', () => {
    const large = Buffer.alloc(70 * 1024, 'x');
    large[0] = 13;
    large[large.length - 1] = 10;
    const stream = Buffer.concat([
      encodeCommand(['SET', 'key', 'value']),
      Buffer.from('PING\r\n'),
      encodeCommand(['SET', 'big', large]),
      encodeCommand(['MGET', 'a', '', 'c']),
      Buffer.from('set "a b" \'c\'\n'),
    ]);
    const expected = parse(stream);
    assert.equal(expected.length, 5);
    assert.equal((expected[2] as string[])[2]!.length, large.length);
    // Every 2-way split (the large value is where a 3-byte step keeps this fast; its edges are covered exactly).
    for (let split = 0; split <= stream.length; split++) {
      const nearEdges =
        split < 200 || split > stream.length - 300 || Math.abs(split - (stream.length - large.length)) < 300;
      if (!nearEdges && split % 997 !== 0) continue;
      assert.deepEqual(parseChunks([stream.subarray(0, split), stream.subarray(split)]), expected, `split at ${split}`);
    }
    // Byte by byte.
    const bytes = Array.from({ length: stream.length }, (_, index) => stream.subarray(index, index + 1));
    assert.deepEqual(parseChunks(bytes), expected);
  });

  it('handles every 3-way split of a small pipeline', () => {
    const stream = Buffer.concat([
      encodeCommand(['SET', 'k', 'v1']),
      Buffer.from('GET k\r\n'),
      encodeCommand(['DEL', 'k']),
    ]);
    const expected = parse(stream);
    for (let first = 0; first <= stream.length; first++) {
      for (let second = first; second <= stream.length; second++) {
        const parts = [stream.subarray(0, first), stream.subarray(first, second), stream.subarray(second)];
        assert.deepEqual(parseChunks(parts), expected, `splits at ${first}, ${second}`);
      }
    }
  });

  it('reports idle only between commands', () => {
    const parser = new RespParser(limits);
    assert.equal(parser.idle, true);
    parser.feed(Buffer.from('*2\r\n$3\r\nGET'));
    assert.equal(parser.next(), undefined);
    assert.equal(parser.idle, false);
    parser.feed(Buffer.from('\r\n$1\r\nk\r\n'));
    assert.deepEqual(parser.next()?.toString(), 'GET,k');
    assert.equal(parser.idle, true);
  });
});

describe('RESP parser: inline commands', () => {
  it('splits words like Redis (sdssplitargs)', () => {
    assert.deepEqual(parse('PING\r\n'), [['PING']]);
    assert.deepEqual(parse('set  a   b\n'), [['set', 'a', 'b']]);
    assert.deepEqual(parse('set "a b" \'c d\'\r\n'), [['set', 'a b', 'c d']]);
    assert.deepEqual(parse('echo "\\x41\\n\\t\\"q\\""\r\n'), [['echo', 'A\n\t"q"']]);
    assert.deepEqual(parse("echo 'it\\'s'\r\n"), [['echo', "it's"]]);
    assert.deepEqual(parse('echo ""\r\n'), [['echo', '']]);
  });

  it('ignores empty lines', () => {
    assert.deepEqual(parse('\r\n\n   \r\nPING\r\n'), [['PING']]);
  });

  it('refuses unbalanced quotes and a quote followed by a letter', () => {
    assert.deepEqual(parse('set "a b\r\n'), [{ error: 'Protocol error: unbalanced quotes in request' }]);
    assert.deepEqual(parse('set "a"b c\r\n'), [{ error: 'Protocol error: unbalanced quotes in request' }]);
    assert.equal(splitInlineArgs(Buffer.from("'open")), undefined);
  });

  it('refuses an inline line longer than 64 KB', () => {
    assert.deepEqual(parse('x'.repeat(MAX_INLINE_BYTES + 1)), [{ error: 'Protocol error: too big inline request' }]);
    // Short enough, but no newline yet: wait.
    assert.deepEqual(parse('x'.repeat(1000)), []);
  });
});

describe('RESP parser: malformed input', () => {
  const cases: [string, string | Buffer, string][] = [
    ['a non-numeric multibulk length', '*x\r\n', 'Protocol error: invalid multibulk length'],
    ['a multibulk length with a plus sign', '*+1\r\n', 'Protocol error: invalid multibulk length'],
    ['a multibulk length with a leading zero', '*01\r\n$4\r\nPING\r\n', 'Protocol error: invalid multibulk length'],
    ['a non-numeric bulk length', '*1\r\n$x\r\n', 'Protocol error: invalid bulk length'],
    ['a negative bulk length', '*1\r\n$-5\r\n', 'Protocol error: invalid bulk length'],
    ['an argument that is not a bulk string', '*1\r\n+PING\r\n', "Protocol error: expected '$', got '+'"],
    ['garbage instead of a bulk header', '*2\r\n$3\r\nGET\r\nhello\r\n', "Protocol error: expected '$', got 'h'"],
    ['a bulk string longer than announced', '*1\r\n$2\r\nabc\r\n', 'Protocol error: expected CRLF after bulk string'],
    ['a count line with CR but no LF', '*1\rX\n', 'Protocol error: invalid multibulk length'],
  ];
  for (const [name, input, error] of cases) {
    it(`refuses ${name}`, () => {
      assert.deepEqual(parse(input), [{ error }]);
    });
  }

  it('refuses a bulk string larger than maxRequestBytes before reading it', () => {
    const small = { maxRequestBytes: 100 + ARGUMENT_OVERHEAD_BYTES, maxArguments: 10 };
    assert.deepEqual(parse(`*1\r\n$${small.maxRequestBytes + 1}\r\n`, small), [
      { error: 'Protocol error: invalid bulk length' },
    ]);
    assert.deepEqual(parse('*1\r\n$100\r\n', small), []);
    assert.deepEqual(parse('*1\r\n$101\r\n', small), [
      { error: `Protocol error: request larger than ${small.maxRequestBytes} bytes` },
    ]);
  });

  it('refuses a command whose arguments add up to more than maxRequestBytes', () => {
    const small = { maxRequestBytes: 100 + 3 * ARGUMENT_OVERHEAD_BYTES, maxArguments: 10 };
    const input = `*3\r\n$3\r\nSET\r\n$50\r\n${'k'.repeat(50)}\r\n$50\r\n`;
    assert.deepEqual(parse(input, small), [
      { error: `Protocol error: request larger than ${small.maxRequestBytes} bytes` },
    ]);
  });

  // A hostile trial held 65 MB per connection with `*1048576` then `$0\r\n\r\n` repeated: empty
  // arguments counted 0 bytes. Each argument now costs ARGUMENT_OVERHEAD_BYTES besides its bytes.
  it('charges every argument its overhead, so many empty arguments are refused in bytes', () => {
    assert.deepEqual(parse('*1048576\r\n'), [
      { error: `Protocol error: request larger than ${limits.maxRequestBytes} bytes` },
    ]);
    const count = Math.floor(limits.maxRequestBytes / ARGUMENT_OVERHEAD_BYTES);
    const parser = new RespParser(limits);
    parser.feed(Buffer.from(`*${count}\r\n`));
    parser.feed(Buffer.from('$0\r\n\r\n'.repeat(count - 1)));
    assert.equal(parser.next(), undefined);
    assert.equal(parser.pendingBytes, (count - 1) * ARGUMENT_OVERHEAD_BYTES);
    parser.feed(Buffer.from('$1\r\n'));
    assert.deepEqual(
      parser.next(),
      new ProtocolError(`Protocol error: request larger than ${limits.maxRequestBytes} bytes`),
    );
    assert.equal(parser.pendingBytes, 0);
  });

  it('reports the cost of each command and of inline commands', () => {
    const parser = new RespParser(limits);
    parser.feed(encodeCommand(['SET', 'key', 'value']));
    assert.ok(Array.isArray(parser.next()));
    assert.equal(parser.lastCommandBytes, 11 + 3 * ARGUMENT_OVERHEAD_BYTES);
    parser.feed(Buffer.from('GET key\r\n'));
    assert.ok(Array.isArray(parser.next()));
    assert.equal(parser.lastCommandBytes, 6 + 2 * ARGUMENT_OVERHEAD_BYTES);
    assert.equal(parser.pendingBytes, 0);
    const small = { maxRequestBytes: 10 * ARGUMENT_OVERHEAD_BYTES, maxArguments: 100 };
    assert.deepEqual(parse(`${'a '.repeat(11)}\r\n`, small), [
      { error: `Protocol error: request larger than ${small.maxRequestBytes} bytes` },
    ]);
  });

  it('refuses more arguments than maxArguments, multibulk and inline', () => {
    const small = { maxRequestBytes: 1000 + 4 * ARGUMENT_OVERHEAD_BYTES, maxArguments: 3 };
    assert.deepEqual(parse('*4\r\n', small), [{ error: 'Protocol error: invalid multibulk length' }]);
    assert.deepEqual(parse('a b c d\r\n', small), [{ error: 'Protocol error: invalid multibulk length' }]);
    assert.deepEqual(parse('*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n', small), [['a', 'b', 'c']]);
  });

  it('refuses a count line that never ends', () => {
    assert.deepEqual(parse(`*${'1'.repeat(MAX_INLINE_BYTES + 10)}`), [
      { error: 'Protocol error: too big mbulk count string' },
    ]);
    assert.deepEqual(parse(`*1\r\n$${'1'.repeat(MAX_INLINE_BYTES + 10)}`), [
      { error: 'Protocol error: too big bulk count string' },
    ]);
  });

  it('returns the commands before the error, then nothing more, whatever is fed later', () => {
    const parser = new RespParser(limits);
    parser.feed(Buffer.from('*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n*1\r\n$4\r\nPING\r\n'));
    assert.deepEqual(parser.next()?.toString(), 'PING');
    const error = parser.next();
    assert.ok(error instanceof ProtocolError);
    assert.equal(parser.failed, true);
    assert.equal(parser.next(), undefined);
    parser.feed(Buffer.from('*1\r\n$4\r\nPING\r\n'));
    assert.equal(parser.next(), undefined);
  });
});
