// How a client command fails: one line `kvs: <what went wrong>; <what to do> (<code>)` on stderr
// and exit code 1, or 2 for a `usage` error (docs/cli.md, "Errors and exit codes").

import { KvsClientError } from '../../client/index.js';
import { FormatError } from '../formats/index.js';
import { EXIT_FAILED, EXIT_USAGE, reportFailure } from '../usage.js';

/** A failure detected by the CLI itself (bad flag combination, unreadable file, ...). */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** What the user can do about an error the server (or the connection to it) reported, by its code. */
function adviceFor(error: KvsClientError): string | undefined {
  switch (error.code) {
    case 'too_many_auth_failures': {
      const seconds = error.details.retryAfter;
      const wait = typeof seconds === 'number' ? `retry in ${seconds} s` : 'retry later';
      return `check --token (or KVS_TOKEN), then ${wait}`;
    }
    case 'connection_failed':
      return 'is `kvs serve` running there? check --url (or KVS_URL)';
    case 'auth_required':
      return 'give one with --token (or KVS_TOKEN)';
    case 'auth_invalid':
      return 'check --token (or KVS_TOKEN)';
    case 'forbidden':
      return 'use a token whose scope and prefixes cover this key (`kvs token list`)';
    default:
      return undefined;
  }
}

/** The server's message (`The token is not valid.`) followed by what to do, when there is something. */
function clientFailure(error: KvsClientError): string {
  const advice = adviceFor(error);
  if (advice === undefined) return `${error.message} (${error.code})`;
  // The catalogue's own advice (`...; retry later.`) gives way to the CLI's.
  const what = error.message.split('; ')[0]!.replace(/\.$/, '');
  return `${what}; ${advice} (${error.code})`;
}

export function describeFailure(error: unknown): string {
  if (error instanceof KvsClientError) return clientFailure(error);
  if (error instanceof CliError) return `${error.message} (${error.code})`;
  if (error instanceof FormatError) return `${error.message} (invalid_file)`;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${message} (${code})` : `${message} (internal)`;
}

/** Wraps a command action: failures are reported in the one format and set a non-zero exit code. */
export function action<Args extends unknown[]>(
  run: (...args: Args) => Promise<void>,
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await run(...args);
    } catch (error) {
      reportFailure(describeFailure(error), error);
      process.exitCode = error instanceof CliError && error.code === 'usage' ? EXIT_USAGE : EXIT_FAILED;
    }
  };
}
