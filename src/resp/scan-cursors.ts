// SCAN cursors. A Redis cursor is an opaque integer; kvs maps it to the last key the previous
// call examined, and the next call lists the keys after that one. Keys are listed in order, so
// an iteration returns every key that exists from its start to its end at least once, however
// the store changes meanwhile. The table is shared by all connections (a client may continue a
// scan on another connection) and bounded in entries and in bytes (long keys: 100,000 cursors of
// 1 KiB keys would otherwise hold 100 MB): the oldest cursors are forgotten first.

/** What one cursor costs besides its key's UTF-16 characters (Map entry, string header). */
const CURSOR_OVERHEAD_BYTES = 64;

export class ScanCursors {
  private readonly positions = new Map<number, string>();
  private nextId = 1;
  private bytes = 0;

  constructor(
    private readonly capacity = 100_000,
    private readonly capacityBytes = 16 * 1024 * 1024,
  ) {}

  /** A new cursor that continues after `key`. */
  create(key: string): number {
    const id = this.nextId++;
    this.positions.set(id, key);
    this.bytes += cursorBytes(key);
    while (this.positions.size > this.capacity || this.bytes > this.capacityBytes) {
      const [oldest, oldestKey] = this.positions.entries().next().value as [number, string];
      this.positions.delete(oldest);
      this.bytes -= cursorBytes(oldestKey);
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

  /** The bytes the table is charged for (at most capacityBytes). */
  get heldBytes(): number {
    return this.bytes;
  }
}

function cursorBytes(key: string): number {
  return key.length * 2 + CURSOR_OVERHEAD_BYTES;
}
