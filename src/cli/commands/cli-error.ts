// How a client command fails: one line `kvs: <message> (<code>)` on stderr and exit code 1, or 2
// for a `usage` error (docs/cli.md, "Errors and exit codes").

import { KvsClientError } from '../../client/index.js';
import { FormatError } from '../formats/index.js';
import { EXIT_FAILED, EXIT_USAGE, oneLine } from '../usage.js';

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

export function describeFailure(error: unknown): string {
  if (error instanceof KvsClientError || error instanceof CliError) return `${error.message} (${error.code})`;
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
      process.stderr.write(`kvs: ${oneLine(describeFailure(error))}\n`);
      process.exitCode = error instanceof CliError && error.code === 'usage' ? EXIT_USAGE : EXIT_FAILED;
    }
  };
}
