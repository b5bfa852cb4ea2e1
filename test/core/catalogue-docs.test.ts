// Every error code and every limit is documented.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { errorCatalogue, startupRefusalCatalogue } from '../../src/core/errors.js';
import { defaultLimits } from '../../src/core/limits.js';
import { repoRoot } from '../helpers/server-process.js';

describe('documentation coverage', () => {
  it('docs/errors.md documents every error code with its status', () => {
    const text = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      assert.match(text, new RegExp(`\\| \`${code}\` \\| ${spec.status} \\|`), `docs/errors.md lacks ${code}`);
    }
  });
  it('docs/errors.md documents every coded start-up refusal', () => {
    const text = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
    for (const code of Object.keys(startupRefusalCatalogue))
      assert.match(text, new RegExp(`\\| \`${code}\` \\|`), `docs/errors.md lacks ${code}`);
  });
  it('docs/limits.md documents every limit', () => {
    const text = readFileSync(join(repoRoot, 'docs', 'limits.md'), 'utf8');
    for (const name of Object.keys(defaultLimits))
      assert.ok(text.includes(`\`${name}\``), `docs/limits.md lacks ${name}`);
  });
});
