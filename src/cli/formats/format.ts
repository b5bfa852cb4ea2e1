// What every export/import file format provides.

import type { Readable } from 'node:stream';
import type { KvRecord } from './record.js';

export type FormatName = 'yaml' | 'json' | 'ndjson';

/** Turns records into file text piece by piece, so exports of any size stream to disk. */
export interface RecordWriter {
  begin(): string;
  write(record: KvRecord): string;
  end(): string;
}

export interface Format {
  readonly name: FormatName;
  /** File name endings that select this format when --format is not given. */
  readonly extensions: readonly string[];
  createWriter(): RecordWriter;
  /** Records in file order; throws FormatError naming the place of a problem. */
  read(input: Readable): AsyncIterable<KvRecord>;
}

export async function readAllText(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer));
  const bytes = Buffer.concat(chunks);
  // A UTF-8 byte order mark is not part of the document.
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return bytes.subarray(start).toString('utf8');
}
