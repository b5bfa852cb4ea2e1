// Keys in the order they were last written, newest last: O(1) to move a key to the newest end
// or remove it, O(k) to walk the k newest. The memory engine answers recentlyModified() with it
// (the index page's "recently updated") at a cost independent of the store's size.

interface Node {
  readonly key: string;
  newer: Node | undefined;
  older: Node | undefined;
}

export class RecencyList {
  private readonly nodes = new Map<string, Node>();
  private newest: Node | undefined;

  /** Marks `key` as the most recently written. */
  touch(key: string): void {
    this.remove(key);
    const node: Node = { key, newer: undefined, older: this.newest };
    if (this.newest !== undefined) this.newest.newer = node;
    this.newest = node;
    this.nodes.set(key, node);
  }

  remove(key: string): void {
    const node = this.nodes.get(key);
    if (node === undefined) return;
    this.nodes.delete(key);
    if (node.newer !== undefined) node.newer.older = node.older;
    else this.newest = node.older;
    if (node.older !== undefined) node.older.newer = node.newer;
  }

  /** Keys from the most recently written back. */
  *newestFirst(): Generator<string> {
    for (let node = this.newest; node !== undefined; node = node.older) yield node.key;
  }
}
