// How request parts are checked against route schemas. Fastify's default Ajv coerces types
// (`"key": 5` became the key "5") and silently drops properties a schema does not list
// (`{"ops": [...]}` became an empty transaction, `"tll": 5` was ignored). Bodies are JSON the
// client typed: they are checked exactly (no coercion, nothing removed), so a wrong type or an
// unknown field is a 400 naming the field. Query strings and headers are text by nature: there
// `limit=5` must still become the integer 5, so they keep coercion (but nothing is removed).

import ajvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';
import { KvsError } from '../core/errors.js';

type ValidatorFactory = ReturnType<typeof ajvCompiler>;
/** What Fastify asks a validator compiler for: one schema of one part of one route. */
type CompileRoutePart = (route: { readonly schema: unknown; readonly httpPart?: string }) => unknown;

const strictFactory = ajvCompiler();
const textFactory = ajvCompiler();

/** Fastify's server `ajv` option, as it hands it to the validator factory (plugins, customOptions). */
interface AjvServerOptions {
  readonly customOptions?: Record<string, unknown>;
  readonly plugins?: unknown[];
}

function buildValidator(externalSchemas: unknown, ajvOptions?: AjvServerOptions): CompileRoutePart {
  const plugins = ajvOptions?.plugins ?? [];
  const custom = ajvOptions?.customOptions ?? {};
  // The library's option types are a JTD/JSON-Schema union that a plain object does not narrow to.
  const build = (factory: ValidatorFactory, customOptions: Record<string, unknown>) =>
    factory(
      externalSchemas as never,
      { plugins, customOptions: { ...custom, ...customOptions } } as never,
    ) as unknown as CompileRoutePart;
  const strict = build(strictFactory, { coerceTypes: false, removeAdditional: false });
  const text = build(textFactory, { coerceTypes: 'array', removeAdditional: false });
  return (route) => (route.httpPart === 'body' ? strict(route) : text(route));
}

export const schemaController: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: { buildValidator: buildValidator as unknown as ValidatorFactory },
};

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
