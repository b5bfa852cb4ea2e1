// How `kvs` reports failures: one line `kvs: <what went wrong>; <what to do> (<code>)` on stderr
// (docs/cli.md, "Errors and exit codes"), the stack trace only with --debug or KVS_DEBUG=1. Wrong
// usage (unknown flag or command, missing or invalid value) is one such line pointing at the
// command's --help, exit code 2: commander's own output would print the whole help after the
// error, which scrolls the error out of sight.

import type { CommanderError, Command } from 'commander';
import { inspect } from 'node:util';

/** Exit codes of every `kvs` command (docs/cli.md). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The command as typed: `kvs token add`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at !== null; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** `text` on one line: control characters (a value given with a newline in it) are escaped. */
export function oneLine(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f\u0085\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Whether a failure also prints its stack trace: `--debug` (runCli sets KVS_DEBUG) or KVS_DEBUG=1. */
export function debugEnabled(): boolean {
  return process.env.KVS_DEBUG === '1';
}

/** Writes the one line `kvs: <line>` of a failure, and with --debug what caused it (stack, cause). */
export function reportFailure(line: string, error?: unknown): void {
  process.stderr.write(`kvs: ${oneLine(line)}\n`);
  if (debugEnabled() && error !== undefined) process.stderr.write(`${inspect(error, { depth: 4 })}\n`);
}

/**
 * Commander's message (`... is invalid. expected a whole number.`, `unknown option '--tokn'` with
 * `(Did you mean --token?)` on a line of its own) as the first half of one line.
 */
function usageMessage(message: string): string {
  return message
    .trim()
    .replace(/^error: /, '')
    .replace(/ is invalid\. /, ' is invalid: ')
    .replace(/\s*\n\s*\(Did you mean /g, ' (did you mean ')
    .replace(/\.$/, '');
}

export function usageLine(command: Command, message: string): string {
  return `kvs: ${oneLine(usageMessage(message))}; see \`${commandPath(command)} --help\` (usage)\n`;
}

/** Thrown by a command's exit override so that the caller returns an exit code instead of exiting. */
export class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CommandExit';
  }
}

/** Applies the usage conventions to `command` and every command below it. */
export function applyUsageConventions(command: Command): void {
  command
    .showHelpAfterError(false)
    .configureOutput({
      // Commander's messages start with `error: `; the help shown after them is dropped (writeErr
      // is only used for that, and for the help of a command run without its subcommand).
      outputError: (text) => process.stderr.write(usageLine(command, text)),
      writeErr: () => {},
    })
    .exitOverride((error: CommanderError) => {
      // 'commander.help' with a non-zero code: no command, or `kvs help` of an unknown one.
      if (error.code === 'commander.help' && error.exitCode !== EXIT_OK) {
        const names = command.commands.map((sub) => sub.name()).join(', ');
        process.stderr.write(usageLine(command, `missing or unknown command (one of: ${names})`));
      }
      const ok =
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        (error.code === 'commander.help' && error.exitCode === EXIT_OK);
      throw new CommandExit(ok ? EXIT_OK : EXIT_USAGE);
    });
  for (const sub of command.commands) applyUsageConventions(sub);
}
