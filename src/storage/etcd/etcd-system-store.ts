// The etcd engine's system keyspace (engine.ts, SystemStore): records under the namespace's
// bookkeeping byte (key-space.ts), which no kvs key, listing, count or change event can reach.
// Reads are served from a copy in memory so that authentication never waits on etcd: loaded at
// open, updated at once by this process's own writes, and by a watch for other servers' writes
// (a revocation made on another server takes effect here when its watch event arrives, within
// milliseconds on a healthy cluster; docs/tokens.md). After a broken watch the copy is reloaded.

import type { Etcd3, IWatchResponse, WatchClient } from 'etcd3';
import type { SystemRecord, SystemStore } from '../engine.js';
import type { EtcdCalls } from './etcd-calls.js';
import type { KeySpace } from './key-space.js';
import { MemorySystemStore } from '../memory-system-store.js';
import { openWatch, type WatchHandle } from './watch-streams.js';

const REWATCH_MS = 1000;

export class EtcdSystemStore implements SystemStore {
  private readonly copy = new MemorySystemStore();
  private watch: WatchHandle | undefined;
  private rewatch: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    private readonly calls: EtcdCalls,
    private readonly space: KeySpace,
    private readonly log: (message: string) => void,
  ) {}

  /** Loads the records and starts the watch that keeps them current. */
  async open(): Promise<void> {
    const range = this.space.systemRange();
    const response = await this.calls.read('a read', (call) =>
      this.client.kv.range({ key: range.start, range_end: range.end }, call),
    );
    this.copy.replaceAll(
      response.kvs.map((kv) => ({ key: this.space.systemKeyOf(kv.key), value: Buffer.from(kv.value) })),
    );
    if (this.closed) return;
    this.watch = openWatch(
      this.client.watchClient as WatchClient,
      { key: range.start, range_end: range.end, start_revision: Number(response.header.revision) + 1 },
      {
        onResponse: (watched) => this.apply(watched),
        onEnd: (error) => {
          if (this.closed) return;
          this.log(`the etcd watch of system records broke (${error.message.split('\n')[0]}); reloading`);
          this.rewatch = setTimeout(() => {
            this.open().catch((failed: unknown) =>
              this.log(`reloading system records failed: ${failed instanceof Error ? failed.message : String(failed)}`),
            );
          }, REWATCH_MS);
          this.rewatch.unref();
        },
      },
    );
  }

  private apply(response: IWatchResponse): void {
    for (const event of response.events) {
      const key = this.space.systemKeyOf(event.kv.key);
      if (event.type === 'Put') this.copy.set(key, Buffer.from(event.kv.value));
      else this.copy.remove(key);
    }
  }

  generation(): number {
    return this.copy.generation();
  }

  get(key: string): Buffer | undefined {
    return this.copy.get(key);
  }

  list(prefix: string): SystemRecord[] {
    return this.copy.list(prefix);
  }

  async put(key: string, value: Buffer): Promise<void> {
    await this.calls.write('a system write', (call) =>
      this.client.kv.put({ key: this.space.systemKey(key), value }, call),
    );
    this.copy.set(key, value);
  }

  async delete(key: string): Promise<boolean> {
    const response = await this.calls.write('a system write', (call) =>
      this.client.kv.deleteRange({ key: this.space.systemKey(key) }, call),
    );
    this.copy.remove(key);
    return Number(response.deleted) > 0;
  }

  close(): void {
    this.closed = true;
    this.watch?.cancel();
    if (this.rewatch !== undefined) clearTimeout(this.rewatch);
  }
}
