// The SSE parser on its own: the spec's field rules, and the same messages however the bytes
// are split into chunks.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SseParser, type SseMessage } from '../../src/client/index.js';

function parseChunks(chunks: readonly string[]): { messages: SseMessage[]; retryMs: number | undefined } {
  const parser = new SseParser();
  const messages = chunks.flatMap((chunk) => parser.feed(chunk));
  return { messages, retryMs: parser.retryMs };
}

const stream = [
  ': kvs watch prefix="" since=now\r\nretry: 1000\r\n\r\n',
  'id: 7\nevent: put\ndata: {"type":"put","key":"a","revision":7}\n\n',
  ': ping\n\n',
  'event: delete\ndata:{"key":"b"}\r\rid: 9\nevent: expire\ndata: line one\ndata: line two\n\n',
  'data\n\n',
  'event: ignored-without-data\n\n',
  'id: bad\0id\ndata: x\n\n',
].join('');

const expected: SseMessage[] = [
  { event: 'put', data: '{"type":"put","key":"a","revision":7}', lastEventId: '7' },
  { event: 'delete', data: '{"key":"b"}', lastEventId: '7' },
  { event: 'expire', data: 'line one\nline two', lastEventId: '9' },
  { event: 'message', data: '', lastEventId: '9' },
  { event: 'message', data: 'x', lastEventId: '9' },
];

describe('SseParser', () => {
  it('follows the field rules: comments, event, multi-line data, persistent id, retry, all line endings', () => {
    const { messages, retryMs } = parseChunks([stream]);
    assert.deepEqual(messages, expected);
    assert.equal(retryMs, 1000);
  });

  it('keeps an incomplete message until its blank line arrives', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed('id: 1\nevent: put\ndata: {}'), []);
    assert.deepEqual(parser.feed('\n'), []);
    assert.deepEqual(parser.feed('\n'), [{ event: 'put', data: '{}', lastEventId: '1' }]);
  });

  it('yields the same messages however the stream is split (including between CR and LF)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 30 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const chunks = points.slice(1).map((end, index) => stream.slice(points[index], end));
        assert.deepEqual(parseChunks(chunks).messages, expected);
      }),
      { numRuns: 500 },
    );
  });
});
