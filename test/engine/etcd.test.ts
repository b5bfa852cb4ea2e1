// The engine conformance suite on the etcd engine, against a real single-member etcd started
// for this file; each test gets a fresh key prefix.
//
// Revisions: the suite's numbers assume a store whose first transaction is revision 1. etcd's
// revision is one counter for the whole cluster (it is 1 in an empty etcd and is shared by every
// namespace and by the earlier tests of this file), so each test sees its engine through a view
// that subtracts the etcd revision at which the test's store was opened, on every revision going
// in (conditions, `since`) and coming out (results, entries, events, errors). Nothing else writes
// to this etcd while a test runs, so the translation is exact and every assertion keeps its
// meaning. Revisions before the test's store existed are not part of it: oldestRevision() is
// at least 1 in the view.
//
// Expiry: the suite drives expiry with its own `now` (in 2023), never by waiting. etcd's leases
// run on real time, so the engine gets a long lease margin here: etcd deletes nothing during
// the run, and expiry is decided by `now` alone, as the suite intends. test/etcd/ tests real
// lease expiry.

import { after, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { ChangeEvent } from '../../src/model/events.js';
import type {
  DeletedKeysPage,
  DeletedKeysQuery,
  KeyHistoryPage,
  KeyHistoryQuery,
  KeyVersion,
} from '../../src/model/history.js';
import type { CommitResult, Condition, Txn } from '../../src/model/txn.js';
import type { Entry, EntryInfo } from '../../src/model/entry.js';
import type {
  AuditPage,
  AuditQuery,
  ChangeListener,
  Engine,
  HistoryPage,
  ListOptions,
  ListPage,
} from '../../src/storage/engine.js';
import { HistoryCompactedError } from '../../src/storage/errors.js';
import type { HistoryReach } from '../../src/storage/key-history.js';
import { openEtcdEngine } from '../../src/storage/etcd/etcd-engine.js';
import { etcdInstalled, startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { runEngineConformance } from './conformance.js';

/** The engine with revisions counted from `base` (the etcd revision when the test's store was opened). */
class RevisionView implements Engine {
  readonly kind: string;
  readonly expiresNatively: boolean;
  readonly system: Engine['system'];

  constructor(
    private readonly inner: Engine,
    private readonly base: number,
  ) {
    this.kind = inner.kind;
    this.expiresNatively = inner.expiresNatively;
    this.system = inner.system;
  }

  private out = (revision: number): number => revision - this.base;
  private in = (revision: number): number => revision + this.base;

  private info = <T extends EntryInfo | Entry>(item: T): T => ({
    ...item,
    createRevision: this.out(item.createRevision),
    modRevision: this.out(item.modRevision),
  });

  private event = (event: ChangeEvent): ChangeEvent => ({ ...event, revision: this.out(event.revision) });

  private compacted = (error: unknown): never => {
    if (error instanceof HistoryCompactedError)
      throw new HistoryCompactedError(Math.max(1, this.out(error.oldestAvailable)));
    throw error;
  };

  async get(key: string, now: number): Promise<Entry | undefined> {
    const entry = await this.inner.get(key, now);
    return entry && this.info(entry);
  }

  async getMany(keys: readonly string[], now: number): Promise<(Entry | undefined)[]> {
    return (await this.inner.getMany(keys, now)).map((entry) => entry && this.info(entry));
  }

  async list(options: ListOptions, now: number): Promise<ListPage<EntryInfo>> {
    const page = await this.inner.list(options, now);
    return { items: page.items.map(this.info), resumeAfter: page.resumeAfter };
  }

  async listEntries(options: ListOptions, now: number): Promise<ListPage<Entry>> {
    const page = await this.inner.listEntries(options, now);
    return { items: page.items.map(this.info), resumeAfter: page.resumeAfter };
  }

  count(): Promise<number> {
    return this.inner.count();
  }

  greatestKey(): Promise<string | undefined> {
    return this.inner.greatestKey();
  }

  folderCounts(folders: readonly string[]): Promise<(number | undefined)[]> {
    return this.inner.folderCounts(folders);
  }

  async recentlyModified(limit: number, now: number): Promise<EntryInfo[]> {
    return (await this.inner.recentlyModified(limit, now)).map(this.info);
  }

  async commit(txn: Txn, now: number): Promise<CommitResult> {
    const conditions = txn.conditions.map(
      (condition): Condition =>
        condition.kind === 'modRevision' && condition.modRevision !== 0
          ? { ...condition, modRevision: this.in(condition.modRevision) }
          : condition,
    );
    const result = await this.inner.commit(
      { conditions, operations: txn.operations, ...(txn.origin !== undefined && { origin: txn.origin }) },
      now,
    );
    if (!result.ok) return { ...result, current: result.current && this.info(result.current) };
    return { ...result, revision: this.out(result.revision), puts: result.puts.map(this.info) };
  }

  async revision(): Promise<number> {
    return this.out(await this.inner.revision());
  }

  async audit(query: AuditQuery): Promise<AuditPage> {
    const page = await this.inner.audit({
      ...query,
      ...(query.before !== undefined && { before: this.in(query.before) }),
    });
    return {
      entries: page.entries.map((entry) => ({ ...entry, revision: this.out(entry.revision) })),
      before: page.before === undefined ? undefined : this.out(page.before),
    };
  }

  async keyHistory(key: string, query: KeyHistoryQuery): Promise<KeyHistoryPage> {
    const page = await this.inner.keyHistory!(key, {
      ...query,
      ...(query.before !== undefined && { before: this.in(query.before) }),
    });
    return {
      versions: page.versions.map((version) => ({ ...version, revision: this.out(version.revision) })),
      next: page.next === undefined ? undefined : this.out(page.next),
    };
  }

  async keyVersion(key: string, revision: number): Promise<KeyVersion | undefined> {
    const version = await this.inner.keyVersion!(key, this.in(revision));
    return version && { ...version, revision: this.out(version.revision) };
  }

  async historyReach(): Promise<HistoryReach | undefined> {
    const reach = await this.inner.historyReach!();
    // 0 is "from the start" in both numberings.
    const out = (revision: number) => (revision === 0 ? 0 : Math.max(0, this.out(revision)));
    return reach && { startedAt: out(reach.startedAt), reachable: out(reach.reachable) };
  }

  async keyEntryAt(key: string, revision: number): Promise<KeyVersion | undefined> {
    const entry = await this.inner.keyEntryAt!(key, this.in(revision));
    return entry && { ...entry, revision: this.out(entry.revision) };
  }

  async deletedKeys(query: DeletedKeysQuery): Promise<DeletedKeysPage> {
    const page = await this.inner.deletedKeys!(query);
    return {
      keys: page.keys.map((deleted) => ({
        ...deleted,
        revision: this.out(deleted.revision),
        lastPut: deleted.lastPut && { ...deleted.lastPut, revision: this.out(deleted.lastPut.revision) },
      })),
      next: page.next,
    };
  }

  async history(since: number, limit: number): Promise<HistoryPage> {
    const page = await this.inner.history(this.in(since), limit).catch(this.compacted);
    return { events: page.events.map(this.event), revision: this.out(page.revision) };
  }

  async oldestRevision(): Promise<number> {
    return Math.max(1, this.out(await this.inner.oldestRevision()));
  }

  subscribe(listener: ChangeListener): () => void {
    return this.inner.subscribe((events) => listener(events.map(this.event)));
  }

  async expired(now: number, limit: number): Promise<{ key: string; modRevision: number }[]> {
    return (await this.inner.expired(now, limit)).map((item) => ({ ...item, modRevision: this.out(item.modRevision) }));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

if (etcdInstalled()) {
  let cluster: Promise<EtcdCluster> | undefined;
  const etcd = () => (cluster ??= startEtcdCluster({ size: 1 }));
  let tests = 0;

  after(async () => {
    if (cluster !== undefined) await (await cluster).stop();
  });

  runEngineConformance(
    'etcd',
    async (options) => {
      const { storeUrl, endpoints } = await etcd();
      const prefix = `conformance/${++tests}/`;
      const store = {
        kind: 'etcd' as const,
        endpoints: storeUrl
          .slice('etcd://'.length)
          .split(',')
          .map((host) => `http://${host}`),
        prefix,
      };
      const open = () =>
        openEtcdEngine(store, {
          logValueMax: options.logValueMax,
          logLength: options.logLength,
          leaseMarginSeconds: 3600,
          ...(options.auditRetention !== undefined && { auditRetention: options.auditRetention }),
          ...(options.historyRetention !== undefined && { historyRetention: options.historyRetention }),
        });
      const first = await open();
      const base = await first.revision();
      const opened: Engine[] = [first];
      return {
        engine: new RevisionView(first, base),
        reopen: async () => {
          const engine = await open();
          opened.push(engine);
          return new RevisionView(engine, base);
        },
        cleanup: async () => {
          for (const engine of opened) await engine.close();
          const client = new Etcd3({ hosts: [...endpoints] });
          try {
            await client.delete().prefix(prefix);
          } finally {
            client.close();
          }
        },
      };
    },
    { durable: true, auditBoundedBySize: false },
  );
} else {
  describe('engine conformance: etcd', () => {
    it('needs etcd (Debian: apt-get install etcd-server)', { skip: 'etcd is not installed' }, () => undefined);
  });
}
