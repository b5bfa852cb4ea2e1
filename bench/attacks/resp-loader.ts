// Loading data through RESP as fast as the server takes it: a few authenticated connections, each
// pipelining a window of commands and waiting for their replies before the next window.

import { ADMIN_TOKEN } from './attack-server.js';
import { RespConnection } from './resp-wire.js';

export interface LoadResult {
  readonly commands: number;
  readonly errors: number;
  readonly firstError: string;
  readonly seconds: number;
}

export async function loadThroughResp(
  port: number,
  commandCount: number,
  commandAt: (index: number) => readonly (string | Buffer)[],
  options: { connections?: number; window?: number } = {},
): Promise<LoadResult> {
  const started = performance.now();
  const window = options.window ?? 200;
  let next = 0;
  let errors = 0;
  let firstError = '';
  const worker = async () => {
    const connection = await RespConnection.open(port);
    try {
      const auth = await connection.call(['AUTH', ADMIN_TOKEN]);
      if (auth.kind === 'error') throw new Error(`AUTH refused: ${auth.text}`);
      for (;;) {
        const start = next;
        if (start >= commandCount) return;
        next = Math.min(commandCount, start + window);
        const commands: (readonly (string | Buffer)[])[] = [];
        for (let index = start; index < next; index++) commands.push(commandAt(index));
        const replies = await connection.pipeline(commands, 120_000);
        for (const reply of replies) {
          if (reply.kind !== 'error') continue;
          errors++;
          if (firstError === '') firstError = reply.text;
        }
      }
    } finally {
      connection.close();
    }
  };
  await Promise.all(Array.from({ length: options.connections ?? 4 }, worker));
  return { commands: commandCount, errors, firstError, seconds: (performance.now() - started) / 1000 };
}
