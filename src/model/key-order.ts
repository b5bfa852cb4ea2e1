// Keys are ordered by their UTF-8 bytes (lmdb's and etcd's order). UTF-8 byte order equals code
// point order, which differs from JavaScript's UTF-16 order only around surrogate pairs.
// Shared by the engines, the core, RESP and the web UI (which compiles this file too).

export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** The smallest string greater than every string starting with `prefix`, or undefined for ''. */
export function prefixEnd(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  return `${prefix}\u{10FFFF}`;
}
