// The npm package (README, "Two commands"): named kvs-server, as the name `kvs` belongs to an
// unrelated package, with the command still `kvs`; and `npm pack` puts in it everything the
// installed command, server, web UI and client load at run time, and none of the tests.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/server-process.js';

interface PackageJson {
  readonly name: string;
  readonly bin: Record<string, string>;
  readonly main: string;
  readonly types: string;
  readonly exports: Record<string, { readonly types: string; readonly default: string }>;
}

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

/** The .js files tsc made of the .ts files under `sourceDir` (outputs of deleted sources left out). */
function compiledOutputs(sourceDir: string, outputDir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(repoRoot, sourceDir), { withFileTypes: true })) {
    const source = join(sourceDir, entry.name);
    if (entry.isDirectory()) found.push(...compiledOutputs(source, join(outputDir, entry.name)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
      found.push(join(outputDir, entry.name.replace(/\.ts$/, '.js')));
  }
  return found;
}

/** The .js files in a directory of the build (web/tsconfig.json compiles only the model files the UI uses). */
function javascriptFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir))
    .filter((name) => name.endsWith('.js'))
    .map((name) => join(dir, name));
}

describe('the npm package', () => {
  let packed: Set<string>;
  before(() => {
    // --ignore-scripts: the tests run on a built tree, and `prepare` would build it again.
    const run = spawnSync('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, `npm pack --dry-run: ${run.stderr}`);
    const [pack] = JSON.parse(run.stdout) as { files: { path: string }[] }[];
    packed = new Set(pack!.files.map((file) => file.path));
  });

  it('is kvs-server (the name kvs is taken) and installs the command kvs', () => {
    assert.equal(manifest.name, 'kvs-server');
    assert.deepEqual(manifest.bin, { kvs: 'bin/kvs.js' });
  });

  it('holds the command, every compiled server and UI module, the page, and the client with its types', () => {
    const targets = [
      manifest.main,
      manifest.types,
      ...Object.values(manifest.exports).flatMap((entry) => [entry.types, entry.default]),
    ];
    const needed = [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/kvs.js',
      'web/index.html',
      'web/ui.css',
      ...targets.map((target) => target.replace(/^\.\//, '')),
      ...compiledOutputs('src', 'dist/src'),
      // The UI's own modules and the shared model files it imports (docs/ui.md, "Serving").
      ...compiledOutputs('web', 'dist/web/web'),
      ...javascriptFiles('dist/web/src/model'),
    ];
    assert.ok(needed.includes('dist/src/core/diff-worker.js'), 'the worker loaded by path is among them');
    for (const path of needed) {
      assert.ok(existsSync(join(repoRoot, path)), `${path} exists (built?)`);
      assert.ok(packed.has(path), `${path} is in the package`);
    }
  });

  it('holds no tests, benchmarks or TypeScript sources', () => {
    const unwanted = [...packed].filter(
      (path) => /^(dist\/)?(test|bench)\//.test(path) || (path.endsWith('.ts') && !path.endsWith('.d.ts')),
    );
    assert.deepEqual(unwanted, []);
  });
});
