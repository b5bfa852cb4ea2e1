// The server lists keys in UTF-8 byte order. JavaScript's `<` compares UTF-16 code units, which
// disagrees for characters above U+FFFF versus U+E000..U+FFFF; code point order equals UTF-8
// byte order, so compare code points.

export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.codePointAt(index)!;
    const y = b.codePointAt(index)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) index++;
  }
  return a.length - b.length;
}
