// Keys of the kv database are stored as their plain UTF-8 bytes, so LMDB's memcmp order is UTF-8
// byte order and every key reads back exactly as written.
//
// Why not lmdb-js's default 'ordered-binary' key encoding: it escapes U+0000..U+0004 in strings
// shorter than 64 UTF-16 units but writes longer strings as raw UTF-8, so a long key holding one
// of those characters lists back as a different string (or an array), and the two forms sort
// out of byte order. The engine conformance suite has a case for it.

/** lmdb-js `keyEncoder` hooks (see lmdb's keys.js: writeKey returns the end position). */
export const utf8KeyEncoder = {
  writeKey(key: string | Uint8Array, target: Buffer, start: number): number {
    if (typeof key !== 'string') {
      // lmdb-js passes its own default range start as bytes.
      target.set(key, start);
      return start + key.length;
    }
    const written = target.write(key, start, 'utf8');
    // Buffer#write stops silently at the end of the target; lmdb-js retries with a fresh buffer
    // on RangeError. A truncated write always ends within 3 bytes of the end.
    if (start + written > target.length - 4) throw new RangeError('key does not fit in the key buffer');
    return start + written;
  },

  readKey(source: Buffer, start: number, end: number): string {
    return source.toString('utf8', start, end);
  },
};
