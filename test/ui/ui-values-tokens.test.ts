// The web UI in real headless Chromium: values by type (JSON pretty-printed, highlighted and
// foldable; a raster image previewed; SVG never previewed; wrapped base64; copy buttons), the
// JSON editor mode refusing invalid JSON, the token checked with GET /v1/whoami (scope shown, a
// refused token reported in red only with the list kept), a locked-out client told for how long,
// and the "Cannot reach the server" message clearing once the server answers again. Screenshots go to docs/ui/.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { newToken, removeDir, startServer } from '../helpers/server-process.js';
import {
  eventually,
  keyNames,
  launchChromium,
  putValue,
  screenshot,
  skipWithoutChromium,
  textOf,
} from '../helpers/ui-browser.js';
import { useServer } from '../helpers/use-server.js';

// A 24×16 PNG (RGB stripes).
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAC10lEQVR42g3QkRKFQACG0eUoiJswbOIPong5CuImDJs4iOLlKPi5CcOdOIjiHuHeFzhwjDEEhsgQG1Kj3Aij0sgaKkNjaA290Wg0GS1GzrAaZNgNp9FldBu9RsaEBCFRSByShspDEaoMZUOqkCakDelDjaGmUEsoF7KGKGQPOUNdoe5Qb/iHEoKEKCFOSBPliUhUJrIJVUKT0Cb0icZEU6IlkUtYE5SwJ5yJrkR3ojf5QxlBRpQRZ6SZ8kxkKjPZjCqjyWgz+kxjpinTksllrBnK2DPOTFemO9Ob/aFCQaGoUFwoLcgLKCgLbKGqUFOoLdQXjAVTwVLgCq2FVGgvdBZcBXfBW2CMVWAVWcVWqSW3YCkt1qqyaqxaq94yWibLYnFWq5WsdqvTclluy2v/UK2gVlQrrpXW5DXUlDW2VlWrqdXW6mvGmqlmqXG11lqqtdc6a66au+at/1CnoFPUKe6UduQddJQdtlPVqenUduo7xo6pY+lwndZO6rR3Ojuujrvj7f7QQDAQDcQD6aB8EIPKQXagGmgG2oF+0DhoGrQMcgPrgAb2gXPQNege9A7/7JlgJpqJZ9JZ+SxmlbPsTDXTzLQz/axx1jRrmeVm1hnN7DPnrGvWPeud/5AjcESO2JE65U44lU7WUTkaR+vonUanyWlxco7VIcfuOJ0up9vpdX9oI9iINuKNdFO+iU3lJrtRbTQb7Ua/adw0bVo2uY11Qxv7xrnp2nRverc/dCg4FB2KD6UH+QEH5YE9VB1qDrWH+oPxYDpYDtyh9ZAO7YfOg+vgPniPf7ZX4BV5xV6pJ/fgKT3Wq/JqvFqv3jN6Js/icV6rl7x2r9NzeW7P6//Qo+BR9Ch+lD7kDzyUD/ZR9ah51D7qH8aH6WF5cI/WR3q0Pzofrof74X3+0KfgU/Qp/pR+5B98lB/2U/Wp+dR+6j/Gj+lj+XCf1k/6tH86P66P++P9+AEk+xSfV9/xDwAAAABJRU5ErkJggg==',
  'base64',
);
const JSON_VALUE = '{"name":"kvs","big":12345678901234567890,"tags":["a","b"],"nested":{"on":true,"off":null}}';

describe('web UI: values by type, tokens and reconnection', { skip: skipWithoutChromium }, () => {
  let browser: Browser;
  const admin = newToken();
  const reader = newToken();
  const contexts: BrowserContext[] = [];

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
  });
  const server = useServer({
    args: ['--store', 'memory'],
    tokenFileText: `${admin} admin\n${reader} read doc/,img/\n`,
    token: admin,
  });
  before(async () => {
    await putValue(server, 'doc/config.json', JSON_VALUE, 'application/json');
    await putValue(server, 'doc/plain', 'just text', 'text/plain');
    await putValue(server, 'img/stripes.png', PNG, 'image/png');
    await putValue(
      server,
      'img/drawing.svg',
      '<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="ran"</script></svg>',
      'image/svg+xml',
    );
    await putValue(
      server,
      'bin/blob',
      Uint8Array.from({ length: 300 }, (_, index) => (index * 7) % 256),
    );
    browser = await launchChromium();
  });

  async function openUi(hash = '', token?: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    if (token !== undefined) {
      await page.goto(`${server.url}/ui/`);
      await page.evaluate(`sessionStorage.setItem('kvs-token', ${JSON.stringify(token)})`);
    }
    await page.goto(`${server.url}/ui/${hash}`);
    if (token !== undefined) await page.reload();
    await page.locator('#live[data-state="live"]').waitFor();
    assert.deepEqual(errors, [], 'no script errors on the page');
    return page;
  }

  it('shows JSON pretty-printed, highlighted and foldable, with the raw text a click away', async () => {
    const page = await openUi('#prefix=doc%2F&key=doc%2Fconfig.json');
    await page.locator('#value-json:not([hidden])').waitFor();
    assert.equal(await page.locator('#value-text').isVisible(), false);
    const shown = await textOf(page, '#value-json');
    assert.match(
      shown,
      /^\{\n {2}"name": "kvs",\n {2}"big": 12345678901234567890,/,
      'indented, and the number keeps its digits',
    );
    assert.deepEqual(await page.locator('#value-json .json-key').allTextContents(), [
      '"name"',
      '"big"',
      '"tags"',
      '"nested"',
      '"on"',
      '"off"',
    ]);
    assert.equal(await page.locator('#value-json .json-number').textContent(), '12345678901234567890');
    assert.deepEqual(await page.locator('#value-json .json-true, #value-json .json-null').allTextContents(), [
      'true',
      'null',
    ]);
    assert.equal(
      await page.evaluate("getComputedStyle(document.querySelector('#value-json .json-string')).color"),
      'rgb(10, 123, 62)',
      'strings are coloured',
    );
    // Fold "nested": its members hide, a summary says how many.
    const nestedToggle = page.locator('#value-json .json-toggle').nth(2);
    await nestedToggle.click();
    assert.equal(await nestedToggle.getAttribute('aria-expanded'), 'false');
    assert.doesNotMatch(await page.locator('#value-json').innerText(), /"on"/);
    assert.match(await page.locator('#value-json').innerText(), /"nested": \{… 2 keys \}/);
    await screenshot(page, 'value-json');
    await nestedToggle.click();
    assert.match(await page.locator('#value-json').innerText(), /"on": true/);

    await page.getByRole('radio', { name: 'raw' }).check();
    assert.equal(await page.locator('#value-text').isVisible(), true);
    assert.equal(await textOf(page, '#value-text'), JSON_VALUE);
    assert.equal(await page.locator('#value-json').isVisible(), false);

    // A text value has no JSON view.
    await page.getByRole('button', { name: /doc\/plain/ }).click();
    await eventually(
      'the plain value',
      () => textOf(page, '#value-text'),
      (text) => text === 'just text',
    );
    assert.equal(await page.locator('#json-format').isVisible(), false);
  });

  it('previews a raster image from its bytes, never an SVG, and wraps base64', async () => {
    const page = await openUi('#prefix=img%2F&key=img%2Fstripes.png');
    const image = page.locator('#value-image-img');
    await eventually(
      'the decoded preview',
      () => page.evaluate("document.querySelector('#value-image-img').naturalWidth"),
      (width) => width === 24,
    );
    assert.match((await image.getAttribute('src')) ?? '', /^blob:/);
    await eventually(
      'the caption',
      () => textOf(page, '#value-image-caption'),
      (caption) => caption === 'image/png, 24×16 px, 784 B',
    );
    assert.equal(await page.locator('#value-binary').isVisible(), true, 'the bytes are still shown');
    await screenshot(page, 'value-image');

    await page.getByRole('button', { name: /img\/drawing\.svg/ }).click();
    await eventually(
      'the SVG as text',
      () => textOf(page, '#value-text'),
      (text) => text.startsWith('<svg'),
    );
    assert.equal(await page.locator('#value-image').isVisible(), false, 'no SVG preview');
    assert.notEqual(await page.title(), 'ran');

    const binaryPage = await openUi('#prefix=bin%2F&key=bin%2Fblob');
    await binaryPage.locator('#value-binary:not([hidden])').waitFor();
    await binaryPage.getByRole('radio', { name: 'base64' }).check();
    const view = binaryPage.locator('#value-binary-view');
    assert.equal(
      await view.textContent(),
      Buffer.from(Uint8Array.from({ length: 300 }, (_, index) => (index * 7) % 256)).toString('base64'),
    );
    const box = (await binaryPage.evaluate(
      "(pre => ({ white: getComputedStyle(pre).whiteSpace, overflow: pre.scrollWidth - pre.clientWidth }))(document.querySelector('#value-binary-view'))",
    )) as { white: string; overflow: number };
    assert.equal(box.white, 'pre-wrap');
    assert.equal(box.overflow, 0, 'base64 wraps instead of scrolling sideways');
  });

  it('copies the key and the value', async () => {
    const page = await openUi('#prefix=doc%2F&key=doc%2Fplain');
    await eventually(
      'the value',
      () => textOf(page, '#value-text'),
      (text) => text === 'just text',
    );
    await page.getByRole('button', { name: 'Copy key' }).click();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), 'doc/plain');
    assert.match(await textOf(page, '#status'), /Copied the key “doc\/plain”/);
    await page.getByRole('button', { name: 'Copy value' }).click();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), 'just text');
  });

  it('refuses to save invalid JSON under a JSON content type, with a clear message', async () => {
    const page = await openUi('#prefix=doc%2F&key=doc%2Fconfig.json', admin);
    await page.locator('#value-json:not([hidden])').waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await page.locator('#edit-json-hint').isVisible(), true, 'the editor is in JSON mode');
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('{"name": "kvs",}');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the JSON message',
      () => textOf(page, '#editor-problem'),
      (message) => message.startsWith('Not saved: the value is not valid JSON ('),
    );
    await screenshot(page, 'editor-invalid-json');
    const stored = await fetch(`${server.url}/v1/kv/doc%2Fconfig.json`);
    assert.equal(stored.headers.get('kvs-version'), '1', 'nothing was sent');
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('{"name": "kvs", "replicas": 5}');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the saved value',
      () => textOf(page, '#value-text'),
      (text) => text === '{"name": "kvs", "replicas": 5}',
    );
  });

  it('checks a token with the server and shows what it may do; a refused one is reported in red only', async () => {
    const page = await openUi('#prefix=doc%2F');
    await page.getByLabel('Token', { exact: true }).fill(admin);
    await page.getByRole('button', { name: 'Use token' }).click();
    await eventually(
      'the admin scope',
      () => textOf(page, '#token-state'),
      (state) => state === 'Token set for this tab: admin, all keys.',
    );
    await page.getByLabel('Token', { exact: true }).fill(reader);
    await page.getByRole('button', { name: 'Use token' }).click();
    await eventually(
      'the read scope',
      () => textOf(page, '#token-state'),
      (state) => state === 'Token set for this tab: read, prefixes doc/ img/.',
    );
    assert.ok(!(await textOf(page, '#token-state')).includes(reader), 'never the secret');

    await page.getByLabel('Token', { exact: true }).fill('not-a-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    await eventually(
      'the refusal',
      () => textOf(page, '#problem'),
      (message) => message.includes('rejected the token'),
    );
    assert.equal(await page.locator('#status').isVisible(), false, 'no green "Token saved"');
    assert.equal(
      await textOf(page, '#token-state'),
      'Token set for this tab: read, prefixes doc/ img/.',
      'the accepted token stays',
    );
    assert.deepEqual(await keyNames(page), ['doc/config.json', 'doc/plain'], 'the list stays');
    assert.equal(await page.evaluate("sessionStorage.getItem('kvs-token')"), reader);
    await screenshot(page, 'token-refused');
  });

  it('tells a client locked out after failed tokens for how long (the server sends retryAfter)', async () => {
    // A server of its own: the lockout is per client address, and every page here is 127.0.0.1.
    const strict = await startServer({ args: ['--store', 'memory', '--auth-failures', '1'] });
    try {
      const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, colorScheme: 'light' });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`${strict.url}/ui/`);
      await page.locator('#live[data-state="live"]').waitFor();
      await page.getByLabel('Token', { exact: true }).fill('not-a-token');
      await page.getByRole('button', { name: 'Use token' }).click();
      await eventually(
        'the first refusal',
        () => textOf(page, '#problem'),
        (message) => message.includes('rejected the token'),
      );
      await page.getByLabel('Token', { exact: true }).fill('still-not-a-token');
      await page.getByRole('button', { name: 'Use token' }).click();
      await eventually(
        'the lockout with its length',
        () => textOf(page, '#problem'),
        (message) => /^Too many failed token attempts from this address; retry in [1-9]\d* s\.$/.test(message),
      );
    } finally {
      await strict.stop();
      removeDir(strict.dataDir);
    }
  });

  it('clears "Cannot reach the server" once the server answers again', async () => {
    const page = await openUi('#prefix=doc%2F');
    // The network drops for value reads only (the browser refuses them, as a dead server would).
    await page.route('**/v1/kv/doc%2Fplain', (route) => route.abort('connectionrefused'));
    await page.getByRole('button', { name: /doc\/plain/ }).click();
    await eventually(
      'the unreachable message',
      () => textOf(page, '#problem'),
      (message) => message.startsWith('Cannot reach the server'),
    );
    await page.unroute('**/v1/kv/doc%2Fplain');
    await page.getByRole('button', { name: /doc\/config\.json/ }).click();
    await page.locator('#problem').waitFor({ state: 'hidden' });
  });
});
