#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's built-in test runner.
// Usage: node scripts/run-tests.mjs [path-substring ...]   (filters test files by substring)
//
// The tests run from dist/, so the compiled output must match the sources: before running
// anything this refuses (exit 2) when a .ts file under src/, test/, bench/ or web/ is newer than
// its compiled .js, or has none, and names the build command. It checks rather than builds so
// that `npm test` (which has just built) does not pay for a second build, and a run never
// starts a compiler behind its caller's back. Compiled test files whose source was deleted are
// not run (tsc never removes outputs).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const testRoot = join(dist, 'test');
const BUILD = 'npx tsc -p tsconfig.json && npx tsc -p web/tsconfig.json   (or npm run build)';

function walk(dir, keep) {
  const found = [];
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(path, keep));
    else if (keep(entry.name)) found.push(path);
  }
  return found;
}

const isSource = (name) => name.endsWith('.ts') && !name.endsWith('.d.ts');

/** Every source file with the .js tsc makes of it (tsconfig.json: rootDir '.'; web/tsconfig.json: rootDir '..', so web/X.ts becomes dist/web/web/X.js). */
function sourcesAndOutputs() {
  const pairs = [];
  for (const top of ['src', 'test', 'bench']) {
    for (const source of walk(join(root, top), isSource))
      pairs.push([source, join(dist, relative(root, source)).replace(/\.ts$/, '.js')]);
  }
  for (const entry of readdirSync(join(root, 'web'), { withFileTypes: true })) {
    if (entry.isFile() && isSource(entry.name))
      pairs.push([join(root, 'web', entry.name), join(dist, 'web', 'web', entry.name.replace(/\.ts$/, '.js'))]);
  }
  return pairs;
}

function staleOutputs() {
  const stale = [];
  for (const [source, output] of sourcesAndOutputs()) {
    if (!existsSync(output)) stale.push(`${relative(root, source)} (not compiled)`);
    else if (statSync(source).mtimeMs > statSync(output).mtimeMs)
      stale.push(`${relative(root, source)} (newer than ${relative(root, output)})`);
  }
  return stale;
}

const stale = staleOutputs();
if (stale.length > 0) {
  console.error(`run-tests: dist/ is older than the sources; build first:\n  ${BUILD}`);
  for (const line of stale.slice(0, 10)) console.error(`  stale: ${line}`);
  if (stale.length > 10) console.error(`  ... and ${stale.length - 10} more`);
  process.exit(2);
}

const filters = process.argv.slice(2);
const files = walk(testRoot, (name) => name.endsWith('.test.js'))
  .filter((file) => existsSync(join(root, relative(dist, file)).replace(/\.js$/, '.ts')))
  .filter((file) => filters.length === 0 || filters.some((filter) => relative(root, file).includes(filter)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
const concurrency = process.env.KVS_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
