// The system keyspace (engine.ts, SystemStore) kept in a Map: the memory engine's, and the copy
// the etcd engine reads from.

import { compareKeys } from '../model/key-order.js';
import type { SystemRecord, SystemStore } from './engine.js';

export class MemorySystemStore implements SystemStore {
  private readonly records = new Map<string, Buffer>();
  private changes = 0;

  generation(): number {
    return this.changes;
  }

  get(key: string): Buffer | undefined {
    return this.records.get(key);
  }

  list(prefix: string): SystemRecord[] {
    const found: SystemRecord[] = [];
    for (const [key, value] of this.records) if (key.startsWith(prefix)) found.push({ key, value });
    return found.sort((a, b) => compareKeys(a.key, b.key));
  }

  async put(key: string, value: Buffer): Promise<void> {
    this.set(key, value);
  }

  async delete(key: string): Promise<boolean> {
    return this.remove(key);
  }

  /** Synchronous put, for a copy kept current from elsewhere (the etcd engine's watch). */
  set(key: string, value: Buffer): void {
    this.records.set(key, Buffer.from(value));
    this.changes++;
  }

  remove(key: string): boolean {
    const had = this.records.delete(key);
    if (had) this.changes++;
    return had;
  }

  /** Replaces every record (a reload of the etcd copy); changes the generation. */
  replaceAll(records: readonly SystemRecord[]): void {
    this.records.clear();
    for (const { key, value } of records) this.records.set(key, value);
    this.changes++;
  }
}
