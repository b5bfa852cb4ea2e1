#!/usr/bin/env node
// The layers of kvs, checked over the import graph of src/**/*.ts and web/*.ts.
// Usage: node scripts/check-imports.mjs [--root DIR] [--json]
// Exit code 0: no forbidden import; 1: some (listed); 2: the checker itself failed.
//
// Bottom to top (a layer imports only from the layers listed for it, and its own folder):
//   src/model    the shared vocabulary (entries, transactions, events, key order, times, the
//                JSON the HTTP API sends): imports nothing else, not even Node modules or
//                packages, so that the web UI compiles it too.
//   src/storage  the engines: model only. Its public entry is src/storage/index.ts; no file
//                outside src/storage imports any other storage file.
//   src/core     the service, error catalogue, configuration, auth, watch hub: model and
//                storage's public entry.
//   src/http, src/resp  front ends: model and core (never storage, never each other).
//   src/cli      the `kvs` command: model, core, the typed client, and storage's public entry
//                (`kvs check` reads an lmdb store offline).
//   src/client   the typed client (the package's export): model only.
//   src/main.ts  the composition root: every layer, storage through its public entry.
//   web          the browser UI: its own files and src/model (compiled into both programs),
//                which it imports as ./model/*.js (served at /ui/model/).
// No import circles either, type-only imports included: a circle means two modules that cannot be
// understood (or tested) one without the other.
// Imports are found and resolved by TypeScript itself (type-only and dynamic imports count),
// with each program's tsconfig (the web's rootDirs map `./model/x.js` to src/model/x.ts).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MODEL = 'src/model/';
const STORAGE_ENTRY = 'src/storage/index.ts';

/** Each layer: the files it holds (a folder ending in '/' or one file), what it may import. */
export const layers = [
  { name: 'model', holds: 'src/model/', may: [MODEL], packages: false },
  { name: 'storage', holds: 'src/storage/', may: [MODEL, 'src/storage/'], packages: true },
  { name: 'core', holds: 'src/core/', may: [MODEL, STORAGE_ENTRY, 'src/core/'], packages: true },
  { name: 'http', holds: 'src/http/', may: [MODEL, 'src/core/', 'src/http/'], packages: true },
  { name: 'resp', holds: 'src/resp/', may: [MODEL, 'src/core/', 'src/resp/'], packages: true },
  {
    name: 'cli',
    holds: 'src/cli/',
    may: [MODEL, 'src/core/', STORAGE_ENTRY, 'src/client/', 'src/cli/'],
    packages: true,
  },
  { name: 'client', holds: 'src/client/', may: [MODEL, 'src/client/'], packages: true },
  {
    name: 'composition root',
    holds: 'src/main.ts',
    may: [MODEL, STORAGE_ENTRY, 'src/core/', 'src/http/', 'src/resp/'],
    packages: true,
  },
  { name: 'web', holds: 'web/', may: [MODEL, 'web/'], packages: false },
];

/** Imports allowed against the layer rules, each with its reason. */
export const exceptions = [
  {
    from: 'src/cli/serve-command.ts',
    to: 'src/main.ts',
    why: '`kvs serve` starts the composition root, loaded only then so that client commands do not load the server',
  },
];

const within = (path, place) => (place.endsWith('/') ? path.startsWith(place) : path === place);

export function layerOf(path) {
  return layers.find((layer) => within(path, layer.holds));
}

/**
 * What breaks the rules in an import graph: files in no layer, and forbidden imports. `files`:
 * repository-relative paths; `edges`: { from, to, specifier }, where `to` is undefined for a
 * package or Node module and null for a relative import that does not resolve.
 */
export function findViolations({ files, edges }) {
  const violations = [];
  for (const file of files) {
    if (layerOf(file) === undefined)
      violations.push({ from: file, to: undefined, specifier: '', rule: 'the file is in no layer (add it above)' });
  }
  for (const edge of edges) {
    const layer = layerOf(edge.from);
    const report = (rule) => violations.push({ ...edge, rule });
    if (layer === undefined) continue;
    if (edge.to === null) {
      report('the import does not resolve to a file');
      continue;
    }
    if (edge.to === undefined) {
      if (!layer.packages) report(`${layer.name} imports no package or Node module`);
      continue;
    }
    if (layer.name === 'web' && within(edge.to, MODEL) && !edge.specifier.startsWith('./model/')) {
      report('the web UI imports src/model as ./model/*.js, the only path the server serves it at');
      continue;
    }
    if (layer.may.some((place) => within(edge.to, place))) continue;
    if (exceptions.some((exception) => exception.from === edge.from && exception.to === edge.to)) continue;
    const target = layerOf(edge.to);
    report(
      target?.name === 'storage' && layer.may.includes(STORAGE_ENTRY)
        ? `${layer.name} may reach storage only through ${STORAGE_ENTRY}`
        : `${layer.name} may not import ${target?.name ?? 'files outside the layers'}`,
    );
  }
  for (const circle of importCircles(edges)) {
    violations.push({ from: circle[0], to: circle[1], specifier: '', rule: `import circle: ${circle.join(' -> ')}` });
  }
  return violations;
}

/** One circle (a path that returns to its start) per strongly connected group of modules. */
export function importCircles(edges) {
  const next = new Map();
  for (const { from, to } of edges) {
    if (typeof to !== 'string') continue;
    if (!next.has(from)) next.set(from, new Set());
    next.get(from).add(to);
  }
  // Tarjan's algorithm, iterative over an explicit stack so deep graphs cannot overflow.
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const groups = [];
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work = [{ node: start, targets: [...(next.get(start) ?? [])], at: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work.at(-1);
      if (frame.at < frame.targets.length) {
        const target = frame.targets[frame.at++];
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, targets: [...(next.get(target) ?? [])], at: 0 });
        } else if (onStack.has(target)) low.set(frame.node, Math.min(low.get(frame.node), index.get(target)));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work.at(-1).node;
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const group = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          group.push(member);
        } while (member !== frame.node);
        if (group.length > 1 || next.get(frame.node)?.has(frame.node)) groups.push(group);
      }
    }
  }
  return groups.map((group) => circleWithin(new Set(group), next));
}

/** A shortest path from the group's first module (in sorted order) back to itself, inside the group. */
function circleWithin(group, next) {
  const start = [...group].sort()[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const target of next.get(node) ?? []) {
      if (!group.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

function compilerOptions(root, tsconfig) {
  const path = join(root, tsconfig);
  if (!existsSync(path)) return { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
  const read = ts.readConfigFile(path, ts.sys.readFile);
  if (read.error) throw new Error(`${tsconfig}: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
  return ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(path)).options;
}

function sourceFiles(dir, deep) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (deep) found.push(...sourceFiles(path, deep));
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

/** Every import of src/**\/*.ts and web/*.ts under `root`, resolved. */
export function importGraph(root) {
  const programs = [
    { files: sourceFiles(join(root, 'src'), true), options: compilerOptions(root, 'tsconfig.json') },
    { files: sourceFiles(join(root, 'web'), false), options: compilerOptions(root, 'web/tsconfig.json') },
  ];
  const files = [];
  const edges = [];
  for (const program of programs) {
    for (const file of program.files) {
      const from = relative(root, file);
      files.push(from);
      for (const imported of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
        const specifier = imported.fileName;
        const relativeSpecifier = specifier.startsWith('.') || specifier.startsWith('/');
        const resolved = ts.resolveModuleName(specifier, file, program.options, ts.sys).resolvedModule;
        let to;
        if (resolved !== undefined && !resolved.isExternalLibraryImport)
          to = relative(root, resolve(resolved.resolvedFileName));
        else to = relativeSpecifier ? null : undefined;
        edges.push({ from, to, specifier });
      }
    }
  }
  return { files, edges };
}

function main(argv) {
  const rootAt = argv.indexOf('--root');
  const root = resolve(rootAt === -1 ? fileURLToPath(new URL('..', import.meta.url)) : argv[rootAt + 1]);
  const graph = importGraph(root);
  const violations = findViolations(graph);
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ files: graph.files.length, imports: graph.edges.length, violations })}\n`);
  } else {
    for (const violation of violations) {
      const what = violation.specifier === '' ? '' : ` imports '${violation.specifier}'`;
      process.stdout.write(`${violation.from}${what}: ${violation.rule}\n`);
    }
    process.stdout.write(
      `check-imports: ${graph.files.length} files, ${graph.edges.length} imports, ${violations.length} forbidden\n`,
    );
  }
  return violations.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`check-imports: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
