// The workers suite: kvs --workers 1 and --workers 2 over the same embedded store, next to webdis.

import { atLeast, formatRatio, rateRatio, type SuiteReport } from '../lib/report.js';
import type { HttpEntry, HttpFigures, Session } from '../lib/session.js';
import { kvsHttpSystem, startKvs } from '../systems/kvs.js';
import { startWebdis } from '../systems/webdis.js';
import { httpTable, SHARED_CORES_NOTE, wrkMethod } from './http-table.js';

export const workersBinaries = ['wrk', 'redis-server', 'webdis'];

export async function runWorkersSuite(session: Session): Promise<SuiteReport> {
  const { context, settings } = session;
  const kvsEntries: HttpEntry[] = settings.peersOnly
    ? []
    : [
        {
          id: 'kvs-workers-1',
          start: async () => kvsHttpSystem(context, await startKvs(context, { workers: 1 }), 'kvs --workers 1'),
        },
        {
          id: 'kvs-workers-2',
          start: async () => kvsHttpSystem(context, await startKvs(context, { workers: 2 }), 'kvs --workers 2'),
        },
      ];
  // webdis was measured by the http suite when it ran earlier (then reused), else here.
  const measured = await session.httpSystems([...kvsEntries, { id: 'webdis', start: () => startWebdis(context) }]);
  const webdis = measured.pop()!;
  const [one, two] = measured as [HttpFigures?, HttpFigures?];
  const figures: (HttpFigures | { system: string; missing: string })[] =
    one !== undefined && two !== undefined
      ? [one, two, webdis]
      : [
          { system: 'kvs --workers 1', missing: 'not run (--peers-only)' },
          { system: 'kvs --workers 2', missing: 'not run (--peers-only)' },
          webdis,
        ];
  const tables = [httpTable(figures)];
  if (one !== undefined && two !== undefined) {
    tables.push({
      headers: ['ratio', 'GET', 'PUT'],
      rows: [
        ['workers 2 / workers 1', formatRatio(rateRatio(two.get, one.get)), formatRatio(rateRatio(two.put, one.put))],
        [
          'workers 2 / webdis',
          formatRatio(rateRatio(two.get, webdis.get)),
          formatRatio(rateRatio(two.put, webdis.put)),
        ],
      ],
    });
  }
  return {
    suite: 'workers',
    title: 'Multi-core: kvs --workers 1 and 2 vs webdis',
    method: [
      wrkMethod(
        settings.durationSeconds,
        settings.warmupSeconds,
        settings.connections,
        context.keys.length,
        settings.rounds,
      ),
    ],
    tables,
    targets: two === undefined ? [] : [atLeast('workers N=2: GET ≥ 1.0× webdis', rateRatio(two.get, webdis.get), 1.0)],
    notes: [
      SHARED_CORES_NOTE,
      'with 2 cores, two kvs workers and wrk compete for the same two cores.',
      ...(webdis.suite !== 'workers'
        ? [`the webdis figures were measured by the ${webdis.suite} suite of this run.`]
        : []),
    ],
  };
}
