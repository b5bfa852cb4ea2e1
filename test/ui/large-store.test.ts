// The web UI on a store of 1,000,000 keys, in real headless Chromium: the keys are written
// straight into the lmdb store by kvs's own LmdbEngine (bench/startup/load-lmdb-store.ts, not
// over HTTP), then a real server opens it. The folder view shows capped counts and the store's
// real total, breadcrumbs lead back, pages go forward and back by cursor, and a pattern search
// finds keys deep in the store. Screenshots go to docs/ui/.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { findLmdbStore } from '../../bench/startup/store-path.js';
import {
  eventually,
  keyNames,
  launchChromium,
  putValue,
  screenshot,
  skipWithoutChromium,
  textOf,
} from '../helpers/ui-browser.js';
import { removeDir, repoRoot, type ServerProcess, startServer, tempDir } from '../helpers/server-process.js';

const LOADED_KEYS = 1_000_000;
/** Written over HTTP after the load: a few small folders next to the big one. */
const SMALL_KEYS: readonly [string, string, string][] = [
  [
    'config/app.json',
    '{"name":"kvs","replicas":3,"features":{"ui":true,"beta":null},"owners":["ops","dev"]}',
    'application/json',
  ],
  ['config/flags', 'dark-mode=on', 'text/plain'],
  ['readme', 'a key outside any folder', 'text/plain'],
];

/** Runs the loader as its own process (no server has the store open meanwhile). */
function loadStore(store: string, keys: number, prefix: string): Promise<string> {
  const loader = join(repoRoot, 'dist', 'bench', 'startup', 'load-lmdb-store.js');
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [loader, '--path', store, '--keys', String(keys), '--prefix', prefix, '--value-bytes', '20', '--batch', '50000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output.trim().split('\n').pop() ?? '');
      else reject(new Error(`load-lmdb-store exited ${code}:\n${output.slice(-2000)}`));
    });
  });
}

describe(
  `web UI on a store of ${LOADED_KEYS.toLocaleString('en')} keys (written by the LmdbEngine)`,
  {
    skip: skipWithoutChromium,
  },
  () => {
    let browser: Browser;
    let server: ServerProcess | undefined;
    const dataDir = tempDir('kvs-ui-large');
    const contexts: BrowserContext[] = [];

    before(async () => {
      // A first start lays out the data directory; the loader then fills the store it made.
      const first = await startServer({ dataDir });
      await first.stop();
      const loaded = await loadStore(findLmdbStore(dataDir), LOADED_KEYS, 'users/');
      assert.match(loaded, new RegExp(`store holds ${LOADED_KEYS} keys`), loaded);
      server = await startServer({ dataDir, tokenFileText: `${first.token} admin\n` });
      for (const [key, value, type] of SMALL_KEYS) await putValue({ ...server, token: first.token }, key, value, type);
      browser = await launchChromium();
    });
    after(async () => {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser?.close();
      await server?.stop();
      removeDir(dataDir);
    });

    async function openUi(viewport: { width: number; height: number }, hash = ''): Promise<Page> {
      const phone = viewport.width < 500;
      const context = await browser.newContext({ viewport, colorScheme: 'light', hasTouch: phone, isMobile: phone });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${server!.url}/ui/${hash}`);
      await page.locator('#live[data-state="live"]').waitFor();
      assert.deepEqual(errors, [], 'no script errors on the page');
      return page;
    }

    const total = LOADED_KEYS + SMALL_KEYS.length;
    const totalText = total.toLocaleString('en');

    it('shows folders with their exact counts from the folder index and the real total, then pages through one folder by cursor', async () => {
      const page = await openUi({ width: 1200, height: 760 });
      await eventually(
        'the store total',
        () => textOf(page, '#store-summary'),
        (summary) => summary.startsWith(`${totalText} keys in the store`),
      );
      const folders = await page
        .locator('#folders .folder-row')
        .evaluateAll((rows) =>
          rows.map((row) => [
            row.querySelector('.folder-name')?.textContent,
            row.querySelector('.folder-count')?.textContent,
          ]),
        );
      assert.deepEqual(folders, [
        ['config/', '2 keys'],
        ['users/', '1,000,000 keys'],
      ]);
      await eventually(
        'the list summary with the total',
        () => textOf(page, '#list-summary'),
        (summary) => summary.startsWith(`Keys 1–50 of ${totalText} in the store`),
      );
      await screenshot(page, 'large-store-root');

      await page
        .locator('#folders')
        .getByRole('button', { name: /users\// })
        .click();
      await eventually(
        'the users/ folder',
        () => textOf(page, '#list-summary'),
        (summary) => summary.startsWith('Keys 1–50 of 1,000,000 starting with “users/”'),
      );
      assert.equal(await textOf(page, '#crumbs'), 'All keysusers/');
      const firstPage = await keyNames(page);
      assert.equal(firstPage[0], 'users/000000');
      assert.equal(firstPage.length, 50);

      for (let pageNumber = 2; pageNumber <= 3; pageNumber++) {
        await page.getByRole('button', { name: 'Next page ›' }).click();
        const from = (pageNumber - 1) * 50;
        await eventually(
          `page ${pageNumber}`,
          () => keyNames(page),
          (names) => names[0] === `users/${String(from).padStart(6, '0')}` && names.length === 50,
        );
        assert.match(
          await textOf(page, '#list-summary'),
          new RegExp(`^Keys ${from + 1}–${from + 50} of 1,000,000 starting with “users/”`),
        );
      }
      await page.getByRole('button', { name: '‹ Previous page' }).click();
      await eventually(
        'back on page 2',
        () => keyNames(page),
        (names) => names[0] === 'users/000050',
      );
      await page.getByRole('button', { name: 'users/000060' }).click();
      await eventually(
        'the value',
        () => textOf(page, '#value-key'),
        (key) => key === 'users/000060',
      );
      await screenshot(page, 'large-store-folder');

      await page.locator('#crumbs').getByRole('button', { name: 'All keys' }).click();
      await eventually(
        'back at the root',
        () => textOf(page, '#list-summary'),
        (summary) => summary.startsWith(`Keys 1–50 of ${totalText}`),
      );
    });

    it('finds keys by pattern deep in the store, one bounded page after another', async () => {
      const page = await openUi({ width: 1200, height: 760 });
      await page.getByLabel('Search by').selectOption('pattern');
      await page.getByLabel('Pattern').fill('users/9999?1');
      await page.getByLabel('Pattern').press('Enter');
      await eventually(
        'the matches',
        () => keyNames(page),
        (names) => names.length === 10,
      );
      assert.deepEqual(
        await keyNames(page),
        Array.from({ length: 10 }, (_, index) => `users/9999${index}1`),
      );
      assert.match(await textOf(page, '#list-summary'), /^10 keys matching “users\/9999\?1”/);
      assert.equal(await page.locator('#live').getAttribute('data-state'), 'paused', 'a search is not live');
      assert.match(page.url(), /#pattern=users%2F9999%3F1$/);
      await screenshot(page, 'large-store-search');
    });

    it('works as master/detail on a 390×844 phone screen', async () => {
      const page = await openUi({ width: 390, height: 844 }, '#prefix=users%2F');
      await eventually(
        'the list',
        () => keyNames(page),
        (names) => names.length === 50,
      );
      assert.equal(await page.locator('#detail').isVisible(), false, 'the value column waits');
      await screenshot(page, 'phone-list');
      await page.getByRole('button', { name: 'users/000002' }).tap();
      await eventually(
        'the value on screen',
        () => page.locator('#value-view').isVisible(),
        (visible) => visible,
      );
      assert.equal(await textOf(page, '#value-key'), 'users/000002');
      assert.equal(await page.locator('.browser').isVisible(), false, 'the list hides');
      await screenshot(page, 'phone-value');
      await page.getByRole('button', { name: '‹ Keys' }).tap();
      await page.locator('.browser').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#detail').isVisible(), false);
      assert.doesNotMatch(page.url(), /key=/, 'back closes the value');
    });
  },
);
