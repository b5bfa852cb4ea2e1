// Headless Chromium for the web UI tests (test/ui/): the system's /usr/bin/chromium driven by
// playwright-core (never a downloaded browser), the skip rule (skipped only without Chromium
// and without CI=true), HTTP helpers that go around the UI, a bounded poll, and screenshots into
// docs/ui/ (committed; docs/ui.md shows them).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot, type ServerProcess } from './server-process.js';

export const CHROMIUM = '/usr/bin/chromium';
const chromiumMissing = !existsSync(CHROMIUM);
export const skipWithoutChromium =
  chromiumMissing && process.env.CI !== 'true' ? `${CHROMIUM} is not installed (apt-get install -y chromium)` : false;

export async function launchChromium(): Promise<Browser> {
  if (chromiumMissing)
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (CI=true never skips this test)`);
  if (!existsSync(join(repoRoot, 'dist', 'web', 'web', 'main.js')))
    throw new Error('dist/web is not built: run npm run build');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A PUT over the HTTP API (not through the UI). */
export async function putValue(
  server: ServerProcess,
  key: string,
  value: string | Uint8Array,
  contentType?: string,
  token = server.token,
): Promise<{ version: number }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (contentType !== undefined) headers['content-type'] = contentType;
  const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
    method: 'PUT',
    headers,
    body: value,
  });
  assert.ok(response.ok, `PUT ${key}: ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as { version: number };
}

/** Polls until `read()` satisfies `check` (no timing assertion: a generous deadline only). */
export async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!check(last)) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await read();
  }
  return last;
}

export const textOf = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';
export const keyNames = (page: Page) => page.locator('#key-list .key-name').allTextContents();

/** Saves a PNG of the page as docs/ui/NAME.png (the screenshots docs/ui.md shows). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = join(repoRoot, 'docs', 'ui');
  mkdirSync(dir, { recursive: true });
  // No blinking caret or running highlight in the picture.
  await page.evaluate('document.activeElement instanceof HTMLElement && document.activeElement.blur()');
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(dir, `${name}.png`), animations: 'disabled' });
}
