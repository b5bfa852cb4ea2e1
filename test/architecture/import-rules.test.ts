// The layers of kvs (scripts/check-imports.mjs): the source tree has no forbidden import, and
// the checker does report forbidden imports, shown on a small synthetic tree with one of each
// kind next to allowed ones.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeDir, repoRoot, tempDir } from '../helpers/server-process.js';

interface Violation {
  readonly from: string;
  readonly to: string | null | undefined;
  readonly specifier: string;
  readonly rule: string;
}

interface CheckResult {
  readonly status: number | null;
  readonly files: number;
  readonly imports: number;
  readonly violations: Violation[];
}

function checkImports(root: string): CheckResult {
  const run = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'check-imports.mjs'), '--root', root, '--json'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.notEqual(run.status, 2, `the checker failed: ${run.stderr}`);
  const report = JSON.parse(run.stdout) as Omit<CheckResult, 'status'>;
  return { status: run.status, ...report };
}

/** Writes `files` (path -> text) under a new directory. */
function synthetic(files: Record<string, string>): string {
  const root = tempDir('kvs-imports');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('import rules', () => {
  const made: string[] = [];
  after(() => {
    for (const dir of made) removeDir(dir);
  });

  it('the source tree imports nothing its layer forbids', () => {
    const result = checkImports(repoRoot);
    const listed = result.violations.map(
      (violation) => `${violation.from} -> ${violation.specifier}: ${violation.rule}`,
    );
    assert.deepEqual(listed, []);
    assert.equal(result.status, 0);
    // The checker saw the tree (a wrong root or a broken parser would find nothing to forbid).
    assert.ok(result.files > 100, `only ${result.files} files checked`);
    assert.ok(result.imports > 300, `only ${result.imports} imports found`);
  });

  it('reports each kind of forbidden import, and only those', () => {
    const root = synthetic({
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
      'web/tsconfig.json': JSON.stringify({
        compilerOptions: { module: 'ES2022', moduleResolution: 'bundler', rootDirs: ['.', '../src'] },
      }),
      'src/model/key-order.ts': 'export const compareKeys = (a: string, b: string) => a.localeCompare(b);\n',
      'src/model/entry.ts': "import type { Engine } from '../storage/engine.js';\nexport type E = Engine;\n",
      'src/model/clock.ts': "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n",
      'src/storage/engine.ts': [
        "import type { compareKeys } from '../model/key-order.js';",
        "import { KvsError } from '../core/errors.js';",
        'export interface Engine { order: typeof compareKeys; error: KvsError }',
        '',
      ].join('\n'),
      'src/storage/lazy.ts': "export const load = () => import('../core/errors.js');\n",
      'src/storage/reexport.ts': "export { KvsError } from '../core/errors.js';\n",
      'src/storage/index.ts': "export type { Engine } from './engine.js';\n",
      'src/storage/lmdb/store-lock.ts': 'export const lock = 1;\n',
      'src/core/errors.ts': 'export class KvsError extends Error {}\n',
      'src/core/service.ts': [
        "import type { Engine } from '../storage/index.js';",
        "import type { Engine as Internal } from '../storage/engine.js';",
        'export type S = Engine | Internal;',
        '',
      ].join('\n'),
      'src/resp/keys.ts': "import type { Engine } from '../storage/index.js';\nexport type K = Engine;\n",
      'src/http/routes.ts': "import { KvsError } from '../core/errors.js';\nexport const e = KvsError;\n",
      // Allowed imports each, but a circle together (type-only imports count).
      'src/resp/runner.ts': "import type { Command } from './command.js';\nexport type R = Command;\n",
      'src/resp/command.ts': "import type { Session } from './session.js';\nexport type Command = Session;\n",
      'src/resp/session.ts': "import type { R } from './runner.js';\nexport type Session = R | number;\n",
      'src/client/client.ts': "import { KvsError } from '../core/errors.js';\nexport const e = KvsError;\n",
      'src/main.ts': [
        "import { lock } from './storage/lmdb/store-lock.js';",
        "import type { Engine } from './storage/index.js';",
        "import './missing.js';",
        'export const m: [number, Engine | undefined] = [lock, undefined];',
        '',
      ].join('\n'),
      'src/extra/thing.ts': 'export const x = 1;\n',
      'web/other.ts': "export { compareKeys } from '../src/model/key-order.js';\n",
      'web/main.ts': [
        "import { compareKeys } from './model/key-order.js';",
        "import { KvsError } from '../src/core/errors.js';",
        'export const w = [compareKeys, KvsError];',
        '',
      ].join('\n'),
    });
    made.push(root);
    const result = checkImports(root);
    assert.equal(result.status, 1);
    // A file in no layer is reported even though it imports nothing (its specifier is empty).
    const reported = result.violations.map((violation) => `${violation.from} -> ${violation.specifier}`).sort();
    assert.deepEqual(reported, [
      'src/client/client.ts -> ../core/errors.js',
      'src/core/service.ts -> ../storage/engine.js',
      'src/extra/thing.ts -> ',
      'src/main.ts -> ./missing.js',
      'src/main.ts -> ./storage/lmdb/store-lock.js',
      'src/model/clock.ts -> node:fs',
      'src/model/entry.ts -> ../storage/engine.js',
      'src/resp/command.ts -> ',
      'src/resp/keys.ts -> ../storage/index.js',
      'src/storage/engine.ts -> ../core/errors.js',
      'src/storage/lazy.ts -> ../core/errors.js',
      'src/storage/reexport.ts -> ../core/errors.js',
      'web/main.ts -> ../src/core/errors.js',
      'web/other.ts -> ../src/model/key-order.js',
    ]);
    const circle = result.violations.find((violation) => violation.rule.startsWith('import circle'));
    assert.equal(
      circle?.rule,
      'import circle: src/resp/command.ts -> src/resp/session.ts -> src/resp/runner.ts -> src/resp/command.ts',
    );
  });
});
