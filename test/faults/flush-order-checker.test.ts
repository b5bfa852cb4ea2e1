// The strace parser and the flush-order checker on small hand-written logs: threads interleaving
// with <unfinished ...>/resumed, strace's string escapes, and each way the order can be wrong.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkFlushOrder, type AcknowledgedWrite } from './flush-order.js';
import { parseStraceText, quotedData } from './strace-log.js';
import { VALUE_TOKEN } from './write-load.js';

const STORE = '/data/kvs.mdb';
const TOKEN = 'val-0123456789abcdef';
const write: AcknowledgedWrite = { label: 'put k1', revision: 7, valueTokens: [TOKEN], replyTexts: ['"key":"k1"'] };
const socket = '23<TCP:[127.0.0.1:8080->127.0.0.1:5000]>';

const open = [
  `10  1.000001 openat(AT_FDCWD</data>, "${STORE}", O_RDWR|O_CREAT, 0664) = 19<${STORE}>`,
  `10  1.000002 openat(AT_FDCWD</data>, "${STORE}", O_WRONLY|O_DSYNC|O_CLOEXEC) = 20<${STORE}>`,
];
const data = `11  2.000001 writev(19<${STORE}>, [{iov_base="\\2\\0\\0k1\\0${TOKEN}.abc\\377", iov_len=4096}], 1) = 4096`;
const meta = `11  2.000002 pwrite64(19<${STORE}>, "\\0\\0\\2\\0\\0", 128, 4136) = 128`;
const flush = `11  2.000003 fdatasync(19<${STORE}>) = 0`;
const reply = `12  2.000004 writev(${socket}, [{iov_base="HTTP/1.1 201 Created\\r\\nkvs-revision: 7\\r\\n\\r\\n", iov_len=40}, {iov_base="{\\"key\\":\\"k1\\"}", iov_len=12}], 2) = 52`;

function check(lines: string[]) {
  const { events, unparsed } = parseStraceText(lines.join('\n'));
  assert.deepEqual(unparsed, []);
  return checkFlushOrder(events, { kind: 'lmdb', file: STORE }, [write], VALUE_TOKEN);
}

describe('strace log parser', () => {
  it('joins <unfinished ...> and resumed halves per thread and keeps both line numbers', () => {
    const { events } = parseStraceText(
      [
        `11  1.5 fdatasync(19<${STORE}> <unfinished ...>`,
        `12  1.6 read(23<TCP:[a->b]>,  <unfinished ...>`,
        `12  1.7 <... read resumed>"abc", 1024) = 3`,
        `11  1.8 <... fdatasync resumed>) = 0`,
        '11  1.9 +++ exited with 0 +++',
      ].join('\n'),
    );
    assert.deepEqual(
      events.map((event) => [
        event.name,
        event.pid,
        event.startLine,
        event.endLine,
        event.fd,
        event.fdTarget,
        event.result,
      ]),
      [
        ['fdatasync', 11, 1, 4, 19, STORE, '0'],
        ['read', 12, 2, 3, 23, 'TCP:[a->b]', '3'],
      ],
    );
    assert.equal(events[1]!.args, '23<TCP:[a->b]>, "abc", 1024');
  });

  it('keeps a call that never returned (killed process) as ending at Infinity', () => {
    const { events } = parseStraceText(
      `11  1.5 fdatasync(19<${STORE}> <unfinished ...>\n11  1.6 +++ killed by SIGKILL +++`,
    );
    assert.equal(events[0]!.endLine, Infinity);
  });

  it('decodes strace string escapes and flags truncated strings', () => {
    assert.equal(quotedData('3, "a\\"b\\\\c\\n\\0\\0011\\377\\x41", 9').bytes, 'a"b\\c\n\0\x011\xffA');
    assert.equal(quotedData('3, "abc"..., 4096').truncated, true);
    assert.equal(quotedData('[{iov_base="ab", iov_len=2}, {iov_base="cd", iov_len=2}]').bytes, 'ab\0cd');
  });
});

describe('flush-order checker', () => {
  it('accepts data write, meta write, flush, then reply', () => {
    const report = check([...open, data, meta, flush, reply]);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.logProblems, []);
  });

  it('accepts a meta page written through an O_DSYNC descriptor after the flush (lmdb without overlappingSync)', () => {
    const dsyncMeta = `11  2.0000035 pwrite64(20<${STORE}>, "\\0\\0", 128, 40) = 128`;
    assert.deepEqual(check([...open, data, flush, dsyncMeta, reply]).violations, []);
  });

  it('rejects a reply written before the flush', () => {
    const report = check([...open, data, meta, reply, flush]);
    assert.match(report.violations[0]!.problems.join('; '), /no flush of the store/u);
  });

  it('rejects a flush that was still running when the reply started (threads interleaved)', () => {
    const report = check([
      ...open,
      data,
      meta,
      `11  2.000003 fdatasync(19<${STORE}> <unfinished ...>`,
      reply,
      `11  2.000005 <... fdatasync resumed>) = 0`,
    ]);
    assert.match(report.violations[0]!.problems.join('; '), /no flush of the store/u);
  });

  it('rejects a flush that started before the data write returned', () => {
    const report = check([
      ...open,
      `11  2.000001 writev(19<${STORE}>, [{iov_base="${TOKEN}", iov_len=4096}], 1 <unfinished ...>`,
      `13  2.000002 fdatasync(19<${STORE}>) = 0`,
      `11  2.000003 <... writev resumed>) = 4096`,
      meta,
      reply,
    ]);
    assert.match(report.violations[0]!.problems.join('; '), /no flush of the store/u);
  });

  it('rejects a flush of another file, and a meta page that is never made durable', () => {
    const otherFlush = report([...open, data, meta, `11  2.000003 fdatasync(7</data/other.log>) = 0`, reply]);
    assert.match(otherFlush.problems.join('; '), /no flush of the store/u);
    const metaAfterFlush = report([...open, data, flush, meta, reply]);
    assert.match(metaAfterFlush.problems.join('; '), /no durable meta-page write/u);
  });

  it('rejects a write whose value never reached the store file, or whose reply is missing', () => {
    assert.match(report([...open, meta, flush, reply]).problems.join('; '), /never reached the store file/u);
    assert.match(report([...open, data, meta, flush]).problems.join('; '), /0 socket writes carry kvs-revision 7/u);
  });

  it('reports store writes cut short by strace (-s too small)', () => {
    const truncated = `11  2.000001 writev(19<${STORE}>, [{iov_base="\\2\\0\\0k1\\0${TOKEN}"..., iov_len=4096}], 1) = 4096`;
    assert.equal(check([...open, truncated, meta, flush, reply]).logProblems.length, 1);
  });
});

function report(lines: string[]) {
  const verdict = check(lines).verdicts[0]!;
  return verdict;
}
