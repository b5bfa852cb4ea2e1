// poison-ttl: the attacker (a write token limited to p/) stores keys with absurd TTLs — 9e12
// seconds (past the largest Date) and 1e308 — then anonymous readers use every read path on them.

import type { Attack, AttackContext, AttackFindings } from './attack.js';
import { httpCall, streamPeek, type HttpOutcome } from './attack-http.js';
import { PREFIX_TOKEN } from './attack-server.js';
import { RespConnection } from './resp-wire.js';
import { StatusTally } from './status-tally.js';

const short = (text: string) => text.replace(/\s+/g, ' ').slice(0, 120);

function txnBody(key: string, ttlLiteral: string): string {
  // Written by hand so the literal (1e308) reaches the server exactly as an attacker sends it.
  return `{"operations":[{"op":"put","key":${JSON.stringify(key)},"value":"x","ttl":${ttlLiteral}}]}`;
}

export const poisonTtl: Attack = {
  name: 'poison-ttl',
  summary:
    'A p/-limited write token stores keys with ttl 9000000000000 and 1e308 (txn) and ?ttl=9000000000000 (PUT); anonymous GET, seed GET, listing, HEAD, watch, index page and RESP PTTL/TTL/GET then read them.',
  maxSeconds: () => 60,
  async run(context: AttackContext): Promise<AttackFindings> {
    const { server } = context;
    const port = server.httpPort;
    const tally = new StatusTally();
    const details: [string, string][] = [];
    const note = (step: string, outcome: HttpOutcome) => {
      tally.http(outcome);
      details.push([
        step,
        outcome.status > 0 ? `${outcome.status} ${short(outcome.body)}` : `no answer (${outcome.error})`,
      ]);
      const exit = server.exitedEarly();
      if (exit !== undefined && !details.some(([label]) => label === 'server exit noticed'))
        details.push(['server exit noticed', `after "${step}": code ${exit.code} signal ${exit.signal}`]);
    };
    const write = { Authorization: `Bearer ${PREFIX_TOKEN}`, 'Content-Type': 'application/json' };
    let steps = 0;
    const reads = async (key: string) => {
      const encoded = encodeURIComponent(key);
      note(`GET /v1/kv/${key}`, await httpCall({ port, path: `/v1/kv/${key}` }));
      note(`GET /?k=${key}`, await httpCall({ port, path: `/?k=${encoded}` }));
      note('GET /v1/kv?prefix=p/', await httpCall({ port, path: '/v1/kv?prefix=p%2F' }));
      note('GET /v1/kv?prefix=p/&values=1', await httpCall({ port, path: '/v1/kv?prefix=p%2F&values=1' }));
      note(`HEAD /v1/kv/${key}`, await httpCall({ port, method: 'HEAD', path: `/v1/kv/${key}` }));
      note('GET / (index page)', await httpCall({ port, path: '/' }));
      steps += 6;
    };
    // Every write first, so each one's answer is known even if a read then crashes the server.
    note(
      'POST /v1/txn ttl 9000000000000 (key p/poison)',
      await httpCall({
        port,
        method: 'POST',
        path: '/v1/txn',
        headers: write,
        body: txnBody('p/poison', '9000000000000'),
      }),
    );
    note(
      'POST /v1/txn ttl 1e308 (key p/poison2)',
      await httpCall({ port, method: 'POST', path: '/v1/txn', headers: write, body: txnBody('p/poison2', '1e308') }),
    );
    note(
      'PUT /v1/kv/p/poison3?ttl=9000000000000',
      await httpCall({
        port,
        method: 'PUT',
        path: '/v1/kv/p/poison3?ttl=9000000000000',
        headers: { Authorization: `Bearer ${PREFIX_TOKEN}`, 'Content-Type': 'application/octet-stream' },
        body: 'x',
      }),
    );
    steps += 3;
    let respSteps = 0;
    try {
      const connection = await RespConnection.open(server.respPort);
      context.track(connection.socket);
      for (const key of ['p/poison', 'p/poison2', 'p/poison3']) {
        for (const command of ['PTTL', 'TTL', 'GET']) {
          respSteps++;
          try {
            const reply = await connection.call([command, key], 5000);
            tally.resp(reply);
            details.push([`RESP ${command} ${key}`, `${reply.kind} ${short(reply.text)}`]);
          } catch (error) {
            tally.failure('RESP no reply');
            details.push([
              `RESP ${command} ${key}`,
              `no reply: ${error instanceof Error ? error.message : String(error)}`,
            ]);
          }
        }
      }
      connection.close();
    } catch (error) {
      details.push(['RESP connection', `failed: ${error instanceof Error ? error.message : String(error)}`]);
    }
    for (const key of ['p/poison', 'p/poison2', 'p/poison3']) await reads(key);
    const watch = await streamPeek(port, '/v1/watch?prefix=p%2F&since=0&values=1', 2000);
    steps++;
    if (watch.status > 0) tally.status(watch.status);
    else tally.failure(watch.error ?? 'no answer');
    details.push([
      'GET /v1/watch?prefix=p/&since=0&values=1 (read 2 s)',
      `${watch.status || watch.error}, ${watch.bytes} bytes, ${watch.ended ? 'ended by the server' : 'still open'}: ${short(watch.text.split('\n\n').slice(1, 3).join(' | '))}`,
    ]);
    return { tried: `${steps} HTTP requests, ${respSteps} RESP commands`, tally, details };
  },
};
