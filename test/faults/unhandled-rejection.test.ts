// Every server the suite starts runs with --unhandled-rejections=strict, and its stop() fails the
// test when the server printed an uncaught exception or unhandled rejection, or died by itself
// (test/helpers/server-process.ts). This is the negative control of that check: a server with a
// planted unhandled rejection must be caught by it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crashEvidence, removeDir, startServer } from '../helpers/server-process.js';

describe('unhandled rejections are caught by the test harness', () => {
  it('a server with a planted unhandled rejection fails its stop()', async () => {
    const plant = "--import=data:text/javascript,setTimeout(()=>Promise.reject(new%20Error('planted')),3000)";
    const server = await startServer({ env: { NODE_OPTIONS: plant } });
    try {
      const exit = await server.exited;
      assert.notEqual(exit.code, 0, 'strict mode ends the process on the rejection');
      await assert.rejects(server.stop(), /printed an uncaught exception or unhandled rejection/);
    } finally {
      removeDir(server.dataDir);
    }
  });

  it('recognises the crash evidence Node prints, and an exit nobody asked for', () => {
    assert.equal(crashEvidence('kvs ready: http://127.0.0.1:1\n'), undefined);
    assert.ok(crashEvidence('Error: x\n    at f (a.js:1:1)\n\nNode.js v20.20.2\n'));
    assert.ok(crashEvidence('', { code: 1, signal: null }));
  });
});
