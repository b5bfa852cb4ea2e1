// The log's two formats (docs/observability.md): JSON lines with ISO time and level words, and the
// short readable line a terminal gets instead.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, readableLine } from '../../src/core/logger.js';

describe('the logger', () => {
  it('writes one JSON object per line with an ISO time, a level word, the pid and the fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    logger.info({ engine: 'lmdb', workers: 1 }, 'kvs started');
    logger.error('something failed');
    assert.equal(lines.length, 2);
    assert.ok(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n')));
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(
      { level: first.level, pid: first.pid, engine: first.engine, workers: first.workers, msg: first.msg },
      { level: 'info', pid: process.pid, engine: 'lmdb', workers: 1, msg: 'kvs started' },
    );
    assert.match(String(first.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal((JSON.parse(lines[1]!) as Record<string, unknown>).level, 'error');
  });

  it('censors an authorization field should one ever be logged', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    logger.info({ authorization: 'Bearer s3cret', headers: { authorization: 'Bearer s3cret' } }, 'oops');
    assert.ok(!lines.join('').includes('s3cret'));
  });

  it('turns a record into a short readable line for a terminal', () => {
    const line = readableLine(
      '{"level":"info","time":"2026-11-30T01:24:30.275Z","pid":7,"http":"http://127.0.0.1:8080","workers":1,"msg":"kvs started"}\n',
    );
    assert.equal(line, '01:24:30 info kvs started http=http://127.0.0.1:8080 workers=1\n');
    assert.equal(readableLine('not json\n'), 'not json\n');
  });
});
