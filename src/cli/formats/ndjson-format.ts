// NDJSON: one record per line, {key, value, encoding, contentType, expires}. Read as a stream,
// so it suits stores too large to hold in memory at once.

import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Format, RecordWriter } from './format.js';
import { FormatError, type KvRecord } from './record.js';
import { recordFromFields } from './value-document.js';
import { isUtf8 } from 'node:buffer';

export function ndjsonLine(record: KvRecord): string {
  const text = isUtf8(record.value);
  return `${JSON.stringify({
    key: record.key,
    value: record.value.toString(text ? 'utf8' : 'base64'),
    encoding: text ? 'utf8' : 'base64',
    contentType: record.contentType,
    expires: record.expires === null ? null : new Date(record.expires).toISOString(),
  })}\n`;
}

export function parseNdjsonLine(line: string, lineNumber: number): KvRecord | undefined {
  if (line.trim() === '') return undefined;
  try {
    let document: unknown;
    try {
      document = JSON.parse(line);
    } catch (error) {
      throw new FormatError(`not valid JSON: ${(error as Error).message}`);
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new FormatError('each line must be an object {key, value, encoding, contentType, expires}');
    }
    const {
      key,
      value,
      encoding = null,
      contentType = null,
      expires = null,
      ...rest
    } = document as Record<string, unknown>;
    if (typeof key !== 'string') throw new FormatError('"key" must be a string');
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new FormatError(`unknown field ${JSON.stringify(unknown[0])}`);
    return recordFromFields(key, { value, encoding, contentType, expires });
  } catch (error) {
    if (error instanceof FormatError) throw new FormatError(`line ${lineNumber}: ${error.message}`);
    throw error;
  }
}

class NdjsonWriter implements RecordWriter {
  begin(): string {
    return '';
  }

  write(record: KvRecord): string {
    return ndjsonLine(record);
  }

  end(): string {
    return '';
  }
}

export const ndjsonFormat: Format = {
  name: 'ndjson',
  extensions: ['.ndjson', '.jsonl'],
  createWriter: () => new NdjsonWriter(),
  async *read(input: Readable) {
    const lines = createInterface({ input, crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      const record = parseNdjsonLine(lineNumber === 1 ? line.replace(/^\uFEFF/, '') : line, lineNumber);
      if (record !== undefined) yield record;
    }
  },
};
