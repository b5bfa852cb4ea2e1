// A doubly linked list of entries in the order they were last written, newest at the tail: the
// WAL path's overlay (acknowledged writes lmdb has not applied, one entry per key) keeps one so
// that the index page reads its newest keys in O(page) instead of copying and sorting the whole
// overlay, which can hold up to UNAPPLIED_BYTES_MAX of commits while lmdb is behind.

export interface RecencyNode {
  older: RecencyNode | undefined;
  newer: RecencyNode | undefined;
}

export class RecencyList<Node extends RecencyNode> {
  private newest: Node | undefined;
  private oldest: Node | undefined;

  /** Adds `node` (not in any list) as the newest. */
  append(node: Node): void {
    node.older = this.newest;
    node.newer = undefined;
    if (this.newest === undefined) this.oldest = node;
    else this.newest.newer = node;
    this.newest = node;
  }

  /** Takes `node` (in this list) out. */
  remove(node: Node): void {
    if (node.older === undefined) this.oldest = node.newer as Node | undefined;
    else node.older.newer = node.newer;
    if (node.newer === undefined) this.newest = node.older as Node | undefined;
    else node.newer.older = node.older;
    node.older = undefined;
    node.newer = undefined;
  }

  /** The nodes, newest first. The list must not change while this is iterated. */
  *newestFirst(): Generator<Node> {
    for (let node = this.newest; node !== undefined; node = node.older as Node | undefined) yield node;
  }

  /** The nodes, oldest first (for tests). */
  *oldestFirst(): Generator<Node> {
    for (let node = this.oldest; node !== undefined; node = node.newer as Node | undefined) yield node;
  }
}
