// How the engine calls etcd: every call has a deadline, failures become storage errors, and a call
// is retried on another member only when that cannot apply it twice.
//
// - Reads are retried on any transient failure (member down, no leader yet, deadline) until the
//   request time budget is spent, each attempt on a member chosen afresh by the client.
// - Writes are retried only when etcd cannot have received them (no connection could be made,
//   or the member's circuit breaker is open). A write that failed after it was sent (the member
//   died mid-request, or no answer before the deadline) may or may not have been applied: it
//   fails with EngineUnavailableError saying so, rather than being applied twice.
// - What remains when the budget is spent is EngineUnavailableError, which the service answers
//   with 503: kvs never hangs on an etcd without quorum.

import { isBrokenCircuitError } from 'cockatiel';
import {
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  GRPCInvalidArgumentError,
  GRPCUnauthenticatedError,
  isRecoverableError,
  type KVClient,
} from 'etcd3';
import { EngineUnavailableError, StorageError, StoreLimitError } from '../errors.js';

export interface CallTimeouts {
  /** Total time one engine request may spend on etcd, retries included. */
  readonly requestTimeoutMs: number;
  /** Deadline of one attempt of a read (a write, which is rarely retried, may use the whole budget). */
  readonly attemptTimeoutMs: number;
}

/** gRPC call options (the deadline), as the etcd3 client takes them. */
export type CallOptions = NonNullable<Parameters<KVClient['range']>[1]>;

export type Call<T> = (options: CallOptions) => Promise<T>;

export class EtcdCalls {
  constructor(
    private readonly timeouts: CallTimeouts,
    private readonly endpoints: readonly string[],
  ) {}

  /** An idempotent call: retried on transient failures while the budget lasts. */
  read<T>(what: string, call: Call<T>): Promise<T> {
    return this.run(what, call, this.timeouts.attemptTimeoutMs, (error) => isTransient(error));
  }

  /** A call that changes etcd: retried only when it cannot have been received. */
  write<T>(what: string, call: Call<T>): Promise<T> {
    // A write that reached etcd is not retried, so it gets the whole budget to ride out an
    // election (etcd queues proposals until a new leader is chosen).
    return this.run(what, call, this.timeouts.requestTimeoutMs, (error) => notSent(error));
  }

  private async run<T>(
    what: string,
    call: Call<T>,
    attemptTimeoutMs: number,
    retryable: (error: Error) => boolean,
  ): Promise<T> {
    const deadline = Date.now() + this.timeouts.requestTimeoutMs;
    // An open circuit breaker only repeats an earlier failure: report the failure itself.
    let cause: Error | undefined;
    for (let attempt = 1; ; attempt++) {
      const now = Date.now();
      try {
        return await call({ deadline: now + Math.min(attemptTimeoutMs, Math.max(1, deadline - now)) });
      } catch (caught) {
        const error = caught instanceof Error ? caught : new Error(String(caught));
        const mapped = this.permanent(error);
        if (mapped !== undefined) throw mapped;
        if (!isTransient(error)) throw error;
        if (!isBrokenCircuitError(error) || cause === undefined) cause = error;
        const pause = Math.min(50 * attempt, 250);
        if (!retryable(error) || Date.now() + pause >= deadline) throw this.unavailable(what, error, cause);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** Errors that no retry can cure, as storage errors (the core maps them to its catalogue). */
  private permanent(error: Error): Error | undefined {
    if (error instanceof StorageError) return error;
    const message = error.message;
    if (error instanceof GRPCInvalidArgumentError) {
      if (message.includes('too many operations in txn request')) {
        return new StoreLimitError(
          'batch_too_large',
          'etcd refused the transaction: it has more operations than etcd allows (--max-txn-ops).',
        );
      }
      if (message.includes('request is too large')) {
        return new StoreLimitError(
          'txn_too_large',
          'etcd refused the request: it is larger than etcd allows (--max-request-bytes).',
        );
      }
    }
    if (error instanceof EtcdAuthenticationFailedError || error instanceof GRPCUnauthenticatedError) {
      return new EngineUnavailableError(`etcd refused kvs's credentials (--etcd-user/--etcd-password): ${message}`, {
        cause: error,
      });
    }
    if (error instanceof EtcdPermissionDeniedError) {
      return new EngineUnavailableError(`etcd denied kvs access to its key prefix: ${message}`, { cause: error });
    }
    if (message.includes('database space exceeded')) {
      return new EngineUnavailableError('etcd is out of space (its --quota-backend-bytes); compact and defragment it', {
        cause: error,
      });
    }
    if (error instanceof ClientClosedError)
      return new EngineUnavailableError('the etcd engine is closed', { cause: error });
    return undefined;
  }

  private unavailable(what: string, last: Error, cause: Error): EngineUnavailableError {
    const outcome = notSent(last) ? '' : ' (a write may or may not have been applied)';
    return new EngineUnavailableError(
      `etcd (${this.endpoints.join(',')}) did not answer ${what}${outcome}: ${firstLine(cause.message)}`,
      { cause },
    );
  }
}

/** Member down, no connection, no leader, deadline: worth another attempt elsewhere. */
function isTransient(error: Error): boolean {
  return (
    isBrokenCircuitError(error) ||
    isRecoverableError(error) ||
    /ECONNREFUSED|No connection established/.test(error.message)
  );
}

/** True when etcd cannot have received the request. */
function notSent(error: Error): boolean {
  return (
    isBrokenCircuitError(error) || /No connection established|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(error.message)
  );
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
