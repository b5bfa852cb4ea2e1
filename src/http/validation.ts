// How request parts are checked against route schemas. Fastify's default Ajv coerces types
// (`"key": 5` became the key "5") and silently drops properties a schema does not list
// (`{"ops": [...]}` became an empty transaction, `"tll": 5` was ignored). Bodies are JSON the
// client typed: they are checked exactly (no coercion, nothing removed), so a wrong type or an
// unknown field is a 400 naming the field. Query strings and headers are text by nature: there
// `limit=5` must still become the integer 5, so they keep coercion (but nothing is removed).
// Validators and response serializers are compiled on first use (deferred-compiles.ts), and the
// libraries that compile them are loaded then too: the server does not need them to start.

import type ajvCompilerModule from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';
import { createRequire } from 'node:module';
import { KvsError } from '../core/errors.js';
import type { DeferredCompiles, Serialize, Validate } from './deferred-compiles.js';

type ValidatorFactory = ReturnType<typeof ajvCompilerModule>;
/** @fastify/fast-json-stringify-compiler's SerializerSelector() (the package comes with Fastify). */
type SerializerFactory = (externalSchemas: unknown, serializerOptions: unknown) => CompileRoutePart<Serialize>;
/** What Fastify asks a compiler for: one schema of one part (or one status code) of one route. */
type CompileRoutePart<T> = (route: { readonly schema: unknown; readonly httpPart?: string }) => T;

// Synchronous loads on first use (a request may need a validator before the background compiles
// reach it): both packages are CommonJS.
const require = createRequire(import.meta.url);

let validatorFactories: { readonly strict: ValidatorFactory; readonly text: ValidatorFactory } | undefined;
function ajvFactories(): { readonly strict: ValidatorFactory; readonly text: ValidatorFactory } {
  if (validatorFactories === undefined) {
    const ajvCompiler = require('@fastify/ajv-compiler') as typeof ajvCompilerModule;
    validatorFactories = { strict: ajvCompiler(), text: ajvCompiler() };
  }
  return validatorFactories;
}

let serializerFactory: SerializerFactory | undefined;
function fastJsonStringifyFactory(): SerializerFactory {
  if (serializerFactory === undefined) {
    // The serializer compiler Fastify itself uses when none is given, found from Fastify's folder.
    const fromFastify = createRequire(require.resolve('fastify'));
    const selector = fromFastify('@fastify/fast-json-stringify-compiler') as () => SerializerFactory;
    serializerFactory = selector();
  }
  return serializerFactory;
}

/** Fastify's server `ajv` option, as it hands it to the validator factory (plugins, customOptions). */
interface AjvServerOptions {
  readonly customOptions?: Record<string, unknown>;
  readonly plugins?: unknown[];
}

function buildValidator(
  deferred: DeferredCompiles,
  externalSchemas: unknown,
  ajvOptions?: AjvServerOptions,
): CompileRoutePart<Validate> {
  const plugins = ajvOptions?.plugins ?? [];
  const custom = ajvOptions?.customOptions ?? {};
  // The library's option types are a JTD/JSON-Schema union that a plain object does not narrow to.
  const build = (factory: ValidatorFactory, customOptions: Record<string, unknown>) =>
    factory(
      externalSchemas as never,
      { plugins, customOptions: { ...custom, ...customOptions } } as never,
    ) as unknown as CompileRoutePart<Validate>;
  let strict: CompileRoutePart<Validate> | undefined;
  let text: CompileRoutePart<Validate> | undefined;
  return (route) =>
    deferred.validator(() => {
      if (route.httpPart === 'body') {
        strict ??= build(ajvFactories().strict, { coerceTypes: false, removeAdditional: false });
        return strict(route);
      }
      text ??= build(ajvFactories().text, { coerceTypes: 'array', removeAdditional: false });
      return text(route);
    });
}

function buildSerializer(
  deferred: DeferredCompiles,
  externalSchemas: unknown,
  serializerOptions: unknown,
): CompileRoutePart<Serialize> {
  let compiler: CompileRoutePart<Serialize> | undefined;
  return (route) =>
    deferred.serializer(() => {
      compiler ??= fastJsonStringifyFactory()(externalSchemas, serializerOptions);
      return compiler(route);
    });
}

/** Fastify's `schemaController` option: its compiles go through `deferred`. */
export function schemaControllerFor(deferred: DeferredCompiles): NonNullable<FastifyServerOptions['schemaController']> {
  return {
    compilersFactory: {
      buildValidator: ((externalSchemas: unknown, ajvOptions?: AjvServerOptions) =>
        buildValidator(deferred, externalSchemas, ajvOptions)) as never,
      buildSerializer: ((externalSchemas: unknown, serializerOptions: unknown) =>
        buildSerializer(deferred, externalSchemas, serializerOptions)) as never,
    },
  };
}

interface ValidationIssue {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/** `operations[0].tll` for Ajv's `/operations/0` + additionalProperty `tll`. */
export function fieldOf(issue: ValidationIssue): string {
  const segments = (issue.instancePath ?? '')
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  const extra = issue.params?.additionalProperty ?? issue.params?.missingProperty;
  if (typeof extra === 'string') segments.push(extra);
  let field = '';
  for (const segment of segments)
    field += /^\d+$/.test(segment) ? `[${segment}]` : field === '' ? segment : `.${segment}`;
  return field;
}

/** A failed schema check as a catalogue error: 400 bad_request naming the field. */
export function validationError(issues: readonly ValidationIssue[], part: string | undefined): KvsError {
  const issue = issues[0] ?? {};
  const field = fieldOf(issue);
  const where = part === 'querystring' ? 'query parameter' : part === 'body' ? 'field' : (part ?? 'field');
  let message: string;
  if (issue.keyword === 'additionalProperties') message = `Unknown ${where} ${JSON.stringify(field)}.`;
  else if (issue.keyword === 'required') message = `Missing ${where} ${JSON.stringify(field)}.`;
  else
    message = `${where === 'field' ? 'Field' : where[0]!.toUpperCase() + where.slice(1)} ${JSON.stringify(field || '(body)')} ${issue.message ?? 'is invalid'}.`;
  // A ttl out of range is the same error however it is sent (?ttl=, txn `ttl`; docs/errors.md).
  const code = /(?:^|\.)ttl$/.test(field) && issue.keyword !== 'additionalProperties' ? 'invalid_ttl' : 'bad_request';
  return new KvsError(code, message, { field: field || null, in: part ?? 'body' });
}
