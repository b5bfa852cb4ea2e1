// The lmdb engine's system keyspace (engine.ts, SystemStore): a sub-database of its own, apart
// from the `kv` database every user read, listing and export walks, and a generation counter
// in the `meta` database. Both are written in one transaction under LMDB's cross-process write
// lock, so every `--workers N` process sees a change at its next generation() call.

import type { Database, RootDatabase } from 'lmdb';
import type { SystemRecord, SystemStore } from '../engine.js';

const GENERATION = 'systemGeneration';

export class LmdbSystemStore implements SystemStore {
  private readonly records: Database<Buffer, string>;

  constructor(
    private readonly root: RootDatabase,
    private readonly meta: Database<number, string>,
    /** Whether this process is the store's only user (then its snapshot is never behind). */
    private readonly exclusive: boolean,
  ) {
    this.records = root.openDB<Buffer, string>({ name: 'system', encoding: 'binary' });
  }

  generation(): number {
    // lmdb-js keeps one read snapshot until a 0 ms timer renews it, and other processes'
    // commits do not renew it: a worker must renew it to see another worker's revocation.
    if (!this.exclusive) this.root.resetReadTxn();
    return this.meta.get(GENERATION) ?? 0;
  }

  get(key: string): Buffer | undefined {
    return this.records.get(key);
  }

  list(prefix: string): SystemRecord[] {
    const found: SystemRecord[] = [];
    for (const { key, value } of this.records.getRange({ start: prefix })) {
      if (!key.startsWith(prefix)) break;
      found.push({ key, value });
    }
    return found;
  }

  async put(key: string, value: Buffer): Promise<void> {
    await this.write(() => {
      this.records.putSync(key, value);
      return true;
    });
  }

  async delete(key: string): Promise<boolean> {
    return this.write(() => this.records.removeSync(key));
  }

  /** Runs `change` in one write transaction that also bumps the generation when it changed something. */
  private async write(change: () => boolean): Promise<boolean> {
    let changed = false;
    const committed = this.root.transaction(() => {
      changed = change();
      if (changed) this.meta.putSync(GENERATION, (this.meta.get(GENERATION) ?? 0) + 1);
    });
    await committed;
    const flushed = (committed as Promise<unknown> & { flushed?: PromiseLike<unknown> }).flushed;
    if (flushed !== undefined) await flushed;
    return changed;
  }
}
