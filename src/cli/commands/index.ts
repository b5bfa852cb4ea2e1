// The client commands of `kvs` (everything but serve), and the offline `check`. main.ts calls registerClientCommands.

import type { Command } from 'commander';
import { registerAudit } from './audit.js';
import { registerCheck } from './check.js';
import { registerDel } from './del.js';
import { registerDiff } from './diff.js';
import { registerExport } from './export.js';
import { registerGet } from './get.js';
import { registerHistory } from './history.js';
import { registerImport } from './import.js';
import { registerLs } from './ls.js';
import { registerRevert } from './revert.js';
import { registerSet } from './set.js';
import { registerToken } from './token.js';
import { registerWatch } from './watch.js';

export function registerClientCommands(program: Command): void {
  registerGet(program);
  registerSet(program);
  registerDel(program);
  registerLs(program);
  registerWatch(program);
  registerExport(program);
  registerImport(program);
  registerToken(program);
  registerAudit(program);
  registerHistory(program);
  registerDiff(program);
  registerRevert(program);
  registerCheck(program);
}
