// src/resp's modules form no import circle (type imports count): commands see their connection
// and listener only through the narrow interfaces of command.ts, which imports neither the
// session, the listener state nor the runner.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/server-process.js';

const respDir = join(repoRoot, 'src', 'resp');

/** Every .ts module under src/resp and the src/resp modules it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = readdirSync(respDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const path = join(respDir, file);
    const imports = [...readFileSync(path, 'utf8').matchAll(/from '(\.[^']+)\.js'/g)]
      .map((match) => resolve(dirname(path), `${match[1]!}.ts`))
      .filter((target) => target.startsWith(respDir));
    graph.set(path, imports);
  }
  return graph;
}

/** The first import circle found, as module paths, or undefined. */
function findCircle(graph: Map<string, string[]>): string[] | undefined {
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (module: string): string[] | undefined => {
    const open = stack.indexOf(module);
    if (open >= 0) return [...stack.slice(open), module];
    if (done.has(module)) return undefined;
    stack.push(module);
    for (const target of graph.get(module) ?? []) {
      const circle = visit(target);
      if (circle) return circle;
    }
    stack.pop();
    done.add(module);
    return undefined;
  };
  for (const module of graph.keys()) {
    const circle = visit(module);
    if (circle) return circle;
  }
  return undefined;
}

describe('src/resp import graph', () => {
  it('has no import circle', () => {
    const graph = importGraph();
    assert.ok(graph.size > 20, `only ${graph.size} modules found under ${respDir}`);
    const circle = findCircle(graph);
    assert.equal(circle?.map((module) => relative(repoRoot, module)).join(' -> '), undefined);
  });

  it('keeps command.ts free of the session, the listener state and the runner', () => {
    const imports = importGraph().get(join(respDir, 'command.ts'))!;
    for (const module of ['session.ts', 'server-state.ts', 'command-runner.ts']) {
      assert.ok(!imports.includes(join(respDir, module)), `command.ts imports ${module}`);
    }
  });
});
