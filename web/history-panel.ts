// The open key's history (docs/ui.md, "History"): its versions newest first, a page at a time;
// up to two versions chosen for a line diff (one is compared with the current value); a Revert
// button on each put that is not the current value. Everything a value or a token label holds is
// set as text.

import { type KvsApi, explain } from './api.js';
import { renderPatch } from './diff-view.js';
import { byId, element } from './dom.js';
import { formatBytes, timeElement } from './format.js';
import type { DiffJson, DiffSideJson, HistoryWhoJson, KeyVersionJson } from './model/http-json.js';

/** Versions per page. */
const HISTORY_PAGE = 20;

export interface HistoryActions {
  /** The user asked to write this entry's value back (after confirming). */
  onRevert(key: string, entry: KeyVersionJson): void;
}

/** "deploy-bot via ui": the token's label, or its id when it has none; "—" when no audit entry is kept. */
export function describeWho(who: HistoryWhoJson | null): string {
  if (who === null) return '—';
  return `${who.label ?? who.token ?? 'no token'} via ${who.via}`;
}

function describeEnd(end: DiffSideJson, current: boolean): string {
  return `${current ? 'the current value, ' : ''}version ${end.version} (revision ${end.revision})`;
}

export class HistoryPanel {
  private readonly section = byId('history', HTMLElement);
  private readonly summary = byId('history-summary', HTMLParagraphElement);
  private readonly table = byId('history-table', HTMLTableElement);
  private readonly rows = byId('history-rows', HTMLTableSectionElement);
  private readonly newerButton = byId('history-newer', HTMLButtonElement);
  private readonly olderButton = byId('history-older', HTMLButtonElement);
  private readonly compareButton = byId('history-compare', HTMLButtonElement);
  private readonly clearButton = byId('history-clear', HTMLButtonElement);
  private readonly diffSection = byId('history-diff', HTMLElement);
  private readonly diffTitle = byId('history-diff-title', HTMLHeadingElement);
  private readonly diffMessage = byId('history-diff-message', HTMLParagraphElement);
  private readonly diffBody = byId('history-diff-body', HTMLDivElement);
  private key: string | undefined;
  /** The `before` cursor of each page visited (null: the newest); the last is on screen. */
  private pages: (number | null)[] = [null];
  private next: number | null = null;
  /** The revision of the key's newest entry: its value is the current one (when a put). */
  private newest: KeyVersionJson | undefined;
  /** Chosen for the diff, by revision, in the order chosen (at most two). */
  private chosen: KeyVersionJson[] = [];
  /** The diff on screen compares with the current value (out of date once the key changes). */
  private diffWithCurrent = false;
  /** Bumped by each load so a slow old answer cannot overwrite a newer one. */
  private generation = 0;

  constructor(
    private readonly api: KvsApi,
    private readonly actions: HistoryActions,
  ) {
    this.olderButton.addEventListener('click', () => {
      if (this.next === null) return;
      this.pages.push(this.next);
      void this.loadPage(this.olderButton);
    });
    this.newerButton.addEventListener('click', () => {
      if (this.pages.length === 1) return;
      this.pages.pop();
      void this.loadPage(this.newerButton);
    });
    this.compareButton.addEventListener('click', () => void this.compare());
    this.clearButton.addEventListener('click', () => {
      this.chosen = [];
      for (const box of this.rows.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')) box.checked = false;
      this.updateCompareButton();
      this.diffSection.hidden = true;
    });
  }

  /**
   * Shows a key's history from its newest page; the same key again (a live change, a revert)
   * reloads the page on screen and keeps the chosen versions.
   */
  async show(key: string): Promise<void> {
    if (key !== this.key) {
      this.key = key;
      this.pages = [null];
      this.chosen = [];
      this.newest = undefined;
      this.diffSection.hidden = true;
      this.rows.replaceChildren();
      this.updateCompareButton();
    }
    this.section.hidden = false;
    await this.loadPage();
  }

  hide(): void {
    this.key = undefined;
    this.generation++;
    this.section.hidden = true;
  }

  private async loadPage(focusAfter?: HTMLButtonElement): Promise<void> {
    const key = this.key;
    if (key === undefined) return;
    const generation = ++this.generation;
    const before = this.pages[this.pages.length - 1] ?? null;
    this.summary.textContent = 'Loading the history…';
    try {
      const page = await this.api.history(key, before, HISTORY_PAGE);
      if (generation !== this.generation) return;
      // The newest entry is on the first page; an older page keeps the one it learned there.
      if (before === null) {
        if (this.diffWithCurrent && page.versions[0]?.revision !== this.newest?.revision)
          this.diffSection.hidden = true;
        this.newest = page.versions[0];
      }
      this.next = page.next;
      this.render(page.versions);
    } catch (error) {
      if (generation !== this.generation) return;
      this.rows.replaceChildren();
      this.table.hidden = true;
      this.next = null;
      this.summary.textContent = `The history could not be read: ${explain(error, key)}`;
      this.olderButton.hidden = true;
      this.newerButton.hidden = this.pages.length === 1;
    }
    // Paging moved the focus with a button that may now be hidden: keep it in the pager.
    if (focusAfter?.hidden) (focusAfter === this.olderButton ? this.newerButton : this.olderButton).focus();
  }

  private render(versions: KeyVersionJson[]): void {
    const first = this.pages.length === 1;
    if (versions.length === 0) {
      this.summary.textContent = first ? 'No history is kept for this key.' : 'No older versions are kept.';
    } else {
      const newest = versions[0]!;
      const oldest = versions[versions.length - 1]!;
      this.summary.textContent = `${first ? 'Newest first' : 'Older versions'}: revisions ${newest.revision} to ${oldest.revision}${this.next === null ? ' (the oldest kept)' : ''}.`;
    }
    this.table.hidden = versions.length === 0;
    this.rows.replaceChildren(...versions.map((entry) => this.row(entry)));
    this.olderButton.hidden = this.next === null;
    this.newerButton.hidden = first;
    this.updateCompareButton();
  }

  private row(entry: KeyVersionJson): HTMLTableRowElement {
    const put = entry.type === 'put';
    const current = put && entry.revision === this.newest?.revision;
    const label = `version ${entry.version} (revision ${entry.revision})`;
    let choose: HTMLInputElement | null = null;
    if (put) {
      choose = element('input', { attrs: { type: 'checkbox', 'aria-label': `Compare ${label}` } });
      choose.checked = this.chosen.some((chosen) => chosen.revision === entry.revision);
      choose.addEventListener('change', () => this.choose(entry, choose!.checked));
    }
    let revert: HTMLButtonElement | null = null;
    if (put && !current) {
      revert = element('button', {
        className: 'small',
        text: 'Revert…',
        attrs: { type: 'button', 'aria-label': `Revert to ${label}` },
      });
      revert.addEventListener('click', () => this.key !== undefined && this.actions.onRevert(this.key, entry));
    }
    const who = describeWho(entry.who);
    const row = element('tr', { dataset: { revision: String(entry.revision), type: entry.type } }, [
      element('td', {}, [choose]),
      element('td', { text: put ? String(entry.version) : '—' }),
      element('td', { text: String(entry.revision) }),
      element('td', {}, [timeElement(new Date(entry.time))]),
      element('td', { className: `history-type history-${entry.type}` }, [
        entry.type,
        current ? element('span', { className: 'badge current', text: 'current' }) : null,
      ]),
      element('td', { text: put ? formatBytes(entry.size) : '—' }),
      element('td', {
        className: 'history-who',
        text: who,
        ...(entry.who?.address ? { title: `from ${entry.who.address}` } : {}),
      }),
      element('td', {}, [revert]),
    ]);
    return row;
  }

  private choose(entry: KeyVersionJson, chosen: boolean): void {
    this.chosen = this.chosen.filter((other) => other.revision !== entry.revision);
    if (chosen) {
      this.chosen.push(entry);
      // Two at most: a third choice replaces the earliest one.
      const dropped = this.chosen.length > 2 ? this.chosen.shift() : undefined;
      if (dropped !== undefined) {
        const box = this.rows.querySelector<HTMLInputElement>(`tr[data-revision="${dropped.revision}"] input`);
        if (box !== null) box.checked = false;
      }
    }
    this.updateCompareButton();
  }

  private updateCompareButton(): void {
    const count = this.chosen.length;
    // A deleted key has no current value to compare with.
    const deleted = this.newest !== undefined && this.newest.type !== 'put';
    this.compareButton.disabled = count === 0 || (count === 1 && deleted);
    this.clearButton.hidden = count === 0;
    this.compareButton.textContent = count === 2 ? 'Compare the two chosen versions' : 'Compare with the current value';
    this.compareButton.title = deleted
      ? 'The key is deleted: choose two versions to compare'
      : count === 0
        ? 'Choose one version (compared with the current value) or two with the boxes in the list'
        : '';
  }

  /** The diff of the chosen versions, older to newer; one chosen version against the current value. */
  private async compare(): Promise<void> {
    const key = this.key;
    if (key === undefined || this.chosen.length === 0) return;
    const [from, to] = [...this.chosen].sort((a, b) => a.revision - b.revision);
    const generation = this.generation;
    let diff: DiffJson;
    try {
      diff = await this.api.diff(key, from!.revision, to?.revision);
    } catch (error) {
      if (generation !== this.generation) return;
      this.showDiff('Diff', explain(error, key), null);
      return;
    }
    if (generation !== this.generation) return;
    this.diffWithCurrent = to === undefined;
    const title = `From ${describeEnd(diff.from, false)} to ${describeEnd(diff.to, to === undefined)}`;
    if (!('patch' in diff)) {
      // Binary values, or values over the server's diff limit: its verdict, no patch.
      this.showDiff(title, diff.message, null);
    } else if (diff.added === 0 && diff.removed === 0) {
      this.showDiff(title, 'The values are identical.', null);
    } else {
      const lines = (count: number) => `${count} line${count === 1 ? '' : 's'}`;
      this.showDiff(title, `${lines(diff.added)} added, ${lines(diff.removed)} removed.`, renderPatch(diff.patch));
    }
  }

  private showDiff(title: string, message: string, patch: HTMLElement | null): void {
    this.diffTitle.textContent = title;
    this.diffMessage.textContent = message;
    this.diffBody.replaceChildren(...(patch === null ? [] : [patch]));
    this.diffSection.hidden = false;
    // Keyboard and screen reader users land on what they asked for.
    this.diffSection.focus();
  }
}
