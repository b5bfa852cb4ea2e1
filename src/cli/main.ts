// The `kvs` command: `serve` plus the client commands (get, set, del, ls, watch, export, import,
// token, check); see program.ts.

import { runCli } from './program.js';

process.exitCode = await runCli(process.argv);
