// The bound on the memory all connections of one RESP listener hold together
// (limits.maxRespClientsBytes, docs/limits.md): partial commands, parsed commands waiting to run,
// MULTI queues and unsent replies. Each connection reports what it holds; while the total is over
// the bound, the connection holding the most is disconnected, as Redis's maxmemory-clients does,
// so that many hostile connections cannot add up to gigabytes and the small ones keep working.

export interface MemoryHolder {
  /** What the holder reported last (maintained by ClientMemoryBudget). */
  heldBytes: number;
  /** Called once the holder is removed from the budget for holding the most: drop it all and close. */
  evict(totalBytes: number): void;
}

export class ClientMemoryBudget {
  private totalBytes = 0;
  private readonly holders = new Set<MemoryHolder>();

  constructor(readonly limitBytes: number) {}

  get total(): number {
    return this.totalBytes;
  }

  add(holder: MemoryHolder): void {
    holder.heldBytes = 0;
    this.holders.add(holder);
  }

  /** Records what the holder holds now; evicts the largest holders while over the limit. */
  update(holder: MemoryHolder, bytes: number): void {
    if (!this.holders.has(holder)) return;
    this.totalBytes += bytes - holder.heldBytes;
    holder.heldBytes = bytes;
    while (this.totalBytes > this.limitBytes) {
      let largest: MemoryHolder | undefined;
      for (const candidate of this.holders)
        if (largest === undefined || candidate.heldBytes > largest.heldBytes) largest = candidate;
      if (largest === undefined || largest.heldBytes === 0) return;
      const total = this.totalBytes;
      this.remove(largest);
      largest.evict(total);
    }
  }

  remove(holder: MemoryHolder): void {
    if (!this.holders.delete(holder)) return;
    this.totalBytes -= holder.heldBytes;
    holder.heldBytes = 0;
  }
}
