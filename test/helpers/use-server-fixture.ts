// A suite that uses useServer(), run as a child `node --test` by use-server.test.ts (this file
// is not named *.test.ts, so the suite never runs it directly). KVS_FIXTURE_MODE=crash plants an
// unhandled rejection in the server, raised on SIGUSR2 (so it comes after start-up, whatever the
// machine's speed); clean starts a plain one. The data directory is printed so the parent can
// check it was removed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useServer } from './use-server.js';

const crash = process.env.KVS_FIXTURE_MODE === 'crash';
const plant = "--import=data:text/javascript,process.on('SIGUSR2',()=>Promise.reject(new%20Error('planted')))";

describe('a suite with useServer()', () => {
  const server = useServer(crash ? { env: { NODE_OPTIONS: plant } } : {});

  it('reaches the server', async () => {
    console.log(`fixture data dir: ${server.dataDir}`);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    if (!crash) return;
    process.kill(server.pid, 'SIGUSR2');
    await server.exited;
  });
});
