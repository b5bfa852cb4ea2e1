// index-hot-key: a large store whose whole change log is one key written over and over, then the
// seed's index page (`GET /`, which lists the most recently updated keys) requested repeatedly.

import { Agent } from 'node:http';
import type { Attack, AttackContext, AttackFindings } from './attack.js';
import { httpCall } from './attack-http.js';
import { latencyStats } from './latency-stats.js';
import { loadThroughResp } from './resp-loader.js';
import { StatusTally } from './status-tally.js';
import { benchValue } from '../lib/request-set.js';

const PAIRS_PER_MSET = 1000;

export const indexHotKey: Attack = {
  name: 'index-hot-key',
  summary:
    'Stores K keys (RESP MSET of 1,000 pairs), runs with `--log-length 1000`, writes one key 1,200 times, then requests `GET /` from C loops for S seconds.',
  serverArgs: (settings) => ['--log-length', String(settings.indexLogLength)],
  maxSeconds: (settings) => settings.indexSeconds + 30,
  async prepare(context) {
    const { settings, server } = context;
    const value = benchValue();
    const msets = Math.ceil(settings.indexKeys / PAIRS_PER_MSET);
    const keys = await loadThroughResp(
      server.respPort,
      msets,
      (index) => {
        const args = ['MSET'];
        for (let key = index * PAIRS_PER_MSET; key < Math.min(settings.indexKeys, (index + 1) * PAIRS_PER_MSET); key++)
          args.push(`idx/${String(key).padStart(7, '0')}`, value);
        return args;
      },
      { connections: 2, window: 10 },
    );
    const hot = await loadThroughResp(
      server.respPort,
      settings.indexHotWrites,
      (index) => ['SET', 'idx/hot', `hot-${index}`],
      { connections: 1, window: 100 },
    );
    return [
      [
        'prepared keys',
        `${settings.indexKeys.toLocaleString('en-US')} keys in ${msets} MSETs, ${keys.seconds.toFixed(1)} s (${keys.errors} errors${keys.firstError ? `: ${keys.firstError}` : ''})`,
      ],
      ['prepared hot key', `${hot.commands} SETs of idx/hot in ${hot.seconds.toFixed(1)} s (${hot.errors} errors)`],
    ];
  },
  async run(context: AttackContext): Promise<AttackFindings> {
    const { settings, server } = context;
    const tally = new StatusTally();
    const agent = new Agent({ keepAlive: true, maxSockets: settings.indexConcurrency });
    const times: number[] = [];
    let bodyBytes = 0;
    const until = performance.now() + settings.indexSeconds * 1000;
    const loop = async () => {
      while (context.active() && performance.now() < until) {
        const outcome = await httpCall({ port: server.httpPort, path: '/', agent, timeoutMs: 60_000 });
        tally.http(outcome);
        if (outcome.status > 0) {
          times.push(outcome.ms);
          bodyBytes = Math.max(bodyBytes, outcome.bodyBytes);
        } else {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    await Promise.all(Array.from({ length: settings.indexConcurrency }, loop));
    agent.destroy();
    const stats = latencyStats(times);
    return {
      tried: `${times.length} × GET / from ${settings.indexConcurrency} loops in ${settings.indexSeconds} s`,
      tally,
      details: [
        [
          'time per GET /',
          `p50 ${stats.p50.toFixed(1)} ms, p99 ${stats.p99.toFixed(1)} ms, max ${stats.max.toFixed(1)} ms`,
        ],
        ['index page size', `${bodyBytes.toLocaleString('en-US')} bytes`],
      ],
    };
  },
};
