// kvs watch [PREFIX]: one line per change event until interrupted.

import { Option, type Command } from 'commander';
import { isUtf8 } from 'node:buffer';
import type { WatchEvent } from '../../client/index.js';
import { action } from './cli-error.js';
import { clientFor, withConnection, type ConnectionOptions } from './connection.js';
import { printable, writeChunk } from './output.js';
import { wholeNumber } from './parse-number.js';

interface WatchOptions extends ConnectionOptions {
  readonly since?: number;
  readonly values?: boolean;
  readonly json?: boolean;
}

/** `REVISION TYPE KEY [VALUE]`; the value JSON-quoted when it is text, `base64:...` otherwise. */
export function eventLine(event: WatchEvent): string {
  let line = `${event.revision} ${event.type} ${printable(event.key)}`;
  if (event.value !== undefined) {
    line += ` ${isUtf8(event.value) ? JSON.stringify(event.value.toString('utf8')) : `base64:${event.value.toString('base64')}`}`;
  }
  return `${line}\n`;
}

function eventJson(event: WatchEvent): string {
  const { value, ...rest } = event;
  return `${JSON.stringify(value === undefined ? rest : { ...rest, value: value.toString('base64') })}\n`;
}

export function registerWatch(program: Command): void {
  withConnection(program.command('watch'))
    .description('print one line per change (put, delete, expire) of keys starting with PREFIX until interrupted')
    .argument('[prefix]', 'key prefix', '')
    .addOption(
      new Option('--since <revision>', 'first replay the changes after this revision').argParser(wholeNumber(0)),
    )
    .option('--values', 'include the new value of each put')
    .option('--json', 'one JSON object per line: {type, key, revision, version, value (base64)}')
    .addHelpText(
      'after',
      [
        '',
        'Line format: REVISION TYPE KEY [VALUE], e.g. `42 put config/greeting "hello"`.',
        'A dropped connection is resumed from the last revision seen; nothing is missed or repeated.',
        'Examples:',
        '  $ kvs watch config/',
        '  $ kvs watch --since 120 --values jobs/',
      ].join('\n'),
    )
    .action(
      action(async (prefix: string, options: WatchOptions) => {
        const stop = new AbortController();
        const interrupt = () => stop.abort();
        process.once('SIGINT', interrupt);
        process.once('SIGTERM', interrupt);
        try {
          const events = clientFor(options).watch({
            prefix,
            since: options.since,
            values: options.values,
            signal: stop.signal,
          });
          for await (const event of events)
            await writeChunk(process.stdout, options.json ? eventJson(event) : eventLine(event));
        } finally {
          process.off('SIGINT', interrupt);
          process.off('SIGTERM', interrupt);
        }
      }),
    );
}
