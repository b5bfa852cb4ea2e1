// The kvs version, read once from package.json so that `kvs --version`, the OpenAPI document and
// RESP's INFO all say what the package says. The path is relative to this module, which runs
// from dist/src/core/ (bin/kvs.js, `npx kvs` and the tests all load the compiled tree), so the
// package root is three levels up, as for the web UI's files (http/ui-routes.ts).

import { readFileSync } from 'node:fs';

function readPackageVersion(): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  const version: unknown = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== 'string' || version === '') throw new Error('package.json has no version');
  return version;
}

export const KVS_VERSION: string = readPackageVersion();
