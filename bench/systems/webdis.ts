// webdis (HTTP in C) over its own redis-server with no persistence: its PUT is not durable.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, stopChild } from '../lib/children.js';
import { httpRequest, waitForHttp } from '../lib/http-client.js';
import { freePort } from '../lib/ports.js';
import { startRedis } from './redis.js';
import { systemDir, type BenchContext, type HttpSystem } from './context.js';

export async function startWebdis(context: BenchContext): Promise<HttpSystem> {
  const redis = await startRedis(context, false);
  try {
    const dir = systemDir(context, 'webdis');
    const port = await freePort();
    const configFile = join(dir, 'webdis.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        redis_host: '127.0.0.1',
        redis_port: redis.port,
        http_host: '127.0.0.1',
        http_port: port,
        threads: 2,
        pool_size: 20,
        daemonize: false,
        database: 0,
        verbosity: 1,
        logfile: join(dir, 'webdis.log'),
      }),
    );
    const child = startChild('webdis', 'webdis', [configFile]);
    const baseUrl = `http://127.0.0.1:${port}`;
    await Promise.race([
      waitForHttp(`${baseUrl}/PING`, 15_000, (status) => status === 200),
      child.exited.then((exit) => {
        throw new Error(`webdis exited (code ${exit.code}) during start:\n${child.outputTail()}`);
      }),
    ]);
    return {
      name: 'webdis',
      baseUrl,
      getSet: { method: 'GET', headers: {}, lines: context.keys.map((key) => ({ path: `/GET/${key}.txt`, body: '' })) },
      putSet: {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream' },
        lines: context.keys.map((key) => ({ path: `/SET/${key}`, body: context.value })),
      },
      async checkGet(key) {
        // Right after a load that wrk ended mid-flight, webdis 0.1.9 was seen answering a GET with
        // the reply of an earlier SET (`{"SET":[true,"OK"]}`): a reply left over on one of its redis
        // connections. Such an answer is said on the log and the GET asked again, a few times.
        for (let attempt = 1; ; attempt++) {
          const answer = await httpRequest(`${baseUrl}/GET/${key}.txt`);
          if (answer.status === 200 && answer.body === context.value) return;
          const problem = `webdis GET ${key}: ${answer.status} ${answer.body.slice(0, 200)}`;
          if (attempt >= 4) throw new Error(problem);
          process.stderr.write(`[bench] ${problem} (attempt ${attempt}; asking again)\n`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      },
      async stop() {
        await stopChild(child);
        await redis.stop();
      },
    };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}
