// The `kvs` command: `serve` plus the client commands (get, set, del, ls, watch, export, import, token).

import { Command } from 'commander';
import { KVS_VERSION } from '../core/version.js';
import { registerClientCommands } from './commands/index.js';
import { serveCommand } from './serve-command.js';

const program = new Command('kvs')
  .description('kvs: a durable key/value server and its command-line client')
  .version(KVS_VERSION)
  .showHelpAfterError();
program.addCommand(serveCommand());
registerClientCommands(program);

await program.parseAsync(process.argv);
