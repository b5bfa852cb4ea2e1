// How values and metadata are shown: relative times, sizes, text detection, hex and base64.

import { relativeTime } from './model/relative-time.js';

/** A <time> element that the page keeps up to date (see refreshRelativeTimes). */
export function timeElement(date: Date): HTMLTimeElement {
  const time = document.createElement('time');
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.dataset.relative = '';
  time.textContent = relativeTime(date.getTime(), Date.now());
  return time;
}

export function refreshRelativeTimes(root: ParentNode = document): void {
  const now = Date.now();
  for (const time of root.querySelectorAll<HTMLTimeElement>('time[data-relative]')) {
    time.textContent = relativeTime(new Date(time.dateTime).getTime(), now);
  }
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(size < 10 * 1024 ? 1 : 0)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|ecmascript|yaml|x-yaml|toml|x-www-form-urlencoded|csv|sql|graphql)\b|[^;]*\+(json|xml|yaml)\b)/i;
const declaredBinary = (contentType: string) => !TEXT_TYPES.test(contentType.trim());
// Control characters other than tab, newline, form feed and carriage return mark binary data.
const CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f]/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The value as text, or null when it should be shown as binary: a declared binary type
 * (image/png, application/octet-stream, ...), bytes that are not UTF-8, or control characters.
 */
export function textOf(bytes: Uint8Array, contentType: string | null): string | null {
  if (contentType !== null && contentType !== '' && declaredBinary(contentType)) return null;
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return null;
  }
  return CONTROL.test(text) ? null : text;
}

const HEX_BYTES_SHOWN = 4096;

/** A classic hex dump (offset, 16 bytes, printable ASCII) of the first 4 KiB. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, HEX_BYTES_SHOWN);
  for (let offset = 0; offset < end; offset += 16) {
    const row = bytes.subarray(offset, Math.min(offset + 16, end));
    const hex = Array.from(row, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  if (bytes.length > end) lines.push(`… ${bytes.length - end} more bytes (download to see all)`);
  return lines.join('\n');
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + chunk));
  }
  return btoa(binary);
}

/** A file name for downloading a key's value: its last path segment, made safe. */
export function downloadName(key: string): string {
  const last =
    key
      .split('/')
      .filter((part) => part !== '')
      .pop() ?? 'value';
  const safe = last.replace(/[^\w.-]+/g, '_').slice(0, 100);
  return safe === '' || /^[._]+$/.test(safe) ? 'value.bin' : safe;
}
