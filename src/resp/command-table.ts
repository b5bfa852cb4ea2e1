// Every RESP command kvs answers, by lowercase name. A name missing here gets Redis's
// unknown-command error: that is how the other data types (lists, hashes, sets, ...) answer.

import type { Command } from './command.js';
import { bitCommands } from './commands/bits.js';
import { connectionCommands } from './commands/connection.js';
import { keyspaceCommands } from './commands/keyspace.js';
import { serverCommands } from './commands/server.js';
import { stringCommands } from './commands/strings.js';
import { transactionCommands } from './commands/transactions.js';

export function createCommandTable(): ReadonlyMap<string, Command> {
  const table = new Map<string, Command>();
  for (const group of [
    stringCommands,
    bitCommands,
    keyspaceCommands,
    transactionCommands,
    connectionCommands,
    serverCommands,
  ]) {
    for (const command of group) {
      if (table.has(command.name)) throw new Error(`resp: command ${command.name} defined twice`);
      table.set(command.name, command);
    }
  }
  return table;
}
