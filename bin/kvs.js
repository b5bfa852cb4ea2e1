#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the `prepare` script).
import nodeModule from 'node:module';

// Node 22.1+ keeps V8's compiled code of loaded modules on disk (the OS temporary directory) and
// reuses it, which shortens every start after the first; older Node has no such switch (the
// function is absent) and starts as before. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
nodeModule.enableCompileCache?.();

import('../dist/src/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli')) {
    console.error('kvs: not built yet; run `npm install` (or `npm run build`) in the checkout first.');
    process.exit(1);
  }
  throw error;
});
