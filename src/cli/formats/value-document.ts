// The value side of the YAML and JSON export formats, shared by both:
//   key: text                                   -> UTF-8 text, no content type, no expiry
//   key: {value, encoding, contentType, expires} -> everything else, exactly
// `encoding` is utf8 (default) or base64; `contentType` and `expires` (ISO 8601, ms precision)
// are omitted when the key has none.

import { isUtf8 } from 'node:buffer';
import { FormatError, quote, type KvRecord } from './record.js';

export type ValueEncoding = 'utf8' | 'base64';

export interface ExplicitValue {
  value: string;
  encoding?: ValueEncoding;
  contentType?: string;
  expires?: string;
}

export type ValueDocument = string | ExplicitValue;

const EXPLICIT_FIELDS = new Set(['value', 'encoding', 'contentType', 'expires']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The value document for a record; `forceBase64` when text would not survive the format. */
export function toValueDocument(record: KvRecord, forceBase64 = false): ValueDocument {
  const text = !forceBase64 && isUtf8(record.value);
  if (text && record.contentType === null && record.expires === null) return record.value.toString('utf8');
  const explicit: ExplicitValue = text
    ? { value: record.value.toString('utf8') }
    : { value: record.value.toString('base64'), encoding: 'base64' };
  if (record.contentType !== null) explicit.contentType = record.contentType;
  if (record.expires !== null) explicit.expires = new Date(record.expires).toISOString();
  return explicit;
}

/** Fields of an explicit value as read from a file; null means "none". */
export interface ExplicitFields {
  readonly value: unknown;
  readonly encoding: unknown;
  readonly contentType: unknown;
  readonly expires: unknown;
}

export function explicitFieldsOf(key: string, object: Record<string, unknown>): ExplicitFields {
  for (const field of Object.keys(object)) {
    if (!EXPLICIT_FIELDS.has(field)) {
      throw new FormatError(
        `key ${quote(key)}: unknown field ${quote(field)} (expected value, encoding, contentType, expires)`,
      );
    }
  }
  return {
    value: object.value,
    encoding: object.encoding ?? null,
    contentType: object.contentType ?? null,
    expires: object.expires ?? null,
  };
}

export function recordFromFields(key: string, fields: ExplicitFields): KvRecord {
  if (typeof fields.value !== 'string') throw new FormatError(`key ${quote(key)}: "value" must be a string`);
  const encoding = fields.encoding ?? 'utf8';
  let value: Buffer;
  if (encoding === 'utf8') {
    value = Buffer.from(fields.value, 'utf8');
  } else if (encoding === 'base64') {
    const compact = fields.value.replace(/\s+/g, '');
    if (!BASE64.test(compact)) throw new FormatError(`key ${quote(key)}: "value" is not valid base64`);
    value = Buffer.from(compact, 'base64');
  } else {
    throw new FormatError(`key ${quote(key)}: "encoding" must be utf8 or base64`);
  }
  if (fields.contentType !== null && typeof fields.contentType !== 'string') {
    throw new FormatError(`key ${quote(key)}: "contentType" must be a string`);
  }
  return { key, value, contentType: fields.contentType, expires: parseExpires(key, fields.expires) };
}

/** Expiry as ISO 8601 text, or ms since the epoch. */
export function parseExpires(key: string, expires: unknown): number | null {
  if (expires === null) return null;
  const ms =
    typeof expires === 'number'
      ? expires
      : typeof expires === 'string'
        ? /^\d+$/.test(expires)
          ? Number(expires)
          : Date.parse(expires)
        : NaN;
  if (!Number.isSafeInteger(ms)) throw new FormatError(`key ${quote(key)}: "expires" must be an ISO 8601 time`);
  return ms;
}

/** Reads a value document (plain text or the explicit object) of JSON. */
export function recordFromValueDocument(key: string, document: unknown): KvRecord {
  if (typeof document === 'string')
    return { key, value: Buffer.from(document, 'utf8'), contentType: null, expires: null };
  if (typeof document === 'object' && document !== null && !Array.isArray(document)) {
    return recordFromFields(key, explicitFieldsOf(key, document as Record<string, unknown>));
  }
  throw new FormatError(
    `key ${quote(key)}: the value must be a string or an object {value, encoding, contentType, expires}`,
  );
}
