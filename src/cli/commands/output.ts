// Writing to stdout/files with backpressure, and quiet exit when a reader closes the pipe
// (`kvs ls | head`).

import { once } from 'node:events';

let pipeGuardInstalled = false;

/**
 * A reader closing stdout (`kvs ls | head`, `kvs serve --help | head`) ends the command quietly, as
 * SIGPIPE ends other Unix tools, instead of an unhandled EPIPE with its stack trace. runCli
 * installs it for every command (`kvs serve` writes only its ready lines to stdout).
 */
export function guardStdoutPipe(): void {
  if (pipeGuardInstalled) return;
  pipeGuardInstalled = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/** Writes a chunk, waiting for 'drain' when the stream's buffer is full. */
export async function writeChunk(stream: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> {
  if (stream === process.stdout) guardStdoutPipe();
  if (stream.write(chunk)) return;
  // A stream that failed (a full disk, a closed file) never drains: its error is the answer.
  const failed = stream as NodeJS.WritableStream & { destroyed?: boolean; errored?: Error | null };
  if (failed.destroyed === true) throw failed.errored ?? new Error('the output was closed');
  await once(stream, 'drain');
}

/** Text safe to print on one line: JSON-quoted when it holds control characters. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f\u0085\u2028\u2029]/.test(text) ? JSON.stringify(text) : text;
}
