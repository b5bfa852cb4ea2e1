#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the `prepare` script).
import('../dist/src/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli')) {
    console.error('kvs: not built yet; run `npm install` (or `npm run build`) in the checkout first.');
    process.exit(1);
  }
  throw error;
});
