// A RESP port that cannot be listened on fails the listener's start with the system's error, which
// `kvs serve` reports in its one line (docs/cli.md, "Errors and exit codes"); the listener's own
// error log is for errors after it listens, so the refusal is not printed twice.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { AuthFailureLimiter } from '../../src/core/auth-limiter.js';
import { defaultLimits } from '../../src/core/limits.js';
import { KvService } from '../../src/core/service.js';
import { TokenStore } from '../../src/core/tokens.js';
import { startRespServer } from '../../src/resp/resp-server.js';
import { MemoryEngine } from '../../src/storage/memory/memory-engine.js';

describe('the RESP listener on a port in use', () => {
  it('rejects with EADDRINUSE and logs nothing', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    const engine = new MemoryEngine({ logLength: 10, logValueMax: 10 });
    const service = new KvService(engine, {
      limits: defaultLimits,
      privateReads: false,
      tokens: new TokenStore([]),
      authLimiter: new AuthFailureLimiter(defaultLimits.authFailures, defaultLimits.authFailureWindowMs),
    });
    const logged: string[] = [];
    try {
      await assert.rejects(
        startRespServer({ service, host: '127.0.0.1', port, limits: defaultLimits, log: (line) => logged.push(line) }),
        { code: 'EADDRINUSE' },
      );
      assert.deepEqual(logged, []);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
      await engine.close();
    }
  });
});
