// The memory engine's expiry index: a binary min-heap of (expires, key), earliest expiry first
// (ties in key order, as the lmdb engine's [expires, key] index). Entries are never removed when
// a key is rewritten or deleted; the reader drops an entry whose key no longer has that expiry
// when it reaches the top (a lazy heap). So finding the next expired keys costs O(k log n) for k
// of them, not a pass over every key, whatever the store holds.

import { compareKeys } from '../../model/key-order.js';

export interface ExpiryEntry {
  readonly expires: number;
  readonly key: string;
}

function before(a: ExpiryEntry, b: ExpiryEntry): boolean {
  return a.expires < b.expires || (a.expires === b.expires && compareKeys(a.key, b.key) < 0);
}

export class ExpiryQueue {
  private heap: ExpiryEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(entry: ExpiryEntry): void {
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  peek(): ExpiryEntry | undefined {
    return this.heap[0];
  }

  pop(): ExpiryEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === index) return top;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
  }

  /** Replaces every entry (a rebuild that drops the stale ones): sorted, an array is a heap. */
  reset(entries: ExpiryEntry[]): void {
    this.heap = entries.sort((a, b) => a.expires - b.expires || compareKeys(a.key, b.key));
  }
}
