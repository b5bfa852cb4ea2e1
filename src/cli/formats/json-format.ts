// JSON: one object of key -> value document (see value-document.ts), the same shape as YAML.
// JSON strings hold any text, so only non-UTF-8 values need base64.

import type { Readable } from 'node:stream';
import { readAllText, type Format, type RecordWriter } from './format.js';
import { FormatError, type KvRecord } from './record.js';
import { recordFromValueDocument, toValueDocument } from './value-document.js';

export function parseJsonRecords(text: string): KvRecord[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new FormatError('the JSON document must be an object of "key": value');
  }
  return Object.entries(document).map(([key, value]) => recordFromValueDocument(key, value));
}

class JsonWriter implements RecordWriter {
  private first = true;

  begin(): string {
    return '{';
  }

  write(record: KvRecord): string {
    const separator = this.first ? '\n' : ',\n';
    this.first = false;
    return `${separator}  ${JSON.stringify(record.key)}: ${JSON.stringify(toValueDocument(record))}`;
  }

  end(): string {
    return this.first ? '}\n' : '\n}\n';
  }
}

export const jsonFormat: Format = {
  name: 'json',
  extensions: ['.json'],
  createWriter: () => new JsonWriter(),
  async *read(input: Readable) {
    yield* parseJsonRecords(await readAllText(input));
  },
};
