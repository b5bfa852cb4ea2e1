// auth-spray: wrong tokens from many loopback source addresses as fast as possible (each address
// is a separate client to the per-address failure limiter of src/core/auth-limiter.ts), then the
// correct token from a sprayed address, a fresh one and 127.0.0.1.

import { connect } from 'node:net';
import type { Attack, AttackContext, AttackFindings } from './attack.js';
import { httpCall } from './attack-http.js';
import { ADMIN_TOKEN } from './attack-server.js';
import { StatusTally } from './status-tally.js';

/** The index-th source address: 127.a.b.c with c in 1..254 (Linux routes all of 127/8 to lo). */
export function sprayAddress(index: number): string {
  const perA = 256 * 254;
  const a = 1 + Math.floor(index / perA);
  const rest = index % perA;
  return `127.${a}.${Math.floor(rest / 254)}.${1 + (rest % 254)}`;
}

/** One request on its own connection from `localAddress`; resolves with the status (0: none) or an error code. */
function rawRequest(port: number, localAddress: string, request: string, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    let first = '';
    let settled = false;
    const finish = (result: number | string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    socket.on('data', (chunk: Buffer) => {
      first += chunk.toString('latin1', 0, 16);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(first);
      if (status !== null) finish(Number(status[1]));
    });
    socket.on('close', () => finish('closed without an answer'));
    socket.write(request);
  });
}

export const authSpray: Attack = {
  name: 'auth-spray',
  summary:
    '`PUT /v1/kv/spray` with a wrong token, one request per connection, round-robin over A source addresses 127.x.y.z (C in flight) for S seconds; then the correct token from a sprayed address, a fresh address and 127.0.0.1.',
  maxSeconds: (settings) => settings.spraySeconds + 60,
  async run(context: AttackContext): Promise<AttackFindings> {
    const { settings, server } = context;
    const tally = new StatusTally();
    let next = 0;
    let firstLockout: string | undefined;
    const started = performance.now();
    const until = started + settings.spraySeconds * 1000;
    const worker = async () => {
      while (context.active() && performance.now() < until) {
        const index = next++;
        const request = `PUT /v1/kv/spray HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong-token-${index}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`;
        const result = await rawRequest(
          server.httpPort,
          sprayAddress(index % settings.sprayAddresses),
          request,
          10_000,
        );
        if (typeof result === 'number') {
          tally.status(result);
          if (result === 429 && firstLockout === undefined)
            firstLockout = `request ${index + 1}, after ${((performance.now() - started) / 1000).toFixed(1)} s`;
        } else {
          tally.failure(result);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    await Promise.all(Array.from({ length: settings.sprayConcurrency }, worker));
    const seconds = (performance.now() - started) / 1000;
    const correct = async (localAddress: string) => {
      const outcome = await httpCall({
        port: server.httpPort,
        method: 'PUT',
        path: '/v1/kv/spray-check',
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/octet-stream' },
        body: 'ok',
        localAddress,
        timeoutMs: 10_000,
      });
      return outcome.status > 0
        ? `${outcome.status} in ${outcome.ms.toFixed(1)} ms${outcome.status === 429 ? ` (Retry-After ${String(outcome.headers['retry-after'])} s)` : ''}`
        : `no answer (${outcome.error})`;
    };
    const distinct = Math.min(next, settings.sprayAddresses);
    return {
      tried: `${next.toLocaleString('en-US')} wrong-token PUTs in ${seconds.toFixed(1)} s (${Math.round(next / seconds)}/s) from ${distinct.toLocaleString('en-US')} source addresses (about ${(next / distinct).toFixed(1)} each)`,
      tally,
      details: [
        [
          '429 too_many_auth_failures',
          `${tally.count(429)}${firstLockout !== undefined ? ` (first at ${firstLockout})` : ''}`,
        ],
        [`correct token from ${sprayAddress(0)} (sprayed)`, await correct(sprayAddress(0))],
        ['correct token from 127.250.0.1 (not sprayed)', await correct('127.250.0.1')],
        ['correct token from 127.0.0.1', await correct('127.0.0.1')],
      ],
    };
  },
};
