// YAML, the seed's human format: a mapping of key -> value document (see value-document.ts).
// A plain seed file (`key: value` lines) imports as-is: scalars are read with the failsafe
// schema, so `count: 007` stores the text "007" and `flag: yes` stores "yes", never 7 or true.
// Every record the writer emits is read back and compared, and falls back to base64 when the
// text would not survive YAML unchanged, so export -> import is exact.

import type { Readable } from 'node:stream';
import {
  LineCounter,
  Scalar,
  isAlias,
  isMap,
  isScalar,
  parseDocument,
  stringify,
  type Document,
  type Node,
} from 'yaml';
import { readAllText, type Format, type RecordWriter } from './format.js';
import { FormatError, quote, type KvRecord } from './record.js';
import { explicitFieldsOf, recordFromFields, toValueDocument, type ValueDocument } from './value-document.js';

const STRINGIFY_OPTIONS = { lineWidth: 0, minContentWidth: 0 } as const;
const NULL_WORDS = new Set(['', '~', 'null', 'Null', 'NULL']);

export function parseYamlRecords(text: string): KvRecord[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { schema: 'failsafe', lineCounter, uniqueKeys: false });
  // The parser's message is followed by a snippet of the file: the first line names the place.
  if (document.errors.length > 0) throw new FormatError(document.errors[0]!.message.split('\n')[0]!.replace(/:$/, ''));
  const where = (node: Node | null | undefined) => {
    const offset = node?.range?.[0];
    if (offset === undefined) return '';
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}: `;
  };
  const contents = document.contents;
  if (contents === null || (isScalar(contents) && contents.value === '')) return [];
  if (!isMap(contents)) throw new FormatError(`${where(contents)}the document must be a mapping of key: value`);
  const records: KvRecord[] = [];
  // Checked here rather than with yaml's uniqueKeys, which compares every pair with every other.
  const seen = new Set<string>();
  for (const pair of contents.items) {
    const keyNode = resolve(document, pair.key as Node | null);
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string')
      throw new FormatError(`${where(keyNode)}every key must be a plain string`);
    const key = keyNode.value;
    if (seen.has(key)) throw new FormatError(`${where(keyNode)}duplicate key ${quote(key)}`);
    seen.add(key);
    const valueNode = resolve(document, pair.value as Node | null);
    try {
      records.push(recordFromYamlValue(document, key, valueNode));
    } catch (error) {
      if (error instanceof FormatError) throw new FormatError(`${where(valueNode ?? keyNode)}${error.message}`);
      throw error;
    }
  }
  return records;
}

function recordFromYamlValue(document: Document, key: string, node: Node | null): KvRecord {
  // `key:` with nothing after it is the empty string, as the seed stored it.
  if (node === null) return { key, value: Buffer.alloc(0), contentType: null, expires: null };
  if (isScalar(node)) return { key, value: Buffer.from(String(node.value), 'utf8'), contentType: null, expires: null };
  if (!isMap(node))
    throw new FormatError(
      `key ${quote(key)}: the value must be text or a mapping {value, encoding, contentType, expires}`,
    );
  const fields: Record<string, unknown> = {};
  for (const pair of node.items) {
    const fieldNode = resolve(document, pair.key as Node | null);
    const valueNode = resolve(document, pair.value as Node | null);
    if (!isScalar(fieldNode)) throw new FormatError(`key ${quote(key)}: field names must be plain strings`);
    if (valueNode !== null && !isScalar(valueNode))
      throw new FormatError(`key ${quote(key)}: field ${quote(String(fieldNode.value))} must be a scalar`);
    fields[String(fieldNode.value)] = scalarField(valueNode);
  }
  return recordFromFields(key, explicitFieldsOf(key, fields));
}

/** A field scalar; an unquoted null word means "none" (contentType: null), as in YAML's core schema. */
function scalarField(node: Node | null): string | null {
  if (node === null || !isScalar(node)) return null;
  const text = String(node.value);
  return node.type === 'PLAIN' && NULL_WORDS.has(text) ? null : text;
}

function resolve(document: Document, node: Node | null): Node | null {
  if (node !== null && isAlias(node)) return (node.resolve(document) as Node | undefined) ?? null;
  return node;
}

/** One `key: value` entry; `quoted` double-quotes every string, which escapes what plain style cannot hold. */
function pairText(key: string, value: ValueDocument, quoted: boolean): string {
  if (!quoted) return stringify(new Map([[key, value]]), STRINGIFY_OPTIONS);
  const doubleQuoted = (text: string) => Object.assign(new Scalar(text), { type: Scalar.QUOTE_DOUBLE });
  const node = typeof value === 'string' ? doubleQuoted(value) : { ...value, value: doubleQuoted(value.value) };
  return stringify(new Map<unknown, unknown>([[doubleQuoted(key), node]]), STRINGIFY_OPTIONS);
}

function sameRecord(a: KvRecord, b: KvRecord | undefined): boolean {
  return (
    b !== undefined &&
    a.key === b.key &&
    a.value.equals(b.value) &&
    a.contentType === b.contentType &&
    a.expires === b.expires
  );
}

function roundTrips(text: string, record: KvRecord): boolean {
  try {
    const parsed = parseYamlRecords(text);
    return parsed.length === 1 && sameRecord(record, parsed[0]);
  } catch {
    return false;
  }
}

export function yamlRecordText(record: KvRecord): string {
  const attempts: [ValueDocument, boolean][] = [
    [toValueDocument(record), false],
    [toValueDocument(record), true],
    [toValueDocument(record, true), true],
  ];
  for (const [value, quoted] of attempts) {
    const text = pairText(record.key, value, quoted);
    if (roundTrips(text, record)) return text;
  }
  throw new FormatError(`key ${quote(record.key)} cannot be written as YAML exactly; export as ndjson or json instead`);
}

class YamlWriter implements RecordWriter {
  begin(): string {
    return '# kvs export. Each entry is `key: text`, or `key: {value, encoding: utf8|base64, contentType, expires}`.\n';
  }

  write(record: KvRecord): string {
    return yamlRecordText(record);
  }

  end(): string {
    return '';
  }
}

export const yamlFormat: Format = {
  name: 'yaml',
  extensions: ['.yaml', '.yml'],
  createWriter: () => new YamlWriter(),
  async *read(input: Readable) {
    yield* parseYamlRecords(await readAllText(input));
  },
};
