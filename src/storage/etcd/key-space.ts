// Where one kvs namespace lives inside etcd.
//
// A kvs key is stored at <prefix><its UTF-8 bytes>. kvs keys are valid UTF-8, and UTF-8 never
// contains the byte 0xFF, so:
//   - <prefix>0xFF... is free for the engine's own bookkeeping (the commit record key), and
//   - [<prefix><p>, <prefix><p>0xFF) holds exactly the kvs keys that start with p, in byte order,
//     and never a bookkeeping key.
// Namespaces sharing one etcd must not have prefixes that are prefixes of each other.

import type { ChangeType } from '../../model/change-type.js';

const BOOKKEEPING = 0xff;

/** Bytes of a commit's id in history keys (KeySpace.historyOrderKey). */
export const COMMIT_ID_BYTES = 16;

/** What the name of a history entry's etcd key says (KeySpace.historyEntryKey). */
export interface HistoryEntryName {
  /** The id of the commit that wrote it (COMMIT_ID_BYTES). */
  readonly commit: Buffer;
  /** Its bytes as stored. */
  readonly size: number;
  /** Bytes of the value it holds (0 for a delete or an expiry). */
  readonly valueSize: number;
  /** The key's version it records (0 for a delete or an expiry). */
  readonly version: number;
  readonly type: ChangeType;
}

/**
 * A kvs key as the start of its history entries' names: its UTF-8 bytes with each 0x00 written
 * 0x00 0xFF, then 0x00 0x01. Keys may hold U+0000, and this keeps their byte order: a key sorts
 * before every longer key it starts (0x00 0x01 is below any byte, or 0x00 0xFF, that follows).
 */
export function historyKeyPart(key: string): Buffer {
  return Buffer.concat([escapeNul(Buffer.from(key, 'utf8')), Buffer.from([0x00, 0x01])]);
}

function escapeNul(bytes: Buffer): Buffer {
  if (!bytes.includes(0)) return bytes;
  const out: number[] = [];
  for (const byte of bytes) {
    out.push(byte);
    if (byte === 0) out.push(0xff);
  }
  return Buffer.from(out);
}

function unescapeNul(escaped: Buffer): Buffer {
  const out: number[] = [];
  for (let index = 0; index < escaped.length; index++) {
    out.push(escaped[index]!);
    if (escaped[index] === 0) index++;
  }
  return Buffer.from(out);
}

export interface KeyRange {
  readonly start: Buffer;
  /** Exclusive end; a single 0x00 byte means "to the end of the key space" (etcd's convention). */
  readonly end: Buffer;
}

export class KeySpace {
  readonly prefix: Buffer;
  /** Written by every kvs transaction that changes the namespace (see commit-record.ts). */
  readonly commitKey: Buffer;

  constructor(prefix: string) {
    this.prefix = Buffer.from(prefix, 'utf8');
    this.commitKey = Buffer.concat([this.prefix, Buffer.from([BOOKKEEPING]), Buffer.from('commit', 'latin1')]);
  }

  dataKey(key: string): Buffer {
    const length = Buffer.byteLength(key, 'utf8');
    const buffer = Buffer.allocUnsafe(this.prefix.length + length);
    this.prefix.copy(buffer, 0);
    buffer.write(key, this.prefix.length, length, 'utf8');
    return buffer;
  }

  /** The kvs key stored at an etcd key; undefined for bookkeeping keys and keys outside the namespace. */
  keyOf(etcdKey: Buffer): string | undefined {
    const length = this.prefix.length;
    if (etcdKey.length <= length || etcdKey[length] === BOOKKEEPING) return undefined;
    if (length > 0 && etcdKey.compare(this.prefix, 0, length, 0, length) !== 0) return undefined;
    return etcdKey.toString('utf8', length);
  }

  isCommitKey(etcdKey: Buffer): boolean {
    return etcdKey.equals(this.commitKey);
  }

  /**
   * The etcd range of the kvs keys that start with `prefix` and sort after `after` (exclusive),
   * or undefined when no key can qualify.
   */
  dataRange(prefix: string, after?: string): KeyRange | undefined {
    const low = this.dataKey(prefix);
    const end = Buffer.concat([low, Buffer.from([BOOKKEEPING])]);
    let start = low;
    if (after !== undefined) {
      // The smallest key greater than `after` is `after` followed by a 0x00 byte.
      const afterKey = this.dataKey(after);
      const next = Buffer.concat([afterKey, Buffer.from([0])]);
      if (Buffer.compare(next, start) > 0) start = next;
    }
    return Buffer.compare(start, end) < 0 ? { start, end } : undefined;
  }

  /** Every kvs key of the namespace (no bookkeeping keys). */
  allData(): KeyRange {
    return this.dataRange('')!;
  }

  /** Where system record `key` lives (engine.ts, SystemStore): a bookkeeping key, never a kvs key. */
  systemKey(key: string): Buffer {
    return Buffer.concat([this.systemPrefix(), Buffer.from(key, 'utf8')]);
  }

  /** The system record key stored at an etcd key of systemRange(). */
  systemKeyOf(etcdKey: Buffer): string {
    return etcdKey.toString('utf8', this.systemPrefix().length);
  }

  /**
   * Where a new audit entry goes (docs/audit.md): a bookkeeping key of the commit's time (ms, 8
   * bytes big-endian, so the oldest come first in key order) and 8 random bytes. The entry's
   * revision is the key's create_revision.
   */
  auditKey(time: number, random: Buffer): Buffer {
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(time))));
    return Buffer.concat([this.auditPrefix(), stamp, random]);
  }

  /** Every audit entry of the namespace, or (with `before`) those committed before that time. */
  auditRange(before?: number): KeyRange {
    const start = this.auditPrefix();
    if (before === undefined) return { start, end: rangeEndOfPrefix(start) };
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(before))));
    return { start, end: Buffer.concat([start, stamp]) };
  }

  /**
   * Where one history entry of `key` goes (docs/history.md, "How the engines store it"): the
   * key's bytes in an order-keeping escape (historyKeyPart), the id of the commit that wrote it
   * (its order key's, historyOrderKey: key order is commit order for one key), then the entry's
   * size as stored, its value's size and its version (4 bytes big-endian each) and its type's
   * first letter, so a listing of names alone tells a key's kept window, its newest type and its
   * last put. The entry's revision is its create_revision.
   */
  historyEntryKey(key: string, name: HistoryEntryName): Buffer {
    const tail = Buffer.alloc(4 + 4 + 4 + 1);
    tail.writeUInt32BE(name.size, 0);
    tail.writeUInt32BE(name.valueSize, 4);
    tail.writeUInt32BE(name.version, 8);
    tail.write(name.type[0]!, 12, 'latin1');
    return Buffer.concat([this.historyEntries(key).start, name.commit, tail]);
  }

  /** The kvs key and the name of a history entry key. */
  historyEntryName(etcdKey: Buffer): HistoryEntryName & { readonly key: string } {
    const from = this.historyPrefix().length;
    let nul = false;
    let at = from;
    // The escape (historyKeyPart): 0x00 0xFF is a 0x00 of the key, 0x00 0x01 ends it.
    for (; at < etcdKey.length; at++) {
      if (etcdKey[at] !== 0) continue;
      if (etcdKey[at + 1] === 0x01) break;
      nul = true;
      at++;
    }
    const escaped = etcdKey.subarray(from, at);
    const key = (nul ? unescapeNul(escaped) : escaped).toString('utf8');
    const tail = at + 2;
    const letter = etcdKey.toString('latin1', tail + COMMIT_ID_BYTES + 12, tail + COMMIT_ID_BYTES + 13);
    return {
      key,
      commit: etcdKey.subarray(tail, tail + COMMIT_ID_BYTES),
      size: etcdKey.readUInt32BE(tail + COMMIT_ID_BYTES),
      valueSize: etcdKey.readUInt32BE(tail + COMMIT_ID_BYTES + 4),
      version: etcdKey.readUInt32BE(tail + COMMIT_ID_BYTES + 8),
      type: letter === 'p' ? 'put' : letter === 'd' ? 'delete' : 'expire',
    };
  }

  /** Every history entry of `key`, oldest first. */
  historyEntries(key: string): KeyRange {
    const part = historyKeyPart(key);
    const start = Buffer.concat([this.historyPrefix(), part]);
    const end = Buffer.from(start);
    end[end.length - 1] = 0x02;
    return { start, end };
  }

  /**
   * The history entries of the keys that start with `prefix` and sort after `after`
   * (exclusive), in key order (the escape keeps it), each key's oldest first.
   */
  historyKeysRange(prefix: string, after?: string): KeyRange {
    const low = Buffer.concat([this.historyPrefix(), escapeNul(Buffer.from(prefix, 'utf8'))]);
    let start: Buffer = low;
    if (after !== undefined) {
      const next = this.historyEntries(after).end;
      if (Buffer.compare(next, start) > 0) start = next;
    }
    return { start, end: rangeEndOfPrefix(low) };
  }

  /**
   * The store-order key of one commit's history entries: `commit` is 8 bytes of the etcd
   * revision the commit read its snapshot at (big-endian, so older commits come first in key
   * order, whichever server made them) and 8 random bytes. Its value lists the entries.
   */
  historyOrderKey(commit: Buffer): Buffer {
    return Buffer.concat([this.historyOrderPrefix(), commit]);
  }

  /** The commit id of a historyOrderKey. */
  historyOrderCommit(etcdKey: Buffer): Buffer {
    return etcdKey.subarray(this.historyOrderPrefix().length);
  }

  historyOrderRange(): KeyRange {
    const start = this.historyOrderPrefix();
    return { start, end: rangeEndOfPrefix(start) };
  }

  /** One of the counters of the store's history bytes (etcd-history.ts). */
  historyBytesKey(shard: number): Buffer {
    return Buffer.concat([this.historyBytesPrefix(), Buffer.from(String(shard).padStart(2, '0'), 'latin1')]);
  }

  historyBytesRange(): KeyRange {
    const start = this.historyBytesPrefix();
    return { start, end: rangeEndOfPrefix(start) };
  }

  /**
   * The revision from which the namespace has kept history without a gap (HistoryReach's
   * `startedAt`, etcd-history.ts): written by the first server that opens it with history, removed
   * by one that opens it without.
   */
  historyStartedKey(): Buffer {
    return this.bookkeeping('historystarted');
  }

  private historyPrefix(): Buffer {
    return this.bookkeeping('history/');
  }

  private historyOrderPrefix(): Buffer {
    return this.bookkeeping('historyorder/');
  }

  private historyBytesPrefix(): Buffer {
    return this.bookkeeping('historybytes/');
  }

  private bookkeeping(name: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from([BOOKKEEPING]), Buffer.from(name, 'latin1')]);
  }

  private auditPrefix(): Buffer {
    return Buffer.concat([this.prefix, Buffer.from([BOOKKEEPING]), Buffer.from('audit/', 'latin1')]);
  }

  /** Every system record of the namespace. */
  systemRange(): KeyRange {
    const start = this.systemPrefix();
    return { start, end: rangeEndOfPrefix(start) };
  }

  private systemPrefix(): Buffer {
    return Buffer.concat([this.prefix, Buffer.from([BOOKKEEPING]), Buffer.from('system/', 'latin1')]);
  }

  /** The whole namespace, bookkeeping included. */
  whole(): KeyRange {
    return { start: this.prefix, end: rangeEndOfPrefix(this.prefix) };
  }

  /**
   * What the change feed and history replays watch (watch-streams.ts): the kvs keys and the
   * commit record, which they read together (change-decoder.ts). One range, since one watch
   * delivers a revision's events together: from the prefix to the commit record included. Of
   * the bookkeeping keys only the audit entries (one small key per commit) sort before the
   * commit record; the history keys, which copy every value, and the system records sort after
   * it and are left out.
   */
  changeRange(): KeyRange {
    return { start: this.prefix, end: Buffer.concat([this.commitKey, Buffer.from([0])]) };
  }
}

/** etcd's end of "every key starting with prefix": the prefix with its last byte below 0xFF incremented. */
export function rangeEndOfPrefix(prefix: Buffer): Buffer {
  for (let index = prefix.length - 1; index >= 0; index--) {
    if (prefix[index]! < 0xff) {
      const end = Buffer.from(prefix.subarray(0, index + 1));
      end[index] = prefix[index]! + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}
