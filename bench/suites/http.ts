// The http suite: kvs (one process, embedded lmdb store, durable writes) against Node's own
// ceiling (bare, and with its PUTs fdatasynced to a file: Node's ceiling for a durable PUT),
// webdis over redis, and etcd's JSON gateway.

import { atLeast, formatRatio, latencyAtMost, rateRatio, type SuiteReport, type TargetCheck } from '../lib/report.js';
import type { HttpEntry, HttpFigures, Session } from '../lib/session.js';
import { startEtcdGateway } from '../systems/etcd.js';
import { kvsHttpSystem, startKvs } from '../systems/kvs.js';
import { startNodeHttpMap } from '../systems/node-http-map.js';
import { startWebdis } from '../systems/webdis.js';
import { httpTable, SHARED_CORES_NOTE, wrkMethod } from './http-table.js';

export const httpBinaries = ['wrk', 'redis-server', 'webdis', 'etcd'];

export async function runHttpSuite(session: Session): Promise<SuiteReport> {
  const { context, settings } = session;
  const peers: HttpEntry[] = [
    { id: 'node-http-map', start: () => startNodeHttpMap(context) },
    { id: 'node-http-map-aof', start: () => startNodeHttpMap(context, 'pool') },
    { id: 'webdis', start: () => startWebdis(context) },
    { id: 'etcd-gateway', start: () => startEtcdGateway(context) },
  ];
  const kvsEntry: HttpEntry = {
    id: 'kvs',
    start: async () => kvsHttpSystem(context, await startKvs(context), 'kvs (1 process, lmdb, durable)'),
  };
  const measured = await session.httpSystems(settings.peersOnly ? peers : [kvsEntry, ...peers]);
  const [kvs, node, nodeAof, webdis, etcd] = (settings.peersOnly ? [undefined, ...measured] : measured) as [
    HttpFigures | undefined,
    HttpFigures,
    HttpFigures,
    HttpFigures,
    HttpFigures,
  ];

  const targets: TargetCheck[] = [];
  const notes = [
    SHARED_CORES_NOTE,
    'webdis PUT is not durable (redis without persistence); kvs and etcd PUTs are acknowledged after fsync.',
    "node:http + Map + AOF is Node's ceiling for a durable PUT: each PUT's key and body appended to a file and answered once the file is written and fdatasynced, many PUTs per sync, on libuv's thread pool (the rule kvs's WAL keeps), with no validation, history, audit, change log or index (bench/peers/append-only-file.ts). Its row in the ceiling table says where the PUT targets stand against what Node itself reaches.",
  ];
  if (kvs === undefined) {
    notes.push('kvs was not measured (--peers-only).');
  } else {
    targets.push(
      // The read targets are issue 11's, the write targets issue 10's.
      atLeast('GET ≥ 0.95× bare node:http', rateRatio(kvs.get, node.get), 0.95),
      atLeast('durable PUT ≥ 5× etcd', rateRatio(kvs.put, etcd.put), 5),
      atLeast('durable PUT ≥ 0.8× webdis PUT', rateRatio(kvs.put, webdis.put), 0.8),
      latencyAtMost('GET p99 ≤ 2 ms', kvs.get, 2),
      latencyAtMost('durable PUT p99 ≤ 5 ms', kvs.put, 5),
    );
  }
  const figures: (HttpFigures | { system: string; missing: string })[] = [
    kvs ?? { system: 'kvs', missing: 'not run (--peers-only)' },
    node,
    nodeAof,
    webdis,
    etcd,
  ];
  // What the PUT targets ask of Node itself: its durable PUT against the targets' peers.
  const ceilingRows = [
    [
      'node:http + Map + AOF PUT',
      formatRatio(rateRatio(nodeAof.put, etcd.put)),
      formatRatio(rateRatio(nodeAof.put, webdis.put)),
    ],
  ];
  const ratioRows =
    kvs === undefined
      ? []
      : [
          ['kvs / node:http', formatRatio(rateRatio(kvs.get, node.get)), formatRatio(rateRatio(kvs.put, node.put))],
          ['kvs / node:http + AOF', '', formatRatio(rateRatio(kvs.put, nodeAof.put))],
          ['kvs / webdis', formatRatio(rateRatio(kvs.get, webdis.get)), formatRatio(rateRatio(kvs.put, webdis.put))],
          ['kvs / etcd gateway', formatRatio(rateRatio(kvs.get, etcd.get)), formatRatio(rateRatio(kvs.put, etcd.put))],
        ];
  return {
    suite: 'http',
    title: 'HTTP GET/PUT: kvs vs node:http, webdis, etcd',
    method: [
      wrkMethod(
        settings.durationSeconds,
        settings.warmupSeconds,
        settings.connections,
        context.keys.length,
        settings.rounds,
      ),
    ],
    tables: [
      httpTable(figures),
      {
        headers: [
          "Node's durable PUT",
          '/ etcd gateway PUT (target for kvs ≥ 5×)',
          '/ webdis PUT (target for kvs ≥ 0.8×)',
        ],
        rows: ceilingRows,
      },
      ...(ratioRows.length > 0 ? [{ headers: ['ratio', 'GET', 'PUT'], rows: ratioRows }] : []),
    ],
    targets,
    notes,
  };
}
