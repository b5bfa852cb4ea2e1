// One HTTP request for the attacks, never throwing: a status, a timeout or a socket error, with
// the time it took. Each request may bind its own source address (127.x.y.z: Linux routes all of
// 127/8 to lo), which the auth-spray attack needs.

import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

export interface HttpOutcome {
  /** 0 when there was no answer (see `error`). */
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The first bytes of the body. */
  readonly body: string;
  readonly bodyBytes: number;
  readonly ms: number;
  /** 'timeout' or a socket error code, when there was no answer. */
  readonly error?: string;
}

export interface HttpCall {
  readonly port: number;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly timeoutMs?: number;
  readonly localAddress?: string;
  /** Default: a fresh connection, closed after the answer. */
  readonly agent?: Agent;
  /** Bytes of the body kept in `body` (default 2048). */
  readonly keepBytes?: number;
}

export function httpCall(call: HttpCall): Promise<HttpOutcome> {
  const started = performance.now();
  const keep = call.keepBytes ?? 2048;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<HttpOutcome, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, ms: performance.now() - started });
    };
    const headers: Record<string, string | number> = { ...call.headers };
    if (call.body !== undefined) headers['Content-Length'] = Buffer.byteLength(call.body);
    const req = request(
      {
        host: '127.0.0.1',
        port: call.port,
        method: call.method ?? 'GET',
        path: call.path,
        headers,
        localAddress: call.localAddress,
        agent: call.agent ?? false,
      },
      (response) => {
        let kept = '';
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (kept.length < keep) kept += chunk.toString('utf8', 0, Math.min(chunk.length, keep - kept.length));
        });
        response.on('end', () =>
          finish({ status: response.statusCode ?? 0, headers: response.headers, body: kept, bodyBytes: bytes }),
        );
        response.on('error', (error: NodeJS.ErrnoException) =>
          finish({ status: 0, headers: {}, body: kept, bodyBytes: bytes, error: error.code ?? error.message }),
        );
      },
    );
    const timer = setTimeout(() => {
      finish({ status: 0, headers: {}, body: '', bodyBytes: 0, error: 'timeout' });
      req.destroy();
    }, call.timeoutMs ?? 10_000);
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: 0, headers: {}, body: '', bodyBytes: 0, error: error.code ?? error.message }),
    );
    req.end(call.body);
  });
}

export interface StreamPeek {
  readonly status: number;
  /** The first bytes of the body received within the time. */
  readonly text: string;
  readonly bytes: number;
  /** Whether the server ended the response within the time. */
  readonly ended: boolean;
  readonly error?: string;
}

/** Opens a streaming response (a watch), reads it for `ms`, then closes it. */
export function streamPeek(
  port: number,
  path: string,
  ms: number,
  headers: Record<string, string> = {},
): Promise<StreamPeek> {
  return new Promise((resolve) => {
    let status = 0;
    let text = '';
    let bytes = 0;
    let ended = false;
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ status, text, bytes, ended, ...(error === undefined ? {} : { error }) });
    };
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (response) => {
      status = response.statusCode ?? 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (text.length < 4096) text += chunk.toString('utf8', 0, Math.min(chunk.length, 4096 - text.length));
      });
      response.on('end', () => {
        ended = true;
        finish();
      });
      response.on('error', () => finish());
    });
    const timer = setTimeout(() => finish(), ms);
    req.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    req.end();
  });
}
