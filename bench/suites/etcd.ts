// The etcd suite: kvs over an etcd store (--store etcd://) next to etcd's own JSON gateway, both
// on the same single-member etcd started for this suite.

import { atLeast, formatRatio, rateRatio, type SuiteReport } from '../lib/report.js';
import type { HttpEntry, HttpFigures, Session } from '../lib/session.js';
import { etcdGateway, startEtcd } from '../systems/etcd.js';
import { kvsHttpSystem, startKvs } from '../systems/kvs.js';
import { httpTable, SHARED_CORES_NOTE, wrkMethod } from './http-table.js';

export const etcdBinaries = ['wrk', 'etcd'];

export async function runEtcdSuite(session: Session): Promise<SuiteReport> {
  const { context, settings } = session;
  const etcd = await startEtcd(context);
  session.log(`etcd for the etcd suite at ${etcd.clientUrl}`);
  let gateway: HttpFigures;
  let kvs: HttpFigures | undefined;
  try {
    // The gateway's figures are measured on this suite's etcd (the keys live in its own namespace).
    const entries: HttpEntry[] = [
      { id: 'etcd-suite-gateway', start: async () => ({ ...etcdGateway(context, etcd), stop: async () => {} }) },
    ];
    if (!settings.peersOnly) {
      entries.push({
        id: 'kvs-on-etcd',
        start: async () =>
          kvsHttpSystem(
            context,
            await startKvs(context, { store: `etcd://${etcd.clientUrl.replace(/^http:\/\//, '')}` }),
            'kvs --store etcd',
          ),
      });
    }
    [gateway, kvs] = (await session.httpSystems(entries)) as [HttpFigures, HttpFigures?];
  } finally {
    await etcd.stop();
  }
  const figures: (HttpFigures | { system: string; missing: string })[] = [
    kvs ?? { system: 'kvs --store etcd', missing: 'not run (--peers-only)' },
    gateway,
  ];
  const tables = [httpTable(figures)];
  if (kvs !== undefined) {
    tables.push({
      headers: ['ratio', 'GET', 'PUT'],
      rows: [
        [
          'kvs on etcd / etcd gateway',
          formatRatio(rateRatio(kvs.get, gateway.get)),
          formatRatio(rateRatio(kvs.put, gateway.put)),
        ],
      ],
    });
  }
  return {
    suite: 'etcd',
    title: 'kvs on etcd vs etcd JSON gateway',
    method: [
      wrkMethod(
        settings.durationSeconds,
        settings.warmupSeconds,
        settings.connections,
        context.keys.length,
        settings.rounds,
      ),
      'One single-member etcd (fsync per commit) serves both rows; kvs talks to it with --store etcd://.',
    ],
    tables,
    // Issue 11's targets for kvs as a front end of etcd.
    targets:
      kvs === undefined
        ? []
        : [
            atLeast('GET ≥ 0.8× etcd gateway', rateRatio(kvs.get, gateway.get), 0.8),
            atLeast('PUT ≥ 0.8× etcd gateway', rateRatio(kvs.put, gateway.put), 0.8),
          ],
    notes: [
      SHARED_CORES_NOTE,
      'etcd, kvs and wrk all share the same cores here; across machines each would have its own.',
    ],
  };
}
