// CRC-32 (the zlib/IEEE polynomial) for record checksums (record-codec.ts). Node has it built in
// as zlib.crc32 from 20.15 and 22.2; package.json allows any Node 20, so older ones use the
// table-driven version below, which gives the same numbers (test/engine/record-codec.test.ts).

import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array | string, initial?: number) => number;

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    let crc = index;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
    table[index] = crc >>> 0;
  }
  return table;
})();

/** The portable CRC-32, exported for the test that compares it with zlib's. */
export function tableCrc32(data: Uint8Array | string, initial = 0): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = ~initial >>> 0;
  for (let index = 0; index < bytes.length; index++) crc = TABLE[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

const builtin = (zlib as unknown as { crc32?: Crc32 }).crc32;

/** CRC-32 of `data` (a string counts as its UTF-8 bytes), continuing from `initial`. */
export const crc32: Crc32 = builtin ?? tableCrc32;
