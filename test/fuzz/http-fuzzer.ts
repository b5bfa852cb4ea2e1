// HTTP fuzzer: requests generated from the server's own /openapi.json (every path, method,
// parameter and JSON body schema; valid values and mutated ones), the seed routes, and raw
// malformed HTTP over node:net. Invariants (docs/errors.md, docs/limits.md): no 5xx except the
// documented 503/507, the process stays alive, /healthz answers, no request hangs, RSS stays
// bounded, and acknowledged writes on a dedicated key prefix match the store at the end (a refused
// txn or seed POST saved nothing). Follows test/fuzz/fuzz-options.ts: seeded, bounded in cases and
// time, returns findings instead of throwing.

import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { rssBytes, type FuzzFinding, type FuzzOptions, type FuzzReport } from './fuzz-options.js';

export interface FuzzTarget {
  readonly url: string;
  readonly pid: number;
  readonly token: string;
}

/** Keys of the write model: written only by requests whose effect the fuzzer can compute. */
export const MODEL_PREFIX = 'fz/m/';
/** Cases generated at once. */
const CASE_BATCH = 500;
/** Where every other generated write goes (plus random keys). */
const GARBAGE_PREFIX = 'fz/g/';
const MODEL_KEYS = 12;
/** Client-side bound of one request; no answer by then is a 'hang' finding. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Server RSS above this is an 'rss' finding: a few MiB bodies must not pile up. */
export const RSS_LIMIT_BYTES = 768 * 1024 * 1024;
const CHECK_EVERY = 25;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface JsonSchema {
  readonly type?: string | string[];
  readonly enum?: readonly Json[];
  readonly const?: Json;
  readonly anyOf?: readonly JsonSchema[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly format?: string;
}

interface OpenApiParameter {
  readonly name: string;
  readonly in: string;
  readonly schema: JsonSchema;
}

interface OpenApiOperation {
  readonly parameters?: readonly OpenApiParameter[];
  readonly requestBody?: { readonly content?: Readonly<Record<string, { readonly schema: JsonSchema }>> };
}

type OpenApi = { readonly paths: Readonly<Record<string, Readonly<Record<string, OpenApiOperation>>>> };

/** A body too big to generate up front: `count` copies of `unit`. */
interface RepeatedBody {
  readonly unit: string;
  readonly count: number;
}

/** What a 2xx answer did to the model keys. */
type ModelEffect = { readonly key: string; readonly value: string | null; readonly known: boolean }[];

interface HttpCase {
  readonly kind: 'http';
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | RepeatedBody;
  /** Watch streams: read a little, then abort. */
  readonly stream?: boolean;
  /** Set on model writes: applied to the model when the answer is 2xx. */
  readonly effect?: ModelEffect;
}

interface RawCase {
  readonly kind: 'raw';
  readonly bytes: string;
}

type FuzzCase = HttpCase | RawCase;

// ---- generators ---------------------------------------------------------------------------

const ODD_ESCAPES = [
  '%FF',
  '%',
  '%2',
  '%zz',
  '%ED%A0%80',
  '%C3%28',
  '%00',
  '%2F..%2F',
  '%E2%82',
  '%F0%9F%98',
  '+',
  '%25',
  '%C0%AF',
];
const HUGE_NUMBERS = [
  '1e308',
  '9e15',
  '-1',
  'NaN',
  'Infinity',
  '-0',
  '9007199254740993',
  '18446744073709551616',
  '0x10',
  '1.5',
  ' 5',
  '',
];

/** encodeURIComponent, except that a lone surrogate (which it refuses) becomes the escape of its WTF-8 bytes. */
function encodeText(text: string): string {
  let encoded = '';
  for (const char of text) {
    try {
      encoded += encodeURIComponent(char);
    } catch {
      encoded += [...Buffer.from([0xed, 0xa0 | ((char.charCodeAt(0) >> 6) & 0x1f), 0x80 | (char.charCodeAt(0) & 0x3f)])]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`)
        .join('');
    }
  }
  return encoded;
}

const garbageKey = fc.oneof(
  fc.string({ maxLength: 12 }).map((text) => GARBAGE_PREFIX + text),
  fc.string({ unit: 'binary', maxLength: 8 }).map((text) => GARBAGE_PREFIX + text),
  fc.constantFrom('', ' ', 'a', '\u0000', '\uD800', 'a'.repeat(1100), 'é', '\u{1F600}', 'fz/', '/', '..', 'k,k2'),
);

/** A key as URL text: properly encoded, or with odd escapes mixed in. */
const encodedKey = fc.oneof(
  { weight: 3, arbitrary: garbageKey.map((key) => encodeText(key)) },
  {
    weight: 1,
    arbitrary: fc.tuple(garbageKey, fc.constantFrom(...ODD_ESCAPES)).map(([key, odd]) => encodeText(key) + odd),
  },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_ESCAPES) },
);

const junkJson: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    1e308,
    9e15,
    -1,
    'NaN',
    'Infinity',
    null,
    true,
    false,
    [],
    {},
    '',
    2 ** 53,
    0.5,
    '1e308',
    'x'.repeat(5000),
  ),
  fc.string({ maxLength: 10 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

function keyName(name: string): boolean {
  return name === 'key' || name === 'k' || name === 'prefix' || name === 'after';
}

/** Valid values of a schema (approximately: patterns and formats as far as fast-check can). */
function fromSchema(schema: JsonSchema, name = ''): fc.Arbitrary<Json> {
  if (schema.enum !== undefined && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.anyOf !== undefined && schema.anyOf.length > 0)
    return fc.oneof(...schema.anyOf.map((branch) => fromSchema(branch, name)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      if (keyName(name)) return garbageKey;
      if (schema.pattern !== undefined) return fc.stringMatching(new RegExp(schema.pattern), { maxLength: 12 });
      if (schema.format === 'date-time')
        return fc
          .date({ min: new Date(0), max: new Date(4_102_444_800_000), noInvalidDate: true })
          .map((date) => date.toISOString());
      return fc.string({ maxLength: 16 });
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -1000, -1e9),
        max: Math.min(schema.maximum ?? 1e9, 2 ** 31 - 1),
      });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(schema.items === undefined ? junkJson : fromSchema(schema.items, name), { maxLength: 4 });
    case 'object': {
      const properties = Object.entries(schema.properties ?? {});
      const record = fc.record(Object.fromEntries(properties.map(([key, value]) => [key, fromSchema(value, key)])), {
        requiredKeys: (schema.required ?? []).filter((key) => schema.properties?.[key] !== undefined),
      }) as fc.Arbitrary<{ [key: string]: Json }>;
      const extra = schema.additionalProperties;
      if (typeof extra === 'object') {
        return fc
          .tuple(record, fc.dictionary(garbageKey, fromSchema(extra), { maxKeys: 4 }))
          .map(([fixed, more]) => ({ ...more, ...fixed }));
      }
      return record;
    }
    default:
      return junkJson;
  }
}

/** Every node of a JSON value, for choosing where to mutate. */
function nodes(value: Json, into: Json[] = []): Json[] {
  into.push(value);
  if (Array.isArray(value)) for (const item of value) nodes(item, into);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) nodes(item, into);
  return into;
}

type Mutation = 'replace' | 'extra-field' | 'drop-field' | 'wrap-array';

/** A copy of `value` with one mutation at the node chosen by `at`. */
function mutate(value: Json, at: number, mutation: Mutation, junk: Json): Json {
  const copy = JSON.parse(JSON.stringify(value)) as Json;
  const all = nodes(copy);
  const target = all[at % all.length]!;
  if (target === copy && mutation === 'replace') return junk;
  if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
    const keys = Object.keys(target);
    if (mutation === 'extra-field') target.zz_unknown = junk;
    else if (mutation === 'drop-field' && keys.length > 0) delete target[keys[at % keys.length]!];
    else if (keys.length > 0)
      target[keys[at % keys.length]!] = mutation === 'wrap-array' ? [target[keys[at % keys.length]!]!] : junk;
    return copy;
  }
  if (Array.isArray(target) && target.length > 0) target[at % target.length] = junk;
  return copy;
}

function jsonBodyArbitrary(schema: JsonSchema): fc.Arbitrary<string | RepeatedBody> {
  const valid = fromSchema(schema);
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((value) => JSON.stringify(value)) },
    {
      weight: 5,
      arbitrary: fc
        .tuple(
          valid,
          fc.nat(),
          fc.constantFrom<Mutation>('replace', 'extra-field', 'drop-field', 'wrap-array'),
          junkJson,
        )
        .map(([value, at, mutation, junk]) => JSON.stringify(mutate(value, at, mutation, junk))),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '{',
        '{"a":',
        'null',
        '[]',
        '"x"',
        '1e308',
        '{"__proto__":{"x":1}}',
        '\u0000',
        '{"a":"\uD800"}',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<RepeatedBody>(
        { unit: 'a', count: 3 * 1024 * 1024 },
        { unit: '{"operations":[', count: 1 },
        { unit: '[', count: 100_000 },
      ),
    },
  );
}

const headerValues: Record<string, fc.Arbitrary<string>> = {
  'if-match': fc.oneof(
    fc.nat({ max: 5 }).map((n) => `"${n}"`),
    fc.constantFrom('*', 'W/"1"', '"1e308"', '"9007199254740993"', 'garbage', '"-1"', '""', '1, 2'),
  ),
  'if-none-match': fc.constantFrom('*', '"1"', 'x'),
  range: fc.constantFrom(
    'bytes=0-3',
    'bytes=5-1',
    'bytes=999999-',
    'bytes=-0',
    'bytes=0-0,1-1,2-2',
    'items=0-1',
    'bytes=',
  ),
  'last-event-id': fc.constantFrom('0', '1', '1e308', '9e15', '-1', 'NaN', '99999999999999999999', 'abc', ''),
  'content-type': fc.constantFrom(
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    'text/html',
    'a/b; c="',
    '*/*',
    'application/octet-stream',
    'x'.repeat(300),
  ),
  accept: fc.constantFrom('text/event-stream', '*/*', 'application/json'),
  'accept-encoding': fc.constantFrom('gzip', 'br', 'identity;q=0'),
};

function headersArbitrary(token: string): fc.Arbitrary<Record<string, string>> {
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.constant(`Bearer ${token}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('Bearer ', 'Bearer wrong-token', 'Basic YTpi', token, `Bearer ${token} extra`),
    },
  );
  return fc.record({ authorization, ...headerValues }, { requiredKeys: [] }) as fc.Arbitrary<Record<string, string>>;
}

function queryValue(schema: JsonSchema, name: string): fc.Arbitrary<string> {
  const valid = fromSchema(schema, name).map((value) =>
    encodeText(typeof value === 'string' ? value : JSON.stringify(value)),
  );
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 1, arbitrary: fc.constantFrom(...HUGE_NUMBERS).map((text) => encodeText(text)) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_ESCAPES) },
  );
}

/** Requests for one OpenAPI operation: its parameters and body from the schemas, mutated. */
function operationArbitrary(
  path: string,
  method: string,
  operation: OpenApiOperation,
  token: string,
): fc.Arbitrary<FuzzCase> {
  const query = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query');
  const queryArbitrary = fc
    .tuple(
      ...query.map((parameter) =>
        fc
          .option(queryValue(parameter.schema, parameter.name), { nil: undefined })
          .map((value) => [parameter.name, value] as const),
      ),
      fc.option(
        fc.tuple(fc.constantFrom('zz', 'k', 'limit', '%FF', ''), fc.constantFrom(...HUGE_NUMBERS, ...ODD_ESCAPES)),
        { nil: undefined },
      ),
    )
    .map((pairs) =>
      pairs
        .filter((pair): pair is readonly [string, string] => pair !== undefined && pair[1] !== undefined)
        .map(([name, value]) => `${name}=${value}`)
        .join('&'),
    );
  const pathArbitrary = path.includes('{*}') ? encodedKey.map((key) => path.replace('{*}', key)) : fc.constant(path);
  const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
  const body: fc.Arbitrary<string | RepeatedBody | undefined> =
    bodySchema !== undefined
      ? jsonBodyArbitrary(bodySchema)
      : method === 'put'
        ? fc.oneof(
            fc.string({ maxLength: 64 }),
            fc.constantFrom<string | RepeatedBody>('', { unit: 'v', count: 2 * 1024 * 1024 }, '<script>x</script>'),
          )
        : fc.constant(undefined);
  const methods = method === 'get' ? fc.constantFrom('GET', 'GET', 'GET', 'HEAD') : fc.constant(method.toUpperCase());
  return fc
    .record({ path: pathArbitrary, query: queryArbitrary, headers: headersArbitrary(token), body, method: methods })
    .map(({ path: fullPath, query: text, headers, body: sent, method: verb }) => {
      const jsonType: Record<string, string> =
        bodySchema !== undefined && headers['content-type'] === undefined ? { 'content-type': 'application/json' } : {};
      return {
        kind: 'http',
        method: verb,
        path: text === '' ? fullPath : `${fullPath}?${text}`,
        headers: { ...jsonType, ...headers },
        ...(sent === undefined || verb === 'HEAD' || verb === 'GET' ? {} : { body: sent }),
        stream: fullPath.startsWith('/v1/watch'),
      } satisfies HttpCase;
    });
}

const modelKey = fc.nat({ max: MODEL_KEYS - 1 }).map((index) => `${MODEL_PREFIX}${index}`);
const modelValue = fc.oneof(fc.string({ maxLength: 24 }), fc.constantFrom('', 'é', '\u{1F600}', 'a b&c=d%', '+'));

/** A ttl that cannot run out during a campaign (so the model knows the value), or none. */
const safeTtl = fc.option(fc.constantFrom(86_400, 3_155_760_000), { nil: undefined });

/** Poison that must make a whole multi-key write fail (nothing saved). */
const poisonOperation = fc.constantFrom<Json>(
  { op: 'put', key: '', value: 'x' },
  { op: 'put', key: 'k'.repeat(5000), value: 'x' },
  { op: 'put', key: `${MODEL_PREFIX}0`, value: 'x', tll: 5 },
  { op: 'put', key: `${MODEL_PREFIX}0`, value: 5 },
  { op: 'put', key: `${MODEL_PREFIX}0`, value: 'x', ttl: 1e13 },
  { op: 'put', key: `${MODEL_PREFIX}0`, value: 'x', expires: 'not a date' },
  { op: 'nop', key: `${MODEL_PREFIX}0` },
);

function modelWriteArbitrary(token: string): fc.Arbitrary<FuzzCase> {
  const auth = { authorization: `Bearer ${token}` };
  const put = fc
    .record({
      key: modelKey,
      value: modelValue,
      ttl: safeTtl,
      ifMatch: fc.option(fc.nat({ max: 4 }), { nil: undefined }),
      create: fc.boolean(),
    })
    .map(
      ({ key, value, ttl, ifMatch, create }): FuzzCase => ({
        kind: 'http',
        method: 'PUT',
        path: `/v1/kv/${encodeText(key)}${ttl === undefined ? '' : `?ttl=${ttl}`}`,
        headers: {
          ...auth,
          'content-type': 'text/plain',
          ...(ifMatch === undefined ? {} : { 'if-match': `"${ifMatch}"` }),
          ...(create ? { 'if-none-match': '*' } : {}),
        },
        body: value,
        effect: [{ key, value, known: true }],
      }),
    );
  const remove = fc.record({ key: modelKey, ifMatch: fc.option(fc.nat({ max: 4 }), { nil: undefined }) }).map(
    ({ key, ifMatch }): FuzzCase => ({
      kind: 'http',
      method: 'DELETE',
      path: `/v1/kv/${encodeText(key)}`,
      headers: { ...auth, ...(ifMatch === undefined ? {} : { 'if-match': `"${ifMatch}"` }) },
      effect: [{ key, value: null, known: true }],
    }),
  );
  const operation = fc.record({ key: modelKey, value: modelValue, remove: fc.boolean(), base64: fc.boolean() });
  const txn = fc
    .record({
      operations: fc.array(operation, { minLength: 1, maxLength: 4 }),
      poison: fc.option(poisonOperation, { nil: undefined }),
      check: fc.option(fc.tuple(modelKey, fc.nat({ max: 3 })), { nil: undefined }),
    })
    .map(({ operations, poison, check }): FuzzCase => {
      const sent: Json[] = operations.map(
        (op): Json =>
          op.remove
            ? { op: 'delete', key: op.key }
            : op.base64
              ? { op: 'put', key: op.key, value: Buffer.from(op.value).toString('base64'), encoding: 'base64' }
              : { op: 'put', key: op.key, value: op.value },
      );
      if (poison !== undefined) sent.splice(sent.length >> 1, 0, poison);
      // Later operations on a key win; the model applies them in order.
      return {
        kind: 'http',
        method: 'POST',
        path: '/v1/txn',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          ...(check === undefined ? {} : { checks: [{ key: check[0], version: check[1] }] }),
          operations: sent,
        }),
        effect: operations.map((op) => ({ key: op.key, value: op.remove ? null : op.value, known: true })),
      };
    });
  const seedPost = fc
    .record({
      pairs: fc.array(fc.tuple(modelKey, modelValue), { minLength: 1, maxLength: 4 }),
      poison: fc.option(fc.constantFrom(`${'k'.repeat(5000)}=x`, '=x', '%FF=x'), { nil: undefined }),
    })
    .map(({ pairs, poison }): FuzzCase => {
      const encoded = pairs.map(([key, value]) => `${encodeText(key)}=${encodeURIComponent(value)}`);
      if (poison !== undefined) encoded.push(poison);
      encoded.push(`auth=${encodeURIComponent(token)}`);
      return {
        kind: 'http',
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: encoded.join('&'),
        // A repeated name saves its last value; keys are distinct per pair order in the model.
        effect: pairs.map(([key, value]) => ({ key, value, known: true })),
      };
    });
  return fc.oneof(
    { weight: 3, arbitrary: put },
    { weight: 2, arbitrary: remove },
    { weight: 3, arbitrary: txn },
    { weight: 2, arbitrary: seedPost },
  );
}

function rawArbitrary(token: string): fc.Arbitrary<FuzzCase> {
  const host = 'Host: fuzz\r\n';
  const auth = `Authorization: Bearer ${token}\r\n`;
  const templates = [
    'GARBAGE\r\n\r\n',
    'GET / HTTP/9.9\r\n\r\n',
    'GET /v1/kv/a HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
    `GET / HTTP/1.1\r\n${host}: empty-name\r\n\r\n`,
    `POST /v1/txn HTTP/1.1\r\n${host}${auth}Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    `POST / HTTP/1.1\r\n${host}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    `PUT /v1/kv/${GARBAGE_PREFIX}chunk HTTP/1.1\r\n${host}${auth}Transfer-Encoding: chunked\r\n\r\n5\r\nhel`,
    `PUT /v1/kv/${GARBAGE_PREFIX}chunk HTTP/1.1\r\n${host}${auth}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    `PUT /v1/kv/${GARBAGE_PREFIX}chunk HTTP/1.1\r\n${host}${auth}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    `PUT /v1/kv/${GARBAGE_PREFIX}cl HTTP/1.1\r\n${host}${auth}Content-Length: 10\r\n\r\nshort`,
    `PUT /v1/kv/${GARBAGE_PREFIX}cl HTTP/1.1\r\n${host}${auth}Content-Length: -1\r\n\r\n`,
    `PUT /v1/kv/${GARBAGE_PREFIX}cl HTTP/1.1\r\n${host}${auth}Content-Length: 99999999999999999999\r\n\r\n`,
    `PUT /v1/kv/${GARBAGE_PREFIX}cl HTTP/1.1\r\n${host}${auth}Content-Length: 1e3\r\n\r\n`,
    `GET / HTTP/1.1\r\n${'X-Many: v\r\n'.repeat(3000)}${host}\r\n`,
    `GET / HTTP/1.1\r\n${host}X-Long: ${'a'.repeat(20_000)}\r\n\r\n`,
    `GET /healthz HTTP/1.1\r\n${host}\r\nGARBAGE\r\n\r\n`,
    `GET /healthz HTTP/1.1\r\n${host}\r\n`.repeat(50),
    `GET /\u0000 HTTP/1.1\r\n${host}\r\n`,
    `GET /?k=\u00ff HTTP/1.1\r\n${host}\r\n`,
    `GET /v1/kv/\u00c3\u00a9 HTTP/1.1\r\n${host}\r\n`,
    `GET / HTTP/1.1\r\n${host}X-Fold: a\r\n b\r\n\r\n`,
    'GET / HTTP/1.0\r\n\r\n',
    `POST /v1/txn HTTP/1.1\r\n${host}${auth}Expect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n`,
    `PROPFIND / HTTP/1.1\r\n${host}\r\n`,
    `CONNECT fuzz:443 HTTP/1.1\r\n${host}\r\n`,
    `OPTIONS * HTTP/1.1\r\n${host}\r\n`,
    `GET /v1/watch HTTP/1.1\r\n${host}${auth}Last-Event-ID: 1e308\r\n\r\n`,
    `HEAD /v1/watch HTTP/1.1\r\n${host}${auth}\r\n`,
    `POST / HTTP/1.1\r\n${host}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\na=%FF&b=1GET / HTTP/1.1\r\n\r\n`,
    `GET /v1/kv/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`,
    `\r\n\r\n\r\nGET / HTTP/1.1\r\n${host}\r\n`,
    `GET / HTTP/1.1\n${host.replace('\r', '')}\n`,
  ];
  return fc
    .oneof(
      { weight: 4, arbitrary: fc.constantFrom(...templates) },
      // Random bytes after a plausible request line.
      {
        weight: 1,
        arbitrary: fc
          .string({ unit: 'binary-ascii', maxLength: 200 })
          .map((noise) => `GET / HTTP/1.1\r\n${noise}\r\n\r\n`),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 200 }) },
    )
    .map((bytes): FuzzCase => ({ kind: 'raw', bytes }));
}

function caseArbitrary(api: OpenApi, token: string): fc.Arbitrary<FuzzCase> {
  const operations: fc.Arbitrary<FuzzCase>[] = [];
  for (const [path, methods] of Object.entries(api.paths)) {
    for (const [method, operation] of Object.entries(methods))
      operations.push(operationArbitrary(path, method, operation, token));
  }
  // Routes the schema does not list: the UI, the index page, unknown paths and methods.
  const offSchema = fc
    .record({
      path: fc.constantFrom(
        '/ui/',
        '/ui',
        '/ui/main.js',
        '/ui/%2e%2e/package.json',
        '/nope',
        '/v1',
        '/v1/kv/',
        '/openapi.json',
      ),
      headers: headersArbitrary(token),
      method: fc.constantFrom('GET', 'HEAD', 'PATCH', 'OPTIONS', 'TRACE'),
    })
    .map(({ path, headers, method }): FuzzCase => ({ kind: 'http', method, path, headers }));
  // The seed POST with a JSON body of any shape (the form route reads JSON too).
  const seedJson = fc
    .tuple(
      fc.dictionary(garbageKey, junkJson, { maxKeys: 3 }),
      fc.constantFrom<Json>(token, 5, null, [token], { a: 1 }),
    )
    .map(
      ([pairs, auth]): FuzzCase => ({
        kind: 'http',
        method: 'POST',
        path: '/',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...pairs, auth }),
      }),
    );
  return fc.oneof(
    { weight: 10, arbitrary: fc.oneof(...operations) },
    { weight: 1, arbitrary: seedJson },
    { weight: 4, arbitrary: modelWriteArbitrary(token) },
    { weight: 3, arbitrary: rawArbitrary(token) },
    { weight: 1, arbitrary: offSchema },
  );
}

// ---- sending ------------------------------------------------------------------------------

interface Outcome {
  readonly statuses: number[];
  readonly hang: boolean;
  readonly error?: string;
}

function bodyBytes(body: string | RepeatedBody | undefined): Buffer | undefined {
  if (body === undefined) return undefined;
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.unit.repeat(body.count), 'utf8');
}

function sendRaw(port: number, bytes: Buffer, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      // Only status lines matter; keep the buffer bounded.
      text = (text + chunk).slice(-65_536);
    });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ statuses: statusesOf(text), hang: true });
    }, timeoutMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ statuses: statusesOf(text), hang: false });
    });
    socket.on('connect', () => {
      socket.write(bytes);
      // Half-close: whatever the server still waits for will never come, so it must answer or close.
      socket.end();
    });
  });
}

function statusesOf(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((match) => Number(match[1]));
}

function serializeHead(one: HttpCase, port: number, length: number | undefined): string {
  const lines = [`${one.method} ${one.path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(one.headers)) lines.push(`${name}: ${value}`);
  if (length !== undefined) lines.push(`Content-Length: ${length}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function sendHttp(port: number, one: HttpCase): Promise<Outcome> {
  const body = bodyBytes(one.body);
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    let request: ReturnType<typeof httpRequest>;
    try {
      request = httpRequest({
        host: '127.0.0.1',
        port,
        method: one.method,
        path: one.path,
        headers: {
          ...one.headers,
          connection: 'close',
          ...(body === undefined ? {} : { 'content-length': String(body.length) }),
        },
        agent: false,
      });
    } catch {
      // The client refuses to send it (a character Node's client rejects): send the bytes raw.
      const head = Buffer.from(serializeHead(one, port, body?.length), 'latin1');
      void sendRaw(port, body === undefined ? head : Buffer.concat([head, body])).then(finish);
      return;
    }
    timer = setTimeout(() => {
      request.destroy();
      finish({ statuses: [], hang: true });
    }, REQUEST_TIMEOUT_MS);
    request.on('error', (error) => finish({ statuses: [], hang: false, error: error.message }));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (one.stream === true && status === 200) {
        // A watch: one chunk (or a moment), then abort; a live stream is not a hang.
        const stop = () => {
          request.destroy();
          finish({ statuses: [status], hang: false });
        };
        response.once('data', stop);
        setTimeout(stop, 300).unref();
        return;
      }
      response.resume();
      response.on('end', () => finish({ statuses: [status], hang: false }));
      response.on('error', () => finish({ statuses: [status], hang: false }));
      response.on('close', () => finish({ statuses: [status], hang: false }));
    });
    request.end(body);
  });
}

// ---- invariants and the campaign ------------------------------------------------------------

function describeCase(one: FuzzCase): string {
  if (one.kind === 'raw')
    return `RAW ${JSON.stringify(one.bytes.length > 400 ? `${one.bytes.slice(0, 400)}…(${one.bytes.length} bytes)` : one.bytes)}`;
  const body =
    one.body === undefined
      ? ''
      : typeof one.body === 'string'
        ? ` body=${JSON.stringify(one.body.slice(0, 400))}`
        : ` body=${JSON.stringify(one.body.unit)}x${one.body.count}`;
  return `${one.method} ${one.path.slice(0, 400)} headers=${JSON.stringify(one.headers)}${body}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Every key under MODEL_PREFIX with its value, read through the listing. */
async function storedModelKeys(target: FuzzTarget): Promise<Map<string, string>> {
  const stored = new Map<string, string>();
  let after: string | null = null;
  let waited = false;
  for (let round = 0; round < 100; round++) {
    const query = new URLSearchParams({ prefix: MODEL_PREFIX, limit: '100', values: '1' });
    if (after !== null) query.set('after', after);
    const response = await fetch(`${target.url}/v1/kv?${query}`, {
      headers: { authorization: `Bearer ${target.token}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (response.status === 429 && !waited) {
      waited = true;
      // The campaign's wrong tokens may have tripped the auth-failure limit: wait it out once (bounded).
      const retryAfter = Math.min(Number(response.headers.get('retry-after') ?? 60) || 60, 120);
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
      round--;
      continue;
    }
    if (response.status !== 200) throw new Error(`listing the model keys: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { items: { key: string; value: string }[]; next: string | null };
    for (const item of page.items) stored.set(item.key, Buffer.from(item.value, 'base64').toString('utf8'));
    after = page.next;
    if (after === null) break;
  }
  return stored;
}

export async function fuzzHttp(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const findings: FuzzFinding[] = [];
  const port = Number(new URL(target.url).port);
  let rssPeakBytes = 0;
  let casesRun = 0;
  log(
    `http fuzz: seed ${options.seed} (replay with KVS_FUZZ_SEED=${options.seed}), up to ${options.cases} cases or ${options.durationMs} ms against ${target.url}`,
  );
  const report = (): FuzzReport => ({ target: target.url, seed: options.seed, casesRun, findings, rssPeakBytes });
  const add = (finding: FuzzFinding) => {
    findings.push(finding);
    log(`FINDING ${finding.invariant}: ${finding.detail} — ${finding.input}`);
  };

  let api: OpenApi;
  try {
    const response = await fetch(`${target.url}/openapi.json`, {
      headers: { authorization: `Bearer ${target.token}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    api = (await response.json()) as OpenApi;
  } catch (error) {
    add({ invariant: 'health', input: 'GET /openapi.json', detail: `no OpenAPI document: ${String(error)}` });
    return report();
  }
  // Generated a batch at a time (batch b from seed + b), so a long campaign's cases are not all
  // held in memory and a seed still replays the same inputs.
  const arbitrary = caseArbitrary(api, target.token);
  function* generate(): Generator<FuzzCase> {
    for (let batch = 0; batch * CASE_BATCH < options.cases; batch++) {
      yield* fc.sample(arbitrary, {
        seed: options.seed + batch,
        numRuns: Math.min(CASE_BATCH, options.cases - batch * CASE_BATCH),
      });
    }
  }
  const cases = generate();

  // The model: key -> value (null: absent), or 'unknown' after an unanswered write.
  const model = new Map<string, string | null | 'unknown'>();
  const checkProcess = async (context: string): Promise<boolean> => {
    if (!alive(target.pid)) {
      add({ invariant: 'crash', input: context, detail: `server process ${target.pid} is gone` });
      return false;
    }
    try {
      const rss = await rssBytes(target.pid);
      rssPeakBytes = Math.max(rssPeakBytes, rss);
      if (rss > RSS_LIMIT_BYTES)
        add({ invariant: 'rss', input: context, detail: `RSS ${rss} bytes > ${RSS_LIMIT_BYTES}` });
    } catch {
      // The process ended between the two checks: the next check reports it.
    }
    if (!(await healthy(target.url))) {
      add({ invariant: 'health', input: context, detail: '/healthz did not answer 200' });
      return alive(target.pid);
    }
    return true;
  };

  const statusCounts = new Map<number, number>();
  for (const one of cases) {
    if (Date.now() - started > options.durationMs) break;
    casesRun++;
    const outcome =
      one.kind === 'raw' ? await sendRaw(port, Buffer.from(one.bytes, 'latin1')) : await sendHttp(port, one);
    for (const status of outcome.statuses) statusCounts.set(status, (statusCounts.get(status) ?? 0) + 1);
    const input = describeCase(one);
    if (outcome.hang)
      add({
        invariant: 'hang',
        input,
        detail: `no complete answer within ${REQUEST_TIMEOUT_MS} ms (statuses seen: ${outcome.statuses.join(',') || 'none'})`,
      });
    for (const status of outcome.statuses) {
      if (status >= 500 && status !== 503 && status !== 507)
        add({ invariant: '5xx', input, detail: `status ${status}` });
    }
    if (one.kind === 'http' && one.effect !== undefined) {
      const status = outcome.statuses[0];
      const acknowledged = status !== undefined && status >= 200 && status < 300;
      if (acknowledged) for (const change of one.effect) model.set(change.key, change.value);
      // Unanswered (or a 503/507): it may or may not have been applied.
      else if (status === undefined || status >= 500) for (const change of one.effect) model.set(change.key, 'unknown');
    }
    if (casesRun % CHECK_EVERY === 0 && !(await checkProcess(input))) return report();
    if (casesRun % 500 === 0)
      log(`http fuzz: ${casesRun} cases, ${findings.length} findings, RSS peak ${rssPeakBytes} bytes`);
  }
  if (!(await checkProcess('end of campaign'))) return report();

  try {
    const stored = await storedModelKeys(target);
    for (let index = 0; index < MODEL_KEYS; index++) {
      const key = `${MODEL_PREFIX}${index}`;
      const expected = model.has(key) ? model.get(key)! : null;
      if (expected === 'unknown') continue;
      const actual = stored.get(key) ?? null;
      if (actual !== expected)
        add({
          invariant: expected === null ? 'partial-write' : 'model-mismatch',
          input: key,
          detail: `store holds ${JSON.stringify(actual)}, acknowledged writes say ${JSON.stringify(expected)}`,
        });
    }
    for (const key of stored.keys()) {
      if (!/^fz\/m\/\d+$/.test(key))
        add({ invariant: 'partial-write', input: key, detail: 'a model-prefix key no acknowledged write made' });
    }
  } catch (error) {
    add({ invariant: 'health', input: 'model check', detail: String(error) });
  }
  const histogram = [...statusCounts]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status}:${count}`)
    .join(' ');
  log(
    `http fuzz: done, ${casesRun} cases in ${Date.now() - started} ms, ${findings.length} findings, RSS peak ${rssPeakBytes} bytes; statuses ${histogram}`,
  );
  return report();
}
