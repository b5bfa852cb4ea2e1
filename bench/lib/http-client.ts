// Plain fetch helpers for preloading and checking systems before they are loaded.

import { Agent, request as httpRequestRaw } from 'node:http';
import type { RequestSet } from './request-set.js';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export async function httpRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers,
    body: init.body === undefined || init.body === '' ? undefined : init.body,
    signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
  });
  return { status: response.status, body: await response.text() };
}

/** Polls until `url` answers with a status accepted by `ready`, or throws after timeoutMs. */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  ready: (status: number) => boolean = (s) => s < 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer';
  while (Date.now() < deadline) {
    try {
      const answer = await httpRequest(url, { timeoutMs: 1000 });
      if (ready(answer.status)) return;
      lastProblem = `status ${answer.status}: ${answer.body.slice(0, 200)}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (${lastProblem})`);
}

/**
 * Sends every request of the set once, `concurrency` at a time over kept-alive connections, and
 * fails on the first non-2xx answer: used to preload keys, and proves the set is accepted before
 * it is used as load.
 */
export async function sendAll(baseUrl: string, set: RequestSet, concurrency = 50): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(baseUrl);
  const send = (path: string, body: string) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const headers: Record<string, string | number> = { ...set.headers };
      if (body !== '') headers['Content-Length'] = Buffer.byteLength(body);
      const request = httpRequestRaw(
        { agent, host: url.hostname, port: url.port, method: set.method, path, headers, timeout: 30_000 },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`${set.method} ${path}: no answer within 30 s`)));
      request.on('error', reject);
      request.end(body === '' ? undefined : body);
    });
  let next = 0;
  const worker = async () => {
    for (;;) {
      const line = set.lines[next++];
      if (line === undefined) return;
      const answer = await send(line.path, line.body);
      if (answer.status < 200 || answer.status > 299) {
        throw new Error(`${set.method} ${baseUrl}${line.path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
}
