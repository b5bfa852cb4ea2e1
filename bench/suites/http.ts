// The http suite: kvs (one process, embedded lmdb store, durable writes) against Node's own
// ceiling, webdis over redis, and etcd's JSON gateway.

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
    { id: 'webdis', start: () => startWebdis(context) },
    { id: 'etcd-gateway', start: () => startEtcdGateway(context) },
  ];
  const kvsEntry: HttpEntry = {
    id: 'kvs',
    start: async () => kvsHttpSystem(context, await startKvs(context), 'kvs (1 process, lmdb, durable)'),
  };
  const measured = await session.httpSystems(settings.peersOnly ? peers : [kvsEntry, ...peers]);
  const [kvs, node, webdis, etcd] = (settings.peersOnly ? [undefined, ...measured] : measured) as [
    HttpFigures | undefined,
    HttpFigures,
    HttpFigures,
    HttpFigures,
  ];

  const targets: TargetCheck[] = [];
  const notes = [
    SHARED_CORES_NOTE,
    'webdis PUT is not durable (redis without persistence); kvs and etcd PUTs are acknowledged after fsync.',
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
    webdis,
    etcd,
  ];
  const ratioRows =
    kvs === undefined
      ? []
      : [
          ['kvs / node:http', formatRatio(rateRatio(kvs.get, node.get)), formatRatio(rateRatio(kvs.put, node.put))],
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
    tables:
      ratioRows.length > 0
        ? [httpTable(figures), { headers: ['ratio', 'GET', 'PUT'], rows: ratioRows }]
        : [httpTable(figures)],
    targets,
    notes,
  };
}
