// RESP keys arrive as bytes; kvs keys are UTF-8 strings (docs/architecture.md, "The data
// model"). A key that is not valid UTF-8 is refused with `-ERR The key is not valid UTF-8.`
// rather than altered, so a key written over RESP is byte for byte the key seen over HTTP.

import { isUtf8 } from 'node:buffer';
import { KvsError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';

export function decodeKey(bytes: Buffer, limits: Limits): string {
  const length = bytes.length;
  if (length === 0) throw new KvsError('invalid_key', 'The key is empty.');
  if (length > limits.maxKeyBytes) {
    throw new KvsError('key_too_long', undefined, { limit: limits.maxKeyBytes, size: length });
  }
  for (let index = 0; index < length; index++) {
    if (bytes[index]! >= 0x80) {
      if (!isUtf8(bytes)) throw new KvsError('invalid_key', 'The key is not valid UTF-8.');
      return bytes.toString('utf8');
    }
  }
  return bytes.toString('latin1');
}

/** A pattern or other text argument that must be UTF-8 to mean anything for kvs keys. */
export function isValidUtf8(bytes: Buffer): boolean {
  return isUtf8(bytes);
}
