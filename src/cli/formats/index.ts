// Export/import file formats by name, and the guess from a file name.

import { extname } from 'node:path';
import type { Format, FormatName } from './format.js';
import { jsonFormat } from './json-format.js';
import { ndjsonFormat } from './ndjson-format.js';
import { yamlFormat } from './yaml-format.js';

export type { Format, FormatName, RecordWriter } from './format.js';
export { FormatError, type KvRecord } from './record.js';

export const formats: readonly Format[] = [yamlFormat, jsonFormat, ndjsonFormat];
export const formatNames: readonly FormatName[] = formats.map((format) => format.name);

export function formatByName(name: string): Format | undefined {
  return formats.find((format) => format.name === name.toLowerCase());
}

/** The format a file name's ending selects (.yaml/.yml, .json, .ndjson/.jsonl), if any. */
export function formatFromPath(path: string): Format | undefined {
  const extension = extname(path).toLowerCase();
  return formats.find((format) => format.extensions.includes(extension));
}
