// The server's log: pino (the logger Fastify ships), one JSON object per line on stderr, fields
// listed in docs/observability.md. On a terminal the same records are printed as short readable
// lines instead. Tokens never go in: the access log names a token by its label (token#N(scope)).

import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Fields the terminal format shows in its own place, or not at all. */
const SHOWN_APART = new Set(['time', 'level', 'msg', 'pid', 'hostname']);

/** One JSON record -> `12:00:01 info msg key=value ...` (the time of day; the date is in the JSON). */
export function readableLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof record.time === 'string' ? record.time.slice(11, 19) : '';
  const level = String(record.level);
  const fields = Object.entries(record)
    .filter(([name]) => !SHOWN_APART.has(name))
    .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return `${[time, level, record.msg ?? '', ...fields].join(' ')}\n`;
}

/**
 * The process's logger. Writes are synchronous so that the shutdown line is out before the
 * process exits. `destination` replaces stderr (tests).
 */
export function createLogger(destination?: DestinationStream): Logger {
  const terminal = destination === undefined && process.stderr.isTTY === true;
  const stream: DestinationStream =
    destination ??
    (terminal
      ? { write: (line) => process.stderr.write(readableLine(line)) }
      : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"info" rather than pino's 30: readable by people and by log shippers' defaults.
      formatters: { level: (label) => ({ level: label }) },
      // Never log a request object or header by accident: these paths are cut from any record.
      redact: { paths: ['authorization', 'headers.authorization', 'req.headers.authorization'], censor: '[redacted]' },
    },
    stream,
  );
}
