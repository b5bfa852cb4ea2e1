// The web UI (/ui) in real headless Chromium against real kvs servers: browsing by prefix,
// pagination, metadata, create/edit/delete checked through the HTTP API, an edit conflict, binary
// values, TTL, live updates (put, delete, expire, reconnect) and private servers.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { newToken, removeDir, repoRoot, startServer, type ServerProcess } from '../helpers/server-process.js';
import {
  eventually,
  keyNames,
  launchChromium,
  screenshot,
  skipWithoutChromium,
  textOf,
} from '../helpers/ui-browser.js';
import { useServer } from '../helpers/use-server.js';

const skip = skipWithoutChromium;
const reportDir = join(repoRoot, 'test-reports');

interface PutOptions {
  readonly contentType?: string;
  readonly ttl?: number;
  readonly token?: string;
}

/** A PUT over the HTTP API (not through the UI). */
async function put(
  server: ServerProcess,
  key: string,
  value: string | Uint8Array,
  options: PutOptions = {},
): Promise<{ version: number; createRevision: number; modRevision: number }> {
  const headers: Record<string, string> = { authorization: `Bearer ${options.token ?? server.token}` };
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  const query = options.ttl === undefined ? '' : `?ttl=${options.ttl}`;
  const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}${query}`, {
    method: 'PUT',
    headers,
    body: value,
  });
  assert.ok(response.ok, `PUT ${key}: ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as { version: number; createRevision: number; modRevision: number };
}

async function read(server: ServerProcess, key: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), headers: response.headers };
}

async function remove(server: ServerProcess, key: string): Promise<void> {
  const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${server.token}` },
  });
  assert.equal(response.status, 200);
}

async function putMany(server: ServerProcess, pairs: [string, string][]): Promise<void> {
  const response = await fetch(`${server.url}/v1/txn`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ operations: pairs.map(([key, value]) => ({ op: 'put', key, value })) }),
  });
  assert.equal(response.status, 200, await response.text());
}

const text = textOf;

describe('web UI in headless Chromium', { skip }, () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
  });
  const server = useServer({ args: ['--store', 'memory', '--max-value-bytes', '4096'] });
  before(async () => {
    browser = await launchChromium();
  });

  /**
   * Enters a token and waits until the page uses it: only once the server has checked it (GET
   * /v1/whoami). Waiting for the live feed is not enough, as it may already be live from the
   * public reads (a CI run read the token state, another would have saved, before the check had
   * answered).
   */
  async function useToken(page: Page, token: string): Promise<void> {
    await page.getByLabel('Token', { exact: true }).fill(token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator('#token-state', { hasText: 'Token set' }).waitFor();
  }

  /** A fresh tab (own sessionStorage) on the UI, optionally with a prefix and token already set. */
  async function openUi(
    target: ServerProcess,
    options: { prefix?: string; key?: string; token?: string; expectLive?: boolean } = {},
  ): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 }, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const state = new URLSearchParams();
    if (options.prefix !== undefined) state.set('prefix', options.prefix);
    if (options.key !== undefined) state.set('key', options.key);
    await page.goto(`${target.url}/ui/${state.toString() === '' ? '' : `#${state}`}`);
    if (options.token !== undefined) await useToken(page, options.token);
    if (options.expectLive !== false) await page.locator('#live[data-state="live"]').waitFor();
    assert.deepEqual(errors, [], 'no script errors on the page');
    return page;
  }

  it('serves the page and its assets with content types, and redirects /ui to /ui/', async () => {
    const redirect = await fetch(`${server.url}/ui`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(new URL(redirect.headers.get('location')!, server.url).pathname, '/ui/');
    const page = await fetch(`${server.url}/ui/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.ok(page.headers.get('etag'), 'revalidation by ETag');
    assert.match(await page.text(), /<title>kvs<\/title>/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
    const script = await fetch(`${server.url}/ui/main.js`);
    assert.match(script.headers.get('content-type')!, /javascript/);
    assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
    const style = await fetch(`${server.url}/ui/ui.css`);
    assert.match(style.headers.get('content-type')!, /^text\/css/);
    for (const hidden of ['/ui/main.ts', '/ui/tsconfig.json', '/ui/%2e%2e/package.json']) {
      assert.equal((await fetch(`${server.url}${hidden}`)).status, 404, hidden);
    }
    const index = await (await fetch(`${server.url}/`)).text();
    assert.match(index, /href="[^"]*\/ui\/"/, 'the index page links the UI');
  });

  it('lists keys by prefix in server order and loads more pages', async () => {
    const expected = Array.from({ length: 63 }, (_, index) => `page/k${String(index).padStart(3, '0')}`);
    // Keys beyond the BMP and above U+E000 check the code point (UTF-8) order of live inserts too.
    await putMany(server, [
      ...expected.map((key): [string, string] => [key, key]),
      ['pagex/other', 'x'],
      ['other/key', 'y'],
    ]);
    const page = await openUi(server);
    await page.getByLabel('Prefix').fill('page/');
    await page.getByLabel('Prefix').press('Enter');
    await eventually(
      'the first page',
      () => text(page, '#list-summary'),
      (summary) => summary.startsWith('Keys 1–50 of 63 starting with “page/”'),
    );
    assert.deepEqual(await keyNames(page), expected.slice(0, 50));
    await page.getByRole('button', { name: 'Load more' }).click();
    await eventually(
      'the second page',
      () => keyNames(page),
      (names) => names.length === 63,
    );
    assert.deepEqual(await keyNames(page), expected);
    assert.equal(await page.getByRole('button', { name: 'Load more' }).isVisible(), false);
    // The folder index gives the folder's own count.
    assert.match(await text(page, '#list-summary'), /^Keys 1–63 of 63 starting with “page\/”/);

    // Keyboard: arrows move between rows, Enter opens, '/' jumps to the prefix field.
    await page.locator('#key-list .key-row').first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await eventually(
      'the value opened by keyboard',
      () => text(page, '#value-key'),
      (key) => key === 'page/k002',
    );
    assert.equal(await text(page, '#value-text'), 'page/k002');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate('document.activeElement.id'), 'prefix');

    await page.getByLabel('Prefix').fill('pagex');
    await page.getByRole('button', { name: 'Search' }).click();
    await eventually(
      'the other prefix',
      () => keyNames(page),
      (names) => names.length === 1 && names[0] === 'pagex/other',
    );
  });

  it('opens a value with its metadata', async () => {
    await put(server, 'meta/config.json', '{"a":1}', { contentType: 'application/json' });
    const written = await put(server, 'meta/config.json', '{"a": 2, "name": "kvs"}', {
      contentType: 'application/json',
      ttl: 3600,
    });
    const page = await openUi(server, { prefix: 'meta/' });
    await page.getByRole('button', { name: /meta\/config\.json/ }).click();
    await page.locator('#value-view:not([hidden])').waitFor();
    assert.equal(await text(page, '#value-key'), 'meta/config.json');
    assert.equal(await text(page, '#value-text'), '{"a": 2, "name": "kvs"}');
    const meta = Object.fromEntries(
      await page
        .locator('#value-meta dt')
        .evaluateAll((terms) => terms.map((term) => [term.textContent, term.nextElementSibling?.textContent])),
    ) as Record<string, string>;
    assert.equal(meta.Version, '2');
    assert.equal(meta.Revisions, `created at ${written.createRevision}, modified at ${written.modRevision}`);
    assert.match(meta.Updated!, /now|second|ago/);
    assert.match(meta.Expires!, /^in (60 minutes|1 hour)$/);
    assert.equal(meta['Content type'], 'application/json');
    assert.equal(meta.Size, `${Buffer.byteLength('{"a": 2, "name": "kvs"}')} B`);
    assert.equal(await page.locator('#key-list [aria-current="true"] .key-name').textContent(), 'meta/config.json');
    assert.match(page.url(), /#prefix=meta%2F&key=meta%2Fconfig\.json$/, 'the open key is in the URL');

    mkdirSync(reportDir, { recursive: true });
    await page.screenshot({ path: join(reportDir, 'web-ui.png') });
  });

  it('creates, edits (TTL too) and deletes a value, and asks for a token first', async () => {
    const page = await openUi(server, { prefix: 'crud/' });
    await page.getByRole('button', { name: 'New key' }).click();
    assert.equal(
      await page.getByRole('textbox', { name: 'Key', exact: true }).inputValue(),
      'crud/',
      'a new key starts with the prefix',
    );
    await page.getByRole('textbox', { name: 'Key', exact: true }).fill('crud/one');
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('first value');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the 401 message',
      () => text(page, '#editor-problem'),
      (message) => message.includes('needs a token'),
    );
    assert.equal((await read(server, 'crud/one')).status, 404);

    await useToken(page, server.token);
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the saved value',
      () => text(page, '#value-text'),
      (value) => value === 'first value',
    );
    assert.match(await text(page, '#status'), /Saved “crud\/one” \(version 1\)/);
    let stored = await read(server, 'crud/one');
    assert.equal(stored.body.toString(), 'first value');
    assert.equal(stored.headers.get('kvs-version'), '1');
    assert.equal(stored.headers.get('kvs-expires'), null);
    await page.locator('#key-list .key-name', { hasText: 'crud/one' }).waitFor();

    await page.getByRole('button', { name: 'Edit' }).click();
    assert.equal(
      await page.getByRole('textbox', { name: 'Key', exact: true }).isEditable(),
      false,
      'the key of an existing value is fixed',
    );
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('second value');
    await page.getByLabel('Content type').fill('text/markdown');
    await page.getByLabel('Expires after (seconds)').fill('600');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the edited value',
      () => text(page, '#value-text'),
      (value) => value === 'second value',
    );
    stored = await read(server, 'crud/one');
    assert.equal(stored.body.toString(), 'second value');
    assert.equal(stored.headers.get('kvs-version'), '2');
    assert.equal(stored.headers.get('content-type'), 'text/markdown');
    const expires = Date.parse(stored.headers.get('kvs-expires') ?? '');
    assert.ok(
      expires > Date.now() + 500_000 && expires <= Date.now() + 600_000,
      `expires ~10 minutes from now: ${stored.headers.get('kvs-expires')}`,
    );

    // Creating a key that exists is refused (If-None-Match: *), not an overwrite.
    await page.getByRole('button', { name: 'New key' }).click();
    await page.getByRole('textbox', { name: 'Key', exact: true }).fill('crud/one');
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('clobber');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the exists message',
      () => text(page, '#editor-problem'),
      (message) => message.includes('already exists'),
    );
    assert.equal((await read(server, 'crud/one')).body.toString(), 'second value');
    await page.getByRole('button', { name: 'Cancel' }).click();

    // Too large: 413 with the limit.
    await page.getByRole('button', { name: 'New key' }).click();
    await page.getByRole('textbox', { name: 'Key', exact: true }).fill('crud/big');
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('x'.repeat(5000));
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the 413 message',
      () => text(page, '#editor-problem'),
      (message) => message.includes('too large') && message.includes('4096 bytes'),
    );
    assert.equal((await read(server, 'crud/big')).status, 404);
    await page.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: /crud\/one/ }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    const dialog = page.getByRole('dialog');
    assert.match((await dialog.textContent()) ?? '', /Delete “crud\/one” \(version 2\)\?/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await read(server, 'crud/one')).status, 200, 'cancel keeps the key');
    await page.getByRole('button', { name: 'Delete…' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.locator('#key-list .key-name', { hasText: 'crud/one' }).waitFor({ state: 'detached' });
    assert.equal((await read(server, 'crud/one')).status, 404);
    // The watch stream may take the row away before the DELETE's answer sets the status line.
    await eventually(
      'the delete status',
      () => text(page, '#status'),
      (status) => /Deleted “crud\/one”/.test(status),
    );
  });

  it('refuses to overwrite a concurrent change with a clear conflict message', async () => {
    await put(server, 'conflict/doc', 'original');
    const page = await openUi(server, { prefix: 'conflict/', key: 'conflict/doc', token: server.token });
    await eventually(
      'the value',
      () => text(page, '#value-text'),
      (value) => value === 'original',
    );
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('my edit');
    await put(server, 'conflict/doc', 'their edit');
    await eventually(
      'the remote change notice',
      () => text(page, '#editor-remote'),
      (notice) => notice.includes('now version 2'),
    );
    assert.equal(
      await page.getByRole('textbox', { name: 'Value', exact: true }).inputValue(),
      'my edit',
      'the live update does not touch the form',
    );
    await page.getByRole('button', { name: 'Save' }).click();
    const message = await eventually(
      'the conflict message',
      () => text(page, '#editor-problem'),
      (problem) => problem !== '',
    );
    assert.match(
      message,
      /^Conflict: “conflict\/doc” was changed by someone else after you opened it \(it is now at version 2\), so nothing was changed\. Your text is still in the form/,
    );
    const stored = await read(server, 'conflict/doc');
    assert.equal(stored.body.toString(), 'their edit');
    assert.equal(stored.headers.get('kvs-version'), '2');
    assert.equal(
      await page.getByRole('textbox', { name: 'Value', exact: true }).inputValue(),
      'my edit',
      'the user keeps their text',
    );

    await page.getByRole('button', { name: 'Cancel' }).click();
    await eventually(
      'the current value after cancel',
      () => text(page, '#value-text'),
      (value) => value === 'their edit',
    );
  });

  it('shows a binary value as hex and base64, downloads it, and sets a TTL keeping its bytes', async () => {
    const bytes = Uint8Array.from([
      0x89,
      0x50,
      0x4e,
      0x47,
      0x0d,
      0x0a,
      0x1a,
      0x0a,
      0x00,
      0xff,
      0xfe,
      0x10,
      ...Array.from({ length: 40 }, (_, index) => index * 5),
    ]);
    await put(server, 'bin/image.png', bytes, { contentType: 'image/png' });
    await put(server, 'bin/raw', Uint8Array.from([0xc3, 0x28, 0x00, 0x01]));
    const page = await openUi(server, { prefix: 'bin/', key: 'bin/image.png', token: server.token });
    await page.locator('#value-binary:not([hidden])').waitFor();
    assert.equal(await page.locator('#value-text').isVisible(), false);
    assert.match(
      await text(page, '#value-binary-view'),
      /^00000000 {2}89 50 4e 47 0d 0a 1a 0a 00 ff fe 10 00 05 0a 0f {2}\|\.PNG\.\.\.\.\.\.\.\.\.\.\.\.\|/,
    );
    await page.getByRole('radio', { name: 'base64' }).check();
    assert.equal(await text(page, '#value-binary-view'), Buffer.from(bytes).toString('base64'));

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'image.png');
    assert.deepEqual(readFileSync(await download.path()), Buffer.from(bytes));

    // Setting a TTL on a binary value re-sends the same bytes.
    await page.getByRole('button', { name: 'Edit' }).click();
    assert.match(await text(page, '#edit-binary-note'), /binary \(52 B\)/);
    await page.getByLabel('Expires after (seconds)').fill('3600');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the saved TTL',
      () => text(page, '#value-meta'),
      (meta) => /Expires\s*in (60 minutes|1 hour)/.test(meta),
    );
    const stored = await read(server, 'bin/image.png');
    assert.deepEqual(stored.body, Buffer.from(bytes));
    assert.equal(stored.headers.get('content-type'), 'image/png');
    assert.equal(stored.headers.get('kvs-version'), '2');
    assert.ok(stored.headers.get('kvs-expires'));

    // No content type, but not UTF-8: binary as well.
    await page.getByRole('button', { name: /bin\/raw/ }).click();
    await eventually(
      'the raw bytes (still as base64)',
      () => text(page, '#value-binary-view'),
      (view) => view === 'wygAAQ==',
    );
    await page.getByRole('radio', { name: 'hex' }).check();
    assert.match(await text(page, '#value-binary-view'), /^00000000 {2}c3 28 00 01 {38}\|\.\(\.\.\|$/);
  });

  it('shows puts, deletes, expiries and edits live, and resumes after losing the connection', async () => {
    await put(server, 'live/open', 'v1');
    const page = await openUi(server, { prefix: 'live/', key: 'live/open' });
    assert.equal(await text(page, '#live-text'), 'Live');
    await eventually(
      'the open value',
      () => text(page, '#value-text'),
      (value) => value === 'v1',
    );
    // A marker on the window proves that what follows happens without a reload.
    await page.evaluate('window.kvsTestMarker = 42');

    await put(server, 'live/added', 'new');
    await page.locator('#key-list .key-name', { hasText: 'live/added' }).waitFor();
    assert.deepEqual(await keyNames(page), ['live/added', 'live/open']);
    await put(server, 'other-prefix/ignored', 'x');

    await put(server, 'live/open', 'v2 from elsewhere');
    await eventually(
      'the live value',
      () => text(page, '#value-text'),
      (value) => value === 'v2 from elsewhere',
    );
    assert.match(await text(page, '#value-notice'), /Updated live to version 2/);
    await eventually(
      'the list row',
      () => text(page, '#key-list li:has(.key-name:text-is("live/open")) .key-meta'),
      (meta) => /^v2 · 17 B/.test(meta),
    );

    await remove(server, 'live/added');
    await page.locator('#key-list .key-name', { hasText: 'live/added' }).waitFor({ state: 'detached' });

    await put(server, 'live/short', 'soon gone', { ttl: 1 });
    await page.getByRole('button', { name: /live\/short/ }).click();
    await eventually(
      'the expiry notice',
      () => text(page, '#value-notice'),
      (notice) => notice.startsWith('“live/short” was expired at revision'),
    );
    assert.equal(await page.locator('#key-list .key-name', { hasText: 'live/short' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Edit' }).isDisabled(), true);

    await remove(server, 'live/open');
    assert.deepEqual(
      await eventually(
        'the empty list',
        () => keyNames(page),
        (names) => names.length === 0,
      ),
      [],
    );

    assert.equal(await page.evaluate('window.kvsTestMarker'), 42, 'the page was not reloaded');
  });

  it('inserts live keys in the server order (code points, not UTF-16) and reloads on a burst', async () => {
    const page = await openUi(server, { prefix: 'order/' });
    assert.match(await text(page, '#list-summary'), /^No keys starting with “order\/”/);
    // U+1F600 is above U+E000 in code points (and UTF-8 bytes) but below it in UTF-16 units.
    for (const key of ['order/\u{1F600}', 'order/z', 'order/\uE000', 'order/a', 'order/ä']) {
      await put(server, key, key);
      await page.locator('#key-list .key-name', { hasText: key }).waitFor();
    }
    const listed = async () =>
      ((await (await fetch(`${server.url}/v1/kv?prefix=order%2F`)).json()) as { items: { key: string }[] }).items.map(
        (item) => item.key,
      );
    const serverOrder = await listed();
    assert.deepEqual(serverOrder, ['order/a', 'order/z', 'order/ä', 'order/\uE000', 'order/\u{1F600}']);
    assert.deepEqual(await keyNames(page), serverOrder);

    // 40 keys in one transaction: one list reload instead of 40 reads.
    const listings: URL[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/v1/kv') listings.push(url);
    });
    await putMany(
      server,
      Array.from({ length: 40 }, (_, index): [string, string] => [
        `order/burst/${String(index).padStart(2, '0')}`,
        'x',
      ]),
    );
    await eventually(
      'the burst',
      () => keyNames(page),
      (names) => names.length === 45,
    );
    assert.deepEqual(await keyNames(page), await listed());
    assert.deepEqual(
      listings.map((url) => [url.searchParams.get('prefix'), url.searchParams.get('limit')]),
      [['order/', '50']],
    );
    await page.locator('#live[data-state="live"]').waitFor();
  });

  it('resumes the live feed after a server restart and receives what it missed', async () => {
    // lmdb keeps the change log across restarts. The write happens on a server the page cannot
    // reach (another port), so the page can only learn of it by resuming from its last revision.
    const first = await startServer();
    const sameStore = { dataDir: first.dataDir, tokenFileText: `${first.token} admin\n` };
    let current: ServerProcess = first;
    try {
      await put(first, 'resume/before', '1');
      const page = await openUi(first, { prefix: 'resume/' });
      await page.locator('#key-list .key-name', { hasText: 'resume/before' }).waitFor();
      await page.evaluate('window.kvsTestMarker = 7');
      await first.stop();
      await page.locator('#live:not([data-state="live"])').waitFor();

      const elsewhere = await startServer(sameStore);
      current = elsewhere;
      await put({ ...elsewhere, token: first.token }, 'resume/while-away', 'missed?');
      await elsewhere.stop();

      current = await startServer({ ...sameStore, args: ['--port', String(first.port)] });
      assert.equal(current.port, first.port);
      await page.locator('#key-list .key-name', { hasText: 'resume/while-away' }).waitFor({ timeout: 30_000 });
      await page.locator('#live[data-state="live"]').waitFor();
      assert.deepEqual(await keyNames(page), ['resume/before', 'resume/while-away']);
      assert.equal(await page.evaluate('window.kvsTestMarker'), 7, 'the page was not reloaded');
    } finally {
      await current.stop();
      removeDir(first.dataDir);
    }
  });

  it('restores the token from sessionStorage on reload', async () => {
    const page = await openUi(server, { token: server.token });
    assert.match(await text(page, '#token-state'), /Token set/);
    await page.reload();
    await page.locator('#live[data-state="live"]').waitFor();
    assert.equal(await page.getByLabel('Token', { exact: true }).inputValue(), server.token);
    await page.getByRole('button', { name: 'Forget' }).click();
    await page.reload();
    assert.equal(await page.getByLabel('Token', { exact: true }).inputValue(), '');
  });
});

describe('web UI on a --private server', { skip }, () => {
  let browser: Browser;
  const scoped = newToken();
  const admin = newToken();
  const contexts: BrowserContext[] = [];
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
  });
  // startServer's own token is not in this token file: server.token is this file's admin token.
  const server = useServer({
    args: ['--store', 'memory', '--private'],
    tokenFileText: `${admin} admin\n${scoped} write public/\n`,
    token: admin,
  });
  before(async () => {
    browser = await launchChromium();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${server.url}/ui/`);
    return page;
  }

  it('asks for a token, then lists and watches with it (the token only ever in the Authorization header)', async () => {
    await put(server, 'public/a', 'alpha');
    const page = await newPage();
    const watchRequests: { url: string; authorization: string | undefined }[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/v1/watch'))
        watchRequests.push({ url: request.url(), authorization: request.headers().authorization });
    });
    // A login prompt, not an error: the list needs a token here (docs/ui.md, "Token").
    await page.locator('#login:not([hidden])').waitFor();
    assert.match(await text(page, '#login'), /This server is private/);
    assert.equal(await page.locator('#live').getAttribute('data-state'), 'locked');
    assert.equal(await page.locator('#problem').isVisible(), false);
    await screenshot(page, 'private-login');

    await page.getByLabel('Token', { exact: true }).fill('not-a-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    await eventually(
      'the 403 message',
      () => text(page, '#problem'),
      (message) => message.includes('rejected the token'),
    );

    await page.getByLabel('Token', { exact: true }).fill(server.token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator('#live[data-state="live"]').waitFor();
    assert.deepEqual(await keyNames(page), ['public/a']);
    assert.equal(await page.locator('#problem').isVisible(), false);
    await put(server, 'public/b', 'beta');
    await page.locator('#key-list .key-name', { hasText: 'public/b' }).waitFor();
    // Proxies log URLs: the token must never be in one.
    assert.ok(watchRequests.length > 0);
    for (const request of watchRequests) {
      assert.ok(!request.url.includes('auth='), `token in the watch URL: ${request.url}`);
      assert.ok(!request.url.includes(server.token), `token in the watch URL: ${request.url}`);
    }
    assert.ok(watchRequests.some((request) => request.authorization === `Bearer ${server.token}`));
  });

  it('explains a write outside the token scope (403 forbidden)', async () => {
    const page = await newPage();
    await page.getByLabel('Token', { exact: true }).fill(scoped);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator('#live[data-state="live"]').waitFor();
    await page.getByRole('button', { name: 'New key' }).click();
    await page.getByRole('textbox', { name: 'Key', exact: true }).fill('secret/x');
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('nope');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the forbidden message',
      () => text(page, '#editor-problem'),
      (message) => message.includes('does not allow this on “secret/x”'),
    );
    assert.equal((await read(server, 'secret/x')).status, 404);

    await page.getByRole('textbox', { name: 'Key', exact: true }).fill('public/mine');
    await page.getByRole('button', { name: 'Save' }).click();
    await eventually(
      'the saved value',
      () => text(page, '#value-text'),
      (value) => value === 'nope',
    );
    assert.equal((await read(server, 'public/mine')).body.toString(), 'nope');
  });
});
