// Renders errors from the catalogue (src/core/errors.ts) as HTTP answers: JSON on the REST
// routes, plain text on the seed routes (which users read with bare curl).

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { KvsError, isKvsError } from '../core/errors.js';
import { validationError } from './validation.js';

/** Translates Fastify's own errors (body too large, bad JSON, ...) into catalogue errors. */
export function toKvsError(error: FastifyError | Error, request: FastifyRequest): KvsError {
  if (isKvsError(error)) return error;
  const fastifyError = error as FastifyError;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit;
      return request.routeOptions.config.valueBody
        ? new KvsError('value_too_large', undefined, { limit })
        : new KvsError('body_too_large', undefined, { limit });
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KvsError('unsupported_media_type');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new KvsError('bad_request', fastifyError.message);
    case 'FST_ERR_VALIDATION':
      return validationError(fastifyError.validation ?? [], fastifyError.validationContext);
  }
  if (fastifyError.statusCode === 400 || error instanceof SyntaxError)
    return new KvsError('bad_request', error.message);
  if (fastifyError.statusCode === 408) return new KvsError('request_timeout');
  return new KvsError('internal');
}

export const JSON_TYPE = 'application/json; charset=utf-8';

export function sendError(request: FastifyRequest, reply: FastifyReply, error: KvsError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  reply.code(error.status);
  if (request.routeOptions.config.plainErrors) {
    return reply.type('text/plain; charset=utf-8').send(`${error.message} (${error.code})\n`);
  }
  return reply.type(JSON_TYPE).send(jsonBody(error));
}

/** The same JSON answer as sendError, on a bare node:http response (the write fast path). */
/** Answers the error; returns the size of the body sent. */
export function sendRawError(response: ServerResponse, error: KvsError): number {
  const body = jsonBody(error);
  const bytes = Buffer.byteLength(body);
  response.writeHead(error.status, {
    ...error.headers,
    'content-type': JSON_TYPE,
    'content-length': String(bytes),
  });
  response.end(body);
  return bytes;
}

function jsonBody(error: KvsError): string {
  return JSON.stringify(error.toJSON());
}
