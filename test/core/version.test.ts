// One version everywhere: `kvs --version`, the OpenAPI document and RESP's INFO all report the
// version in package.json, read at run time by src/core/version.ts (it was typed out in three
// places).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { KVS_VERSION } from '../../src/core/version.js';
import { runKvs } from '../cli/run-kvs.js';
import { removeDir, repoRoot, startServer, type ServerProcess } from '../helpers/server-process.js';
import { freePort } from '../resp/external-tools.js';

const packageVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

describe('the kvs version', () => {
  let server: ServerProcess;
  let respPort: number;

  before(async () => {
    respPort = await freePort();
    server = await startServer({ args: ['--resp-port', String(respPort)] });
  });
  after(async () => {
    await server?.stop();
    if (server) removeDir(server.dataDir);
  });

  it('is the version in package.json', () => {
    assert.equal(KVS_VERSION, packageVersion);
  });

  it('kvs --version prints it (through bin/kvs.js)', async () => {
    const run = await runKvs(['--version']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.toString().trim(), packageVersion);
  });

  it('the OpenAPI document and RESP INFO report it', async () => {
    const openapi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { info: { version: string } };
    assert.equal(openapi.info.version, packageVersion);
    const redis = new Redis({ host: '127.0.0.1', port: respPort, password: server.token, lazyConnect: true });
    redis.on('error', () => {});
    try {
      await redis.connect();
      const info = await redis.info('server');
      assert.match(info, new RegExp(`^kvs_version:${packageVersion.replaceAll('.', '\\.')}\\r?$`, 'm'));
    } finally {
      redis.disconnect();
    }
  });
});
