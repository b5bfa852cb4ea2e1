// Rendering of errors as RESP error lines. Errors of the kvs catalogue carry their RESP prefix;
// the authentication errors use Redis's exact wording, so clients that recognise them (retry
// AUTH on NOAUTH, report WRONGPASS) behave as they do with Redis.

import { isKvsError } from '../core/errors.js';
import { ErrorReply, RespError, redisErrors } from './reply.js';

export function toErrorReply(error: unknown, log?: (message: string) => void): ErrorReply {
  if (error instanceof RespError) return new ErrorReply(error.line);
  if (isKvsError(error)) {
    switch (error.code) {
      case 'auth_required':
        return new ErrorReply(redisErrors.noAuth);
      case 'auth_invalid':
        return new ErrorReply(redisErrors.wrongPass);
      case 'forbidden':
        return new ErrorReply(noPermissionForKeys);
      default:
        return new ErrorReply(`${error.resp} ${error.message}`);
    }
  }
  log?.(`resp: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return new ErrorReply(INTERNAL_ERROR_LINE);
}

/** The catalogue's `internal` error as a RESP error line. */
export const INTERNAL_ERROR_LINE = 'ERR Internal server error.';

export const noPermissionForKeys = 'NOPERM this user has no permissions to access one of the keys used as arguments';

export function noPermissionForCommand(name: string): string {
  return `NOPERM this user has no permissions to run the '${name}' command`;
}
