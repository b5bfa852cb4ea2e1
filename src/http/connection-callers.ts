// Who a keep-alive connection's token authenticated as, for the read and write fast paths.
//
// Why: authenticating hashes the presented token (sha256) on every request: under wrk -c50 GETs
// with a Bearer token that was 10.8% of kvs's CPU, where the read itself took 1%. A connection
// that presents the same Authorization header again presents the same token, so its caller is
// re-checked with KvService.callerIfStillValid instead: a revoked or expired token and a locked
// address are refused at once, as callerIfValid refuses them, but nothing is hashed. Remembered
// per connection, never per secret: a client's header is only ever compared with what the same
// connection sent before, and the entry goes with the connection.

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Caller, KvService } from '../core/service.js';
import type { WriteVia } from '../model/audit.js';
import { tokenOfHeader } from './caller.js';

interface Remembered {
  readonly header: string;
  readonly caller: Caller;
}

export class ConnectionCallers {
  private readonly bySocket = new WeakMap<Socket, Remembered>();

  constructor(private readonly service: KvService) {}

  /**
   * KvService.callerIfValid for a request with this Authorization header (undefined: none): the
   * caller, or undefined where a token is refused (the Fastify route then answers and counts it).
   * `via` is the front end a write names for the audit trail (write-via.ts); a request on the
   * same connection may name another, so it is never taken from the remembered caller.
   */
  callerOf(request: IncomingMessage, authorization: string | undefined, via?: WriteVia): Caller | undefined {
    // The client's address matters only with a token (the failure lock is per address).
    if (authorization === undefined) return this.service.callerIfValid(undefined, '', via);
    const socket = request.socket;
    const last = this.bySocket.get(socket);
    if (last !== undefined && last.header === authorization) {
      const caller = this.service.callerIfStillValid(last.caller);
      if (caller === undefined) this.bySocket.delete(socket);
      // Reads name no front end (undefined): the remembered caller as it is, with no allocation.
      return caller === undefined || via === undefined || caller.via === via ? caller : { ...caller, via };
    }
    const caller = this.service.callerIfValid(tokenOfHeader(authorization), socket.remoteAddress ?? '', via);
    if (caller?.principal === undefined) this.bySocket.delete(socket);
    else this.bySocket.set(socket, { header: authorization, caller });
    return caller;
  }
}
