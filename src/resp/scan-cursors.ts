// SCAN cursors. A Redis cursor is an opaque integer; kvs maps it to the last key the previous
// call examined, and the next call lists the keys after that one. Keys are listed in order, so
// an iteration returns every key that exists from its start to its end at least once, however
// the store changes meanwhile. The table is shared by all connections (a client may continue a
// scan on another connection) and bounded: the oldest cursors are forgotten first.

export class ScanCursors {
  private readonly positions = new Map<number, string>();
  private nextId = 1;

  constructor(private readonly capacity = 100_000) {}

  /** A new cursor that continues after `key`. */
  create(key: string): number {
    const id = this.nextId++;
    this.positions.set(id, key);
    if (this.positions.size > this.capacity) {
      const oldest = this.positions.keys().next().value as number;
      this.positions.delete(oldest);
    }
    return id;
  }

  /** The key to continue after, or undefined for an unknown (or forgotten) cursor. */
  resolve(id: number): string | undefined {
    return this.positions.get(id);
  }

  get size(): number {
    return this.positions.size;
  }
}
