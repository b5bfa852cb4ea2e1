// command-info: COMMAND INFO naming 200,000 commands, without a token, from several connections
// at once; the reply describes every name.

import { mib, type Attack, type AttackContext, type AttackFindings } from './attack.js';
import { RespConnection } from './resp-wire.js';
import { StatusTally } from './status-tally.js';

/** Real command names, so every name gets a full description in the reply (the costly case). */
const NAMES = [
  'get',
  'set',
  'mget',
  'mset',
  'del',
  'exists',
  'expire',
  'pttl',
  'scan',
  'incr',
  'append',
  'getrange',
  'setrange',
  'strlen',
  'keys',
  'type',
];

export const commandInfo: Attack = {
  name: 'command-info',
  summary:
    '`COMMAND INFO` with 200,000 real command names (no token) on 4 connections at once (each connection sends it `--info-repeats` times in a row, default once).',
  maxSeconds: () => 240,
  async run(context: AttackContext): Promise<AttackFindings> {
    const { settings, server } = context;
    const tally = new StatusTally();
    const args = [
      'COMMAND',
      'INFO',
      ...Array.from({ length: settings.infoNames }, (_, index) => NAMES[index % NAMES.length]!),
    ];
    const times: number[] = [];
    const sizes: number[] = [];
    let sent = 0;
    const worker = async () => {
      let connection: RespConnection | undefined;
      try {
        connection = await RespConnection.open(server.respPort);
        context.track(connection.socket);
        for (let repeat = 0; repeat < settings.infoRepeats && context.active(); repeat++) {
          const started = performance.now();
          sent++;
          const reply = await connection.call(args, 120_000);
          times.push(performance.now() - started);
          sizes.push(reply.bytes);
          tally.resp(reply);
        }
      } catch (error) {
        tally.failure(error instanceof Error ? error.message.slice(0, 60) : String(error));
      } finally {
        connection?.close();
      }
    };
    await Promise.all(Array.from({ length: settings.infoParallel }, worker));
    return {
      tried: `${sent} × COMMAND INFO with ${settings.infoNames.toLocaleString('en-US')} names (${settings.infoParallel} connections at once)`,
      tally,
      details: [
        [
          'reply size',
          sizes.length > 0 ? `${mib(Math.max(...sizes))} (largest; ${sizes.length} replies)` : '(no reply)',
        ],
        [
          'time per command (send to full reply)',
          times.length > 0 ? times.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(', ') : '(none)',
        ],
      ],
    };
  },
};
