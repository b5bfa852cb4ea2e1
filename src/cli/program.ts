// The `kvs` program: `serve` plus the client commands, and how a run of it ends (runCli).

import { KVS_VERSION } from '../core/version.js';
import { Command } from 'commander';
import { guardStdoutPipe } from './commands/output.js';
import { serveCommand } from './serve-command.js';
import { applyUsageConventions, CommandExit, EXIT_FAILED, reportFailure } from './usage.js';

/**
 * The `kvs` program. Given the command line, `kvs serve ...` gets a program with the serve command
 * alone: parsing `serve ...` never reaches the other commands, and loading their modules (the
 * client, the file formats and their YAML library) would delay the server's start. Everything
 * else (and no argv) gets every command.
 */
export async function createProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command('kvs')
    .description('kvs: a durable key/value server and its command-line client')
    .version(KVS_VERSION)
    // Taken out of the command line by runCli wherever it is (`kvs serve --debug`); declared here
    // for `kvs --help`.
    .option('--debug', 'on a failure, also print its stack trace (or set KVS_DEBUG=1); accepted after any command');
  program.addCommand(serveCommand());
  if (argv?.[2] !== 'serve') (await import('./commands/index.js')).registerClientCommands(program);
  applyUsageConventions(program);
  return program;
}

/**
 * `argv` without its `--debug` flags (before a `--`), which turn on KVS_DEBUG for this process
 * and the server processes it starts: every command accepts the flag without declaring it.
 */
export function takeDebugFlag(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  const rest = argv.filter((arg, at) => arg !== '--debug' || (end !== -1 && at > end));
  if (rest.length !== argv.length) process.env.KVS_DEBUG = '1';
  return rest;
}

/**
 * Runs `kvs` on `argv` (process.argv form) and returns the exit code: 0, 1 (the command failed)
 * or 2 (wrong usage or configuration). Commands report their own failures in one line; what
 * reaches the last catch here is a bug, reported in one line too (the stack with --debug).
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  guardStdoutPipe();
  try {
    const args = takeDebugFlag(argv);
    await (await createProgram(args)).parseAsync(args);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommandExit) return error.exitCode;
    const message = error instanceof Error ? error.message : String(error);
    reportFailure(
      `unexpected error: ${message}; this is a bug in kvs, run again with --debug and report it (internal)`,
      error,
    );
    return EXIT_FAILED;
  }
}
