// docs/redis-compatibility.md cannot drift from the code: its command table has exactly one row
// per command of the command table, each with the command's access level and, for containers
// (CLIENT, COMMAND, CONFIG), every subcommand; the commands it lists as not supported are not in
// the command table; the error lines it quotes are the ones the code produces.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createCommandTable } from '../../src/resp/command-table.js';
import { REDIS_COMPATIBLE_VERSION } from '../../src/resp/commands/connection.js';
import { redisErrors } from '../../src/resp/reply.js';
import { noPermissionForCommand, noPermissionForKeys } from '../../src/resp/resp-errors.js';
import { unknownCommandLine } from '../../src/resp/session.js';
import { repoRoot } from '../helpers/server-process.js';

interface Row {
  readonly name: string;
  readonly access: string;
  readonly arguments: string;
  readonly line: string;
}

const text = readFileSync(join(repoRoot, 'docs', 'redis-compatibility.md'), 'utf8');

/** The rows of the table under `## Commands`, keyed by lowercase command name. */
function commandRows(): Row[] {
  const start = text.indexOf('\n## Commands\n');
  assert.ok(start >= 0, 'docs/redis-compatibility.md has no "## Commands" section');
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    // Cells are separated by unescaped pipes (`NX \| XX` stays inside its cell).
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim());
    assert.equal(cells.length, 4, `row should have 4 cells: ${line}`);
    const match = /^`([A-Z]+)`$/.exec(cells[0]!);
    assert.ok(match, `first cell should be one command name in backquotes: ${line}`);
    rows.push({ name: match[1]!.toLowerCase(), access: cells[1]!, arguments: cells[2]!, line });
  }
  return rows;
}

describe('docs/redis-compatibility.md', () => {
  const table = createCommandTable();
  const rows = commandRows();

  it('has one row for every command kvs answers, and no other', () => {
    const documented = rows.map((row) => row.name);
    const duplicates = documented.filter((name, index) => documented.indexOf(name) !== index);
    assert.deepEqual(duplicates, [], 'commands with more than one row');
    const missing = [...table.keys()].filter((name) => !documented.includes(name));
    assert.deepEqual(missing, [], 'commands of the command table without a row');
    const unknown = documented.filter((name) => !table.has(name));
    assert.deepEqual(unknown, [], 'rows naming no command of the command table');
  });

  it('gives each command the access level the session enforces', () => {
    for (const row of rows) {
      const command = table.get(row.name);
      if (command === undefined) continue; // reported by the test above
      assert.equal(row.access, command.access, `access of ${row.name.toUpperCase()}`);
    }
  });

  it('names every subcommand of CLIENT, COMMAND and CONFIG in its row', () => {
    for (const [name, command] of table) {
      if (command.subcommands === undefined) continue;
      const row = rows.find((candidate) => candidate.name === name);
      assert.ok(row, `no row for ${name.toUpperCase()}`);
      for (const sub of command.subcommands) {
        const word = sub.name.split('|')[1]!.toUpperCase();
        assert.match(
          row.arguments,
          new RegExp(`(^|[^A-Z-])${word}([^A-Z-]|$)`),
          `${name.toUpperCase()} row lacks ${word}`,
        );
      }
    }
  });

  it('lists as not supported only commands kvs does not answer', () => {
    const start = text.indexOf('\n## Not supported\n');
    assert.ok(start >= 0, 'docs/redis-compatibility.md has no "## Not supported" section');
    const end = text.indexOf('\n## ', start + 1);
    const items = text
      .slice(start, end < 0 ? undefined : end)
      .split('\n')
      .filter((line) => line.startsWith('- '));
    const names = items.flatMap((line) => [...line.matchAll(/`([A-Z]+)`/g)].map((match) => match[1]!.toLowerCase()));
    assert.ok(names.length > 0, 'no command named under "## Not supported"');
    assert.deepEqual(
      names.filter((name) => table.has(name)),
      [],
      'commands listed as not supported that kvs answers',
    );
  });

  it('quotes the error lines the code produces', () => {
    const lines = [
      unknownCommandLine([Buffer.from('LPUSH'), Buffer.from('list'), Buffer.from('x')]),
      redisErrors.noAuth,
      redisErrors.wrongPass,
      redisErrors.dbIndex,
      noPermissionForKeys,
      noPermissionForCommand('flushdb'),
      noPermissionForCommand('set'),
      table.get('flushdb')!.notInMulti!,
    ];
    for (const line of lines) assert.ok(text.includes(`-${line}`), `docs/redis-compatibility.md lacks "-${line}"`);
    assert.ok(
      text.includes(REDIS_COMPATIBLE_VERSION),
      `docs/redis-compatibility.md lacks the version ${REDIS_COMPATIBLE_VERSION}`,
    );
  });
});
