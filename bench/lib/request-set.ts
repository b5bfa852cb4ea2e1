// A request set is what a load run sends: one method and header set, and a list of (path, body)
// pairs cycled through. The same set drives the preload (with fetch) and the load generator,
// so every system is measured with exactly the requests that were checked to succeed.

export interface RequestLine {
  readonly path: string;
  /** Request body ('' for none). Must not contain tab or newline (it travels in a line file). */
  readonly body: string;
}

export interface RequestSet {
  readonly method: 'GET' | 'PUT' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly lines: readonly RequestLine[];
}

export const VALUE_BYTES = 100;

/** A fixed 100-byte ASCII value (printable, no tab/newline), the same for every system. */
export function benchValue(bytes = VALUE_BYTES): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let value = '';
  let state = 12345;
  for (let index = 0; index < bytes; index++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    value += alphabet[state % alphabet.length];
  }
  return value;
}

export function benchKeys(count: number, prefix = 'bench-'): string[] {
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, index) => `${prefix}${String(index).padStart(width, '0')}`);
}
