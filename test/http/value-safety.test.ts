// Every raw value answer carries the headers that keep it inert in a browser (src/http/value-safety.ts,
// docs/ui.md "Values are never active content"), on each place values are served: the read fast
// path (GET /v1/kv/{key}, GET /?k=KEY), the Fastify routes (HEAD, ?k=K1,K2, --fast-paths off).
// test/ui/value-isolation.test.ts checks the outcome in real Chromium.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { useServer } from '../helpers/use-server.js';

const CSP = "sandbox; default-src 'none'";

for (const routesOnly of [false, true]) {
  describe(`raw value headers${routesOnly ? ' (--fast-paths off: Fastify routes only)' : ''}`, () => {
    const server = useServer({ args: ['--store', 'memory', ...(routesOnly ? ['--fast-paths', 'off'] : [])] });
    before(async () => {
      for (const [key, type] of [
        ['h.html', 'text/html'],
        ['t.txt', 'text/plain; charset=utf-8'],
        ['j', 'application/json'],
        ['s.svg', 'image/svg+xml'],
        ['x', 'Application/XML'],
      ]) {
        const response = await fetch(`${server.url}/v1/kv/${key}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${server.token}`, 'content-type': type! },
          body: '<b>x</b>',
        });
        assert.ok(response.ok);
      }
    });

    const reads: [string, string, RequestInit?][] = [
      ['GET /v1/kv/', '/v1/kv/'],
      ['HEAD /v1/kv/', '/v1/kv/', { method: 'HEAD' }],
      ['GET /?k=', '/?k='],
      ['GET /?k=KEY,missing', '/?k='],
    ];
    for (const [label, path, init] of reads) {
      it(`${label}: CSP sandbox and nosniff always; attachment for active types; the stored type unchanged`, async () => {
        for (const [key, type, attachment] of [
          ['h.html', 'text/html', true],
          ['s.svg', 'image/svg+xml', true],
          ['x', 'Application/XML', true],
          ['t.txt', 'text/plain; charset=utf-8', false],
          ['j', 'application/json', false],
        ] as const) {
          const suffix = label.endsWith(',missing') ? `${key},missing` : key;
          const response = await fetch(`${server.url}${path}${suffix}`, init);
          assert.equal(response.status, 200, `${label}${key}`);
          assert.equal(response.headers.get('content-type'), type);
          assert.equal(response.headers.get('content-security-policy'), CSP, `${label}${key}`);
          assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
          assert.equal(response.headers.get('content-disposition'), attachment ? 'attachment' : null, `${label}${key}`);
        }
      });
    }
  });
}
