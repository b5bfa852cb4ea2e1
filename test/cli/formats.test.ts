// Export/import formats on their own (no server): exact round trips of random records, the
// seed's plain YAML, and clear errors for malformed files.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import {
  formatByName,
  formatFromPath,
  formats,
  FormatError,
  type Format,
  type KvRecord,
} from '../../src/cli/formats/index.js';

async function readAll(format: Format, text: string): Promise<KvRecord[]> {
  const records: KvRecord[] = [];
  for await (const record of format.read(Readable.from([Buffer.from(text, 'utf8')]))) records.push(record);
  return records;
}

function writeAll(format: Format, records: readonly KvRecord[]): string {
  const writer = format.createWriter();
  return writer.begin() + records.map((record) => writer.write(record)).join('') + writer.end();
}

function plain(records: readonly KvRecord[]) {
  return records.map((record) => ({ ...record, value: record.value.toString('hex') }));
}

// Pieces that are hard for YAML: indicators, line breaks of every kind, BOM, NUL, null words.
const awkward = fc.constantFrom(
  ' ',
  '  ',
  '\n',
  '\r',
  '\r\n',
  '\t',
  '#',
  ': ',
  '- ',
  '"',
  "'",
  '\\',
  '|',
  '>',
  '---',
  '...',
  '\u0085',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\u0000',
  '\u007f',
  '\u001b',
  'null',
  '~',
  'true',
  'yes',
  '0x1F',
  '007',
  '1e3',
  '.inf',
  '&a',
  '*a',
  '!',
  '%',
  '@',
  '`',
  '{',
  '}',
  '[',
  ']',
  ',',
  '?',
  '<<',
  'é',
  '😀',
  '\ud7ff',
  '\ue000',
  '\uffff',
  'a',
);
const awkwardText = fc.array(awkward, { maxLength: 8 }).map((parts) => parts.join(''));
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), awkwardText);
const key = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  awkwardText.filter((text) => text.length > 0),
);
const value = fc.oneof(
  anyText.map((text) => Buffer.from(text, 'utf8')),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
);
const record: fc.Arbitrary<KvRecord> = fc.record({
  key,
  value,
  contentType: fc.option(
    fc.oneof(
      fc.constantFrom('application/json', 'image/png', 'text/plain; charset=utf-8', 'null'),
      fc.string({ maxLength: 20 }),
    ),
    { nil: null },
  ),
  expires: fc.option(fc.integer({ min: 0, max: 4_102_444_800_000 }), { nil: null }),
});
const records = fc.uniqueArray(record, { selector: (item) => item.key, maxLength: 12 });

describe('export/import formats', () => {
  for (const format of formats) {
    it(`${format.name}: random records (binary values, unicode keys, metadata) round-trip exactly`, async () => {
      await fc.assert(
        fc.asyncProperty(records, async (input) => {
          const text = writeAll(format, input);
          assert.deepEqual(plain(await readAll(format, text)), plain(input));
        }),
        { numRuns: 300 },
      );
    });

    it(`${format.name}: an empty export reads back as no records`, async () => {
      assert.deepEqual(await readAll(format, writeAll(format, [])), []);
    });
  }

  it('yaml: plain text values are written as `key: value` lines', () => {
    const yaml = formatByName('yaml')!;
    const text = writeAll(yaml, [
      { key: 'greeting', value: Buffer.from('hello world'), contentType: null, expires: null },
      { key: 'tv/position', value: Buffer.from('1234'), contentType: null, expires: null },
    ]);
    const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    assert.deepEqual(lines, ['greeting: hello world', 'tv/position: "1234"']);
  });

  it('yaml: binary values, content types and expiry use the explicit form', async () => {
    const yaml = formatByName('yaml')!;
    const input: KvRecord[] = [
      { key: 'blob', value: Buffer.from([0xff, 0x00, 0xfe]), contentType: 'application/octet-stream', expires: null },
      { key: 'session', value: Buffer.from('abc'), contentType: null, expires: Date.UTC(2030, 0, 2, 3, 4, 5, 678) },
    ];
    const text = writeAll(yaml, input);
    assert.match(text, /blob:\n {2}value: \/wD\+\n {2}encoding: base64\n {2}contentType: application\/octet-stream\n/);
    assert.match(text, /session:\n {2}value: abc\n {2}expires: 2030-01-02T03:04:05\.678Z\n/);
    assert.deepEqual(plain(await readAll(yaml, text)), plain(input));
  });

  it('yaml: a seed file of plain `key: value` lines imports as-is (every scalar is text)', async () => {
    const seed = [
      'position: 1234',
      'leading: 007',
      'flag: yes',
      'nothing: null',
      'tilde: ~',
      'empty:',
      'float: 1.50',
      'quoted: "two words"',
      "single: 'it''s'",
      'url: http://example.com/a?b=c',
      'show/episode: S01E02',
      'unicode: héllo wörld ✓',
      'multi: |',
      '  line one',
      '  line two',
      '',
    ].join('\n');
    const imported = await readAll(formatByName('yaml')!, seed);
    const asText = Object.fromEntries(imported.map((item) => [item.key, item.value.toString('utf8')]));
    assert.deepEqual(asText, {
      position: '1234',
      leading: '007',
      flag: 'yes',
      nothing: 'null',
      tilde: '~',
      empty: '',
      float: '1.50',
      quoted: 'two words',
      single: "it's",
      url: 'http://example.com/a?b=c',
      'show/episode': 'S01E02',
      unicode: 'héllo wörld ✓',
      multi: 'line one\nline two\n',
    });
    assert.ok(imported.every((item) => item.contentType === null && item.expires === null));
  });

  it('yaml: an unquoted null in the explicit form means none; a quoted one is text', async () => {
    const yaml = formatByName('yaml')!;
    const [a, b] = await readAll(yaml, 'a: {value: x, contentType: null}\nb: {value: x, contentType: "null"}\n');
    assert.equal(a!.contentType, null);
    assert.equal(b!.contentType, 'null');
  });

  const malformed: [string, string, RegExp][] = [
    ['yaml', '- a\n- b\n', /mapping/],
    ['yaml', 'a: 1\na: 2\n', /unique|duplicate/i],
    ['yaml', 'a: {value: x, encodng: base64}\n', /line 1.*unknown field "encodng"/],
    ['yaml', 'a: ok\nb: {value: "***", encoding: base64}\n', /line 2.*not valid base64/],
    ['yaml', 'a: {value: x, expires: soon}\n', /expires/],
    ['yaml', 'a: [1, 2]\n', /must be text or a mapping/],
    ['json', '[1]', /object/],
    ['json', '{"a": 3}', /string or an object/],
    ['json', '{"a": {"value": "x", "encoding": "hex"}}', /utf8 or base64/],
    ['ndjson', '{"key":"a","value":"x"}\n{"key":"b"}\n', /line 2: .*"value" must be a string/],
    ['ndjson', '{"key":"a","value":"x"}\nnot json\n', /line 2: not valid JSON/],
  ];
  for (const [name, text, message] of malformed) {
    it(`${name}: rejects ${JSON.stringify(text.slice(0, 40))} with a clear message`, async () => {
      await assert.rejects(
        readAll(formatByName(name)!, text),
        (error: unknown) => error instanceof FormatError && message.test(error.message),
      );
    });
  }

  it('ndjson: reads records without optional fields and skips blank lines', async () => {
    const read = await readAll(
      formatByName('ndjson')!,
      '{"key":"a","value":"x"}\n\n{"key":"b","value":"/w==","encoding":"base64","expires":"2030-01-01T00:00:00Z"}\n',
    );
    assert.deepEqual(plain(read), [
      { key: 'a', value: '78', contentType: null, expires: null },
      { key: 'b', value: 'ff', contentType: null, expires: Date.UTC(2030, 0, 1) },
    ]);
  });

  it('guesses the format from the file name', () => {
    assert.equal(formatFromPath('backup.yaml')?.name, 'yaml');
    assert.equal(formatFromPath('backup.YML')?.name, 'yaml');
    assert.equal(formatFromPath('/tmp/x.json')?.name, 'json');
    assert.equal(formatFromPath('x.ndjson')?.name, 'ndjson');
    assert.equal(formatFromPath('x.jsonl')?.name, 'ndjson');
    assert.equal(formatFromPath('x.txt'), undefined);
  });
});
