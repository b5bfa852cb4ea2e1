// Where one kvs namespace lives inside etcd.
//
// A kvs key is stored at <prefix><its UTF-8 bytes>. kvs keys are valid UTF-8, and UTF-8 never
// contains the byte 0xFF, so:
//   - <prefix>0xFF... is free for the engine's own bookkeeping (the commit record key), and
//   - [<prefix><p>, <prefix><p>0xFF) holds exactly the kvs keys that start with p, in byte order,
//     and never a bookkeeping key.
// Namespaces sharing one etcd must not have prefixes that are prefixes of each other.

const BOOKKEEPING = 0xff;

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

  /** The whole namespace, bookkeeping included: what a watch covers. */
  whole(): KeyRange {
    return { start: this.prefix, end: rangeEndOfPrefix(this.prefix) };
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
