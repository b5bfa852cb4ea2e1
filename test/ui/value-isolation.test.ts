// Stored values never run as active content on the UI's origin (docs/ui.md, "Values are never
// active content"): a prefix token stores an HTML page whose script reads the admin token from
// sessionStorage; the admin, in the tab where the UI holds that token, opens the value through
// the seed route and the v1 route (fast paths and Fastify routes). In real headless Chromium the
// script must not run.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../helpers/ui-browser.js';
import { newToken } from '../helpers/server-process.js';
import { useServer } from '../helpers/use-server.js';

const skip = skipWithoutChromium;

const STEAL = '<script>document.title="XSS:"+sessionStorage.getItem("kvs-token")</script>';
const PAYLOADS: readonly [string, string, string][] = [
  ['p/evil.html', 'text/html', `<html><head><title>value</title></head><body>${STEAL}</body></html>`],
  [
    'p/evil.svg',
    'image/svg+xml',
    `<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="XSS:"+sessionStorage.getItem("kvs-token")</script></svg>`,
  ],
  [
    'p/evil.xhtml',
    'application/xhtml+xml',
    `<html xmlns="http://www.w3.org/1999/xhtml"><head><title>value</title></head><body>${STEAL}</body></html>`,
  ],
  ['p/evil-sniffed', '', `<html><body>${STEAL}</body></html>`],
  ['p/evil-odd-type', 'TEXT/HTML ; charset=utf-8', `<html><body>${STEAL}</body></html>`],
];

for (const routesOnly of [false, true]) {
  // --fast-paths off: every request through the Fastify routes, so both they and the fast paths are opened.
  describe(
    `stored values in headless Chromium${routesOnly ? ' (Fastify routes, --fast-paths off)' : ' (fast paths)'}`,
    { skip },
    () => {
      let browser: Browser;
      const admin = newToken();
      const prefixToken = newToken();
      after(async () => {
        await browser?.close();
      });
      const server = useServer({
        args: ['--store', 'memory', ...(routesOnly ? ['--fast-paths', 'off'] : [])],
        tokenFileText: `${admin} admin\n${prefixToken} write p/\n`,
      });
      before(async () => {
        for (const [key, contentType, body] of PAYLOADS) {
          const headers: Record<string, string> = { authorization: `Bearer ${prefixToken}` };
          if (contentType !== '') headers['content-type'] = contentType;
          const response = await fetch(`${server.url}/v1/kv/${key}`, { method: 'PUT', headers, body });
          assert.ok(response.ok, `PUT ${key}: ${response.status}`);
        }
        browser = await launchChromium();
      });

      /** A tab where the UI holds the admin token, as after "Use token". */
      async function adminTab(): Promise<Page> {
        const context = await browser.newContext();
        const page = await context.newPage();
        page.setDefaultTimeout(15_000);
        await page.goto(`${server.url}/ui/`);
        await page.evaluate(`sessionStorage.setItem('kvs-token', ${JSON.stringify(admin)})`);
        return page;
      }

      for (const [key, contentType] of PAYLOADS) {
        for (const route of ['seed', 'v1'] as const) {
          it(`does not run a ${contentType || 'typeless'} value opened via ${route === 'seed' ? '/?k=' : '/v1/kv/'}`, async () => {
            const page = await adminTab();
            const url = route === 'seed' ? `${server.url}/?k=${encodeURIComponent(key)}` : `${server.url}/v1/kv/${key}`;
            // An attachment makes the navigation a download, which playwright reports as an error.
            await page
              .goto(url)
              .catch((error: Error) => assert.match(error.message, /Download is starting|ERR_ABORTED/));
            // goto resolved at the load event: an inline script of a displayed value has run by now.
            const title = await page.title();
            assert.ok(!title.startsWith('XSS:'), `the value's script ran and read ${JSON.stringify(title)}`);
            // If the value was displayed, it is in an opaque origin: the page's storage is out of reach.
            const stolen = await page.evaluate(
              `(() => { try { return sessionStorage.getItem('kvs-token'); } catch { return null; } })()`,
            );
            if (page.url() === url) assert.equal(stolen, null, 'a displayed value could read the UI token');
            await page.context().close();
          });
        }
      }
    },
  );
}
