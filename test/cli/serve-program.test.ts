// `kvs serve ...` is parsed by a program with the serve command alone (program.ts: loading the
// client commands would delay the server's start). It must read and refuse flags exactly as the
// whole program does: same serve command, same options of the program around it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { createProgram } from '../../src/cli/program.js';

function serveOf(program: Command): Command {
  const serve = program.commands.find((command) => command.name() === 'serve');
  assert.ok(serve !== undefined, 'the program has a serve command');
  return serve;
}

describe('the program `kvs serve` runs', () => {
  it('has the serve command alone, with the same help, options and program options as the whole program', async () => {
    const whole = await createProgram();
    const serveOnly = await createProgram(['node', 'kvs', 'serve', '--port', '0']);
    assert.deepEqual(
      serveOnly.commands.map((command) => command.name()),
      ['serve'],
    );
    assert.ok(whole.commands.length > 10, 'the whole program has the client commands');
    assert.equal(serveOf(serveOnly).helpInformation(), serveOf(whole).helpInformation());
    const flagsOf = (command: Command) => command.options.map((option) => `${option.flags} ${option.envVar ?? ''}`);
    assert.deepEqual(flagsOf(serveOf(serveOnly)), flagsOf(serveOf(whole)));
    assert.deepEqual(flagsOf(serveOnly), flagsOf(whole));
  });

  it('any other command line gets every command', async () => {
    for (const argv of [
      ['node', 'kvs'],
      ['node', 'kvs', 'get', 'k'],
      ['node', 'kvs', '--help', 'serve'],
    ]) {
      const program = await createProgram(argv);
      assert.ok(program.commands.length > 10, `${argv.join(' ')}: ${program.commands.length} commands`);
    }
  });
});
