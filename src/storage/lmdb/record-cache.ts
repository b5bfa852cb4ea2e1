// Decoded records of recently read keys, for the exclusive writer mode only (one process owns
// the store, so every change to it passes through this process and can invalidate the cache).
//
// Why: an lmdb read on the GET hot path (renewing the read transaction, copying and decoding the
// record) held a bare node:http server answering from LmdbEngine.getSync to 37.5k req/s where
// the same server answering a constant reached 46.8k (wrk -c50, 100-byte values, 2 cores).
//
// Bounded by bytes; past the bound the oldest inserted entries go first (insertion order, no
// reordering on hits: a hit costs one Map lookup).

import type { StoredRecord } from '../txn-plan.js';

/** Per-entry cost beyond the value and key bytes: the Map slot, record object and Buffer header. */
const ENTRY_OVERHEAD_BYTES = 200;

export class RecordCache {
  private readonly records = new Map<string, StoredRecord>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string): StoredRecord | undefined {
    return this.records.get(key);
  }

  add(key: string, record: StoredRecord): void {
    const size = sizeOf(key, record);
    if (size > this.maxBytes) return;
    this.invalidate(key);
    this.records.set(key, record);
    this.bytes += size;
    for (const [oldest, evicted] of this.records) {
      if (this.bytes <= this.maxBytes) break;
      this.records.delete(oldest);
      this.bytes -= sizeOf(oldest, evicted);
    }
  }

  invalidate(key: string): void {
    const record = this.records.get(key);
    if (record === undefined) return;
    this.records.delete(key);
    this.bytes -= sizeOf(key, record);
  }

  clear(): void {
    this.records.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.records.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }
}

function sizeOf(key: string, record: StoredRecord): number {
  return ENTRY_OVERHEAD_BYTES + key.length * 2 + record.value.length + (record.contentType?.length ?? 0);
}
