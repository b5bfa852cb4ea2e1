// The `kvs` program: `serve` plus the client commands, and how a run of it ends (runCli).

import { KVS_VERSION } from '../core/version.js';
import { Command } from 'commander';
import { registerClientCommands } from './commands/index.js';
import { serveCommand } from './serve-command.js';
import { applyUsageConventions, CommandExit, EXIT_FAILED, oneLine } from './usage.js';

export function createProgram(): Command {
  const program = new Command('kvs')
    .description('kvs: a durable key/value server and its command-line client')
    .version(KVS_VERSION);
  program.addCommand(serveCommand());
  registerClientCommands(program);
  applyUsageConventions(program);
  return program;
}

/**
 * Runs `kvs` on `argv` (process.argv form) and returns the exit code: 0, 1 (the command failed)
 * or 2 (wrong usage or configuration). Commands report their own failures in one line; what
 * reaches the last catch here is a bug, reported in one line too (the stack with KVS_DEBUG=1).
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync([...argv]);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommandExit) return error.exitCode;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`kvs: unexpected error: ${oneLine(message)} (internal)\n`);
    if (process.env.KVS_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return EXIT_FAILED;
  }
}
