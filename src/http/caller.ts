// Who is calling: turns the request's token (Authorization: Bearer, or the seed's `auth` form
// field / query parameter) into a core Caller. The core decides what that caller may do.

import type { FastifyRequest } from 'fastify';
import type { Caller, KvService } from '../core/service.js';
import { CLIENT_HEADER, viaOf } from './write-via.js';

export function bearerToken(request: FastifyRequest): string | undefined {
  return tokenOfHeader(request.headers.authorization);
}

/** The token of an Authorization header: `Bearer TOKEN`, or the bare token. */
export function tokenOfHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : header.trim();
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request authenticated as, once a route has asked (for the access log). */
    caller: Caller | undefined;
  }
}

export function callerOf(service: KvService, request: FastifyRequest, fallbackToken?: string): Caller {
  const caller = service.authenticate(
    bearerToken(request) ?? fallbackToken,
    request.ip,
    viaOf(request.url, request.headers[CLIENT_HEADER]),
  );
  request.caller = caller;
  return caller;
}
