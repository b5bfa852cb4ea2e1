// The web UI's history panel and Deleted keys view in real headless Chromium against a real kvs
// server: versions written over HTTP listed newest first, a line diff of one version against the
// current value and of two versions, a revert (checked over HTTP), a revert refused with 412
// when the key changed since it was shown, values shown in the diff as text only, and a deleted
// key restored from Deleted keys.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ServerProcess } from '../helpers/server-process.js';
import {
  eventually,
  launchChromium,
  putValue,
  screenshot,
  skipWithoutChromium,
  textOf,
} from '../helpers/ui-browser.js';
import { useServer } from '../helpers/use-server.js';

const skip = skipWithoutChromium;

async function read(server: ServerProcess, key: string): Promise<{ status: number; text: string; version: string }> {
  const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  return { status: response.status, text: await response.text(), version: response.headers.get('kvs-version') ?? '' };
}

async function remove(server: ServerProcess, key: string): Promise<void> {
  const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${server.token}` },
  });
  assert.equal(response.status, 200);
}

interface HistoryJson {
  versions: { revision: number; version: number; type: string; who: { via: string | null } | null }[];
}

async function history(server: ServerProcess, key: string): Promise<HistoryJson> {
  const response = await fetch(`${server.url}/v1/kv/${encodeURIComponent(key)}?history`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as HistoryJson;
}

const V1 = 'line one\nline two\n';
const V2 = 'line one\nline 2\nline three\n';
const V3 = 'line one\nline 2\nline three\nline four\n';

describe('history panel in headless Chromium', { skip }, () => {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
  });
  const server = useServer({ args: ['--store', 'memory'] });
  before(async () => {
    browser = await launchChromium();
  });

  /** A fresh tab on the UI with the admin token, at `fragment` (prefix or pattern, and key). */
  async function openUi(fragment: Record<string, string>, live = true): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/ui/`);
    await page.evaluate(`sessionStorage.setItem('kvs-token', ${JSON.stringify(server.token)})`);
    await page.goto(`${server.url}/ui/#${new URLSearchParams(fragment)}`);
    await page.reload();
    await page.locator(live ? '#live[data-state="live"]' : '#live[data-state="paused"]').waitFor();
    return { page, errors };
  }

  const rowsOf = (page: Page) => page.locator('#history-rows tr');
  const column = (page: Page, index: number) =>
    page.locator(`#history-rows tr td:nth-child(${index})`).allTextContents();
  const diffLines = (page: Page, kind: 'added' | 'removed') =>
    page.locator(`#history-diff .diff-${kind}`).allTextContents();

  it('lists versions newest first, diffs one against the current value and two together, and reverts', async () => {
    for (const value of [V1, V2, V3]) await putValue(server, 'h/doc', value, 'text/plain');
    const { page, errors } = await openUi({ prefix: 'h/', key: 'h/doc' });
    await eventually(
      'three history rows',
      () => rowsOf(page).count(),
      (count) => count === 3,
    );
    assert.deepEqual(await column(page, 2), ['3', '2', '1'], 'versions, newest first');
    assert.deepEqual(
      (await column(page, 5)).map((type) => type.trim()),
      ['putcurrent', 'put', 'put'],
      'the newest is marked as the current value',
    );
    assert.equal(
      await page
        .locator('#history-rows tr')
        .first()
        .getByRole('button', { name: /Revert/ })
        .count(),
      0,
    );
    assert.equal(await page.getByRole('button', { name: 'Revert to version 1 (revision', exact: false }).count(), 1);
    // Who: the token (no label here, so its id) and the way it came (the v1 HTTP API).
    for (const who of await column(page, 7)) assert.match(who, /^\S.* via v1$/, 'each version says who wrote it');
    assert.match(await textOf(page, '#history-summary'), /Newest first.*oldest kept/);

    // One version, by keyboard: Space checks the box, Enter compares with the current value.
    await page.getByLabel(/^Compare version 1 \(revision/).focus();
    await page.keyboard.press('Space');
    await page.locator('#history-compare').focus();
    await page.keyboard.press('Enter');
    await page.locator('#history-diff').waitFor();
    assert.match(await textOf(page, '#history-diff-title'), /From version 1 .* to the current value, version 3/);
    assert.deepEqual(await diffLines(page, 'removed'), ['-line two']);
    assert.deepEqual(await diffLines(page, 'added'), ['+line 2', '+line three', '+line four']);
    assert.match(await textOf(page, '#history-diff-message'), /3 lines added, 1 line removed/);
    assert.equal(
      await page.evaluate('document.activeElement?.id'),
      'history-diff',
      'the focus moves to the diff it asked for',
    );

    // Two versions: from the older to the newer, whichever was chosen first.
    await page.getByLabel(/^Compare version 2 \(revision/).check();
    await page.getByRole('button', { name: 'Compare the two chosen versions' }).click();
    await eventually(
      'the diff of versions 1 and 2',
      () => textOf(page, '#history-diff-title'),
      (title) => /From version 1 .* to version 2/.test(title),
    );
    assert.deepEqual(await diffLines(page, 'added'), ['+line 2', '+line three']);
    await screenshot(page, 'history-diff');

    // Revert to version 1: Escape in the dialog writes nothing, then confirm.
    await page.getByRole('button', { name: /^Revert to version 1 / }).click();
    assert.match(await textOf(page, '#confirm-revert-question'), /Revert “h\/doc” to version 1/);
    await page.keyboard.press('Escape');
    assert.equal((await read(server, 'h/doc')).version, '3', 'a cancelled revert writes nothing');
    await page.getByRole('button', { name: /^Revert to version 1 / }).click();
    await page.locator('#confirm-revert').getByRole('button', { name: 'Revert' }).click();
    await eventually(
      'the status of the revert',
      () => textOf(page, '#status'),
      (status) => /Reverted “h\/doc” to the value of version 1 .*: it is now version 4\./.test(status),
    );
    const stored = await read(server, 'h/doc');
    assert.equal(stored.text, V1, 'the server holds version 1’s value again');
    assert.equal(stored.version, '4');
    await eventually(
      'the reverted value on screen',
      () => textOf(page, '#value-text'),
      (text) => text === V1,
    );
    await eventually(
      'four history rows',
      () => column(page, 2),
      (versions) => versions.join() === '4,3,2,1',
    );
    assert.match((await column(page, 7))[0]!, / via revert$/);
    const newest = (await history(server, 'h/doc')).versions[0]!;
    assert.equal(newest.version, 4);
    assert.equal(newest.who?.via, 'revert', 'the audit trail records the write as a revert');
    assert.deepEqual(errors, [], 'no script errors on the page');
  });

  it('pages through a long history, 20 versions at a time', async () => {
    for (let version = 1; version <= 23; version++) await putValue(server, 'p/long', `value ${version}\n`);
    const { page, errors } = await openUi({ prefix: 'p/', key: 'p/long' });
    await eventually(
      'the first page',
      () => rowsOf(page).count(),
      (count) => count === 20,
    );
    assert.equal((await column(page, 2))[0], '23');
    assert.equal(await page.locator('#history-newer').isHidden(), true);
    await page.getByRole('button', { name: 'Older ›' }).click();
    await eventually(
      'the older page',
      () => column(page, 2),
      (versions) => versions.join() === '3,2,1',
    );
    assert.match(await textOf(page, '#history-summary'), /Older versions: .*\(the oldest kept\)/);
    assert.equal(await page.locator('#history-older').isHidden(), true);
    // The pager keeps the focus when Older disappears on the last page.
    assert.equal(await page.evaluate('document.activeElement?.id'), 'history-newer');
    await page.keyboard.press('Enter');
    await eventually(
      'the newest page again',
      () => rowsOf(page).count(),
      (count) => count === 20,
    );
    assert.equal((await column(page, 2))[0], '23');
    assert.deepEqual(errors, []);
  });

  it('refuses a revert with 412 when the key changed since it was shown, says so and reloads', async () => {
    await putValue(server, 'c/doc', 'first\n');
    await putValue(server, 'c/doc', 'second\n');
    // A pattern search is not live: the open value stays at version 2 while another writer writes.
    const { page, errors } = await openUi({ pattern: 'c/*', key: 'c/doc' }, false);
    await eventually(
      'two history rows',
      () => rowsOf(page).count(),
      (count) => count === 2,
    );
    await putValue(server, 'c/doc', 'third\n');
    await page.getByRole('button', { name: /^Revert to version 1 / }).click();
    await page.locator('#confirm-revert').getByRole('button', { name: 'Revert' }).click();
    await eventually(
      'the conflict message',
      () => textOf(page, '#problem'),
      (problem) => /Conflict: “c\/doc” was changed by someone else .*version 3.*reloaded/.test(problem),
    );
    assert.equal((await read(server, 'c/doc')).text, 'third\n', 'the other writer’s value stays');
    await eventually(
      'the reloaded value',
      () => textOf(page, '#value-text'),
      (text) => text === 'third\n',
    );
    await eventually(
      'the reloaded history',
      () => column(page, 2),
      (versions) => versions.join() === '3,2,1',
    );
    assert.deepEqual(errors, []);
  });

  it('shows values in the diff as text, never as HTML', async () => {
    const hostile = '<img src=x onerror="document.title=\'XSS\'">\n<script>document.title="XSS"</script>\n';
    await putValue(server, 'x/page', hostile, 'text/html');
    await putValue(server, 'x/page', 'plain\n', 'text/html');
    const { page, errors } = await openUi({ prefix: 'x/', key: 'x/page' });
    await eventually(
      'two history rows',
      () => rowsOf(page).count(),
      (count) => count === 2,
    );
    await page.getByLabel(/^Compare version 1 \(revision/).check();
    await page.locator('#history-compare').click();
    await eventually(
      'the diff',
      () => diffLines(page, 'removed'),
      (lines) => lines.length === 2,
    );
    assert.deepEqual(await diffLines(page, 'removed'), [`-${hostile.split('\n')[0]}`, `-${hostile.split('\n')[1]}`]);
    assert.equal(await page.locator('#history img, #history script').count(), 0, 'no element made from the value');
    assert.notEqual(await page.title(), 'XSS');
    assert.deepEqual(errors, []);
  });

  it('lists deleted keys and restores one to its last value', async () => {
    await putValue(server, 'd/gone', 'precious v1\n', 'text/plain');
    await putValue(server, 'd/gone', 'precious v2\n', 'text/plain');
    await putValue(server, 'd/kept', 'still here\n');
    await remove(server, 'd/gone');
    const { page, errors } = await openUi({ prefix: 'd/' });
    await page.getByRole('button', { name: 'Deleted keys' }).click();
    await eventually(
      'the deleted key',
      () => page.locator('#deleted-list .key-name').allTextContents(),
      (keys) => keys.join() === 'd/gone',
    );
    assert.match(await textOf(page, '#deleted-list li'), /deleted .* at revision \d+ · last value: version 2, 12 B/);
    assert.match(await textOf(page, '#deleted-title'), /Deleted keys starting with “d\/”/);
    await screenshot(page, 'deleted-keys');
    await page.getByRole('button', { name: 'Restore d/gone' }).click();
    assert.match(await textOf(page, '#confirm-revert-question'), /Restore “d\/gone” with its last value \(version 2/);
    await page.locator('#confirm-revert').getByRole('button', { name: 'Restore' }).click();
    await eventually(
      'the restored value on screen',
      () => textOf(page, '#value-text'),
      (text) => text === 'precious v2\n',
    );
    assert.match(await textOf(page, '#status'), /Restored “d\/gone”: it is now version 1\./);
    const stored = await read(server, 'd/gone');
    assert.equal(stored.status, 200);
    assert.equal(stored.text, 'precious v2\n');
    // Its history shows the delete between the old versions and the restored one.
    await eventually(
      'the history with the delete',
      () => column(page, 5),
      (types) => types.length === 4,
    );
    assert.deepEqual(
      (await column(page, 5)).map((type) => type.trim()),
      ['putcurrent', 'delete', 'put', 'put'],
    );
    await page.getByRole('button', { name: 'Deleted keys' }).click();
    await eventually(
      'no deleted keys left',
      () => textOf(page, '#deleted-summary'),
      (summary) => /No deleted keys/.test(summary),
    );
    assert.deepEqual(errors, []);
  });

  it('does not restore a key written again after Deleted keys was read', async () => {
    await putValue(server, 'r/back', 'old\n');
    await remove(server, 'r/back');
    const { page, errors } = await openUi({ prefix: 'r/' });
    await page.getByRole('button', { name: 'Deleted keys' }).click();
    await page.getByRole('button', { name: 'Restore r/back' }).waitFor();
    await putValue(server, 'r/back', 'new\n');
    await page.getByRole('button', { name: 'Restore r/back' }).click();
    await page.locator('#confirm-revert').getByRole('button', { name: 'Restore' }).click();
    await eventually(
      'the refusal',
      () => textOf(page, '#problem'),
      (problem) => /“r\/back” exists again .*, so nothing was restored/.test(problem),
    );
    assert.equal((await read(server, 'r/back')).text, 'new\n', 'the newer value stays');
    await eventually(
      'the reloaded, empty list',
      () => textOf(page, '#deleted-summary'),
      (summary) => /No deleted keys/.test(summary),
    );
    assert.deepEqual(errors, []);
  });
});
