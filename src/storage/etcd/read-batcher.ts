// Single-key reads of the etcd engine, sent to etcd together: the reads asked for within one
// event-loop turn go to etcd as one read-only transaction, instead of one gRPC call per read. A
// batch holds at most `maxKeys` keys (etcd's --max-txn-ops) and `maxBytes` of keys, so that etcd
// never refuses a batch that it would have taken read by read (--max-request-bytes); a key too
// long for that goes alone, as before.
//
// Why: one etcd call costs this process several times the CPU it costs etcd (the gRPC client's
// HTTP/2 stream, its call stack, the protobuf decoding), so kvs on etcd ran out of CPU long before
// etcd did. Under load many reads wait at the same time, and one call serves them all
// (BENCHMARKS.md, "kvs on etcd: where the time goes"). A lone read is still one Range.
//
// Still linearizable: a batch is sent after every read in it was asked for, and each read is
// answered only after etcd answered the batch; etcd serves a read-only transaction as one
// linearizable read, as it serves a Range. So every read takes effect within its own call.
// A read joins only a batch that has not been sent yet: joining one already on its way could
// answer with a value older than a write acknowledged before the read was asked for.

import type { IKeyValue } from 'etcd3';

/** What one read operation adds to a transaction request besides its key (protobuf framing). */
export const BATCH_BYTES_PER_KEY = 32;

/** Reads the given etcd keys in one consistent snapshot, in order (undefined: absent). */
export type ReadKeys = (keys: readonly Buffer[]) => Promise<readonly (IKeyValue | undefined)[]>;

interface Waiting {
  readonly key: Buffer;
  readonly resolve: ((kv: IKeyValue | undefined) => void)[];
  readonly reject: ((error: unknown) => void)[];
}

export class ReadBatcher {
  /** Reads not sent yet, one entry per distinct key (latin1 of its bytes). */
  private waiting = new Map<string, Waiting>();
  /** Bytes the waiting keys take in a request (BATCH_BYTES_PER_KEY each, plus the key). */
  private waitingBytes = 0;
  private flushing: NodeJS.Immediate | undefined;

  constructor(
    private readonly readKeys: ReadKeys,
    private readonly maxKeys: number,
    private readonly maxBytes: number,
  ) {}

  read(key: Buffer): Promise<IKeyValue | undefined> {
    return new Promise((resolve, reject) => {
      const id = key.toString('latin1');
      let entry = this.waiting.get(id);
      if (entry === undefined) {
        const bytes = key.length + BATCH_BYTES_PER_KEY;
        if (this.waiting.size > 0 && this.waitingBytes + bytes > this.maxBytes) this.flush();
        entry = { key, resolve: [], reject: [] };
        this.waiting.set(id, entry);
        this.waitingBytes += bytes;
      }
      entry.resolve.push(resolve);
      entry.reject.push(reject);
      if (this.waiting.size >= this.maxKeys) this.flush();
      else this.flushing ??= setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.flushing !== undefined) clearImmediate(this.flushing);
    this.flushing = undefined;
    if (this.waiting.size === 0) return;
    const batch = [...this.waiting.values()];
    this.waiting = new Map();
    this.waitingBytes = 0;
    this.readKeys(batch.map((entry) => entry.key)).then(
      (kvs) => {
        batch.forEach((entry, index) => {
          for (const resolve of entry.resolve) resolve(kvs[index]);
        });
      },
      (error: unknown) => {
        for (const entry of batch) for (const reject of entry.reject) reject(error);
      },
    );
  }
}
