// The `kvs` command: `serve` plus the client commands (get, set, del, ls, watch, export, import, token).

import { Command } from 'commander';
import { serveCommand } from './serve-command.js';

const program = new Command('kvs')
  .description('kvs: a durable key/value server and its command-line client')
  .version('0.1.0')
  .showHelpAfterError();
program.addCommand(serveCommand());

try {
  const { registerClientCommands } = (await import('./commands/index.js')) as { registerClientCommands: (program: Command) => void };
  registerClientCommands(program);
} catch (error) {
  // The client commands live in their own modules; the server must start even if they fail to load.
  if (!(error instanceof Error && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND')) throw error;
}

await program.parseAsync(process.argv);
