// The "Deleted keys" view (docs/ui.md): keys under the current prefix whose newest history entry
// is a delete or an expiry (GET /v1/deleted), a page at a time, each with Restore (its last kept
// put written back) and History (the key opened, with its history).

import { type KvsApi, explain } from './api.js';
import { byId, element } from './dom.js';
import { formatBytes, timeElement } from './format.js';
import type { DeletedKeyJson } from './model/http-json.js';

const DELETED_PAGE = 50;

export interface DeletedKeysActions {
  onRestore(entry: DeletedKeyJson): void;
  onOpen(key: string): void;
}

export class DeletedKeysView {
  private readonly view = byId('deleted-view', HTMLElement);
  private readonly title = byId('deleted-title', HTMLHeadingElement);
  private readonly summary = byId('deleted-summary', HTMLParagraphElement);
  private readonly list = byId('deleted-list', HTMLUListElement);
  private readonly moreButton = byId('deleted-more', HTMLButtonElement);
  private prefix = '';
  private next: string | null = null;
  private shown = 0;
  private generation = 0;

  constructor(
    private readonly api: KvsApi,
    private readonly actions: DeletedKeysActions,
  ) {
    this.moreButton.addEventListener('click', () => void this.load(false));
  }

  get isOpen(): boolean {
    return !this.view.hidden;
  }

  /** Shows the deleted keys under `prefix` from the first one. */
  async open(prefix: string): Promise<void> {
    this.prefix = prefix;
    this.view.hidden = false;
    this.title.textContent = prefix === '' ? 'Deleted keys' : `Deleted keys starting with “${prefix}”`;
    this.title.focus();
    await this.load(true);
  }

  /** Reads the first page again (after a restore, say). */
  async reload(): Promise<void> {
    if (this.isOpen) await this.load(true);
  }

  close(): void {
    this.generation++;
    this.view.hidden = true;
  }

  private async load(first: boolean): Promise<void> {
    const generation = ++this.generation;
    const after = first ? null : this.next;
    if (first) this.summary.textContent = 'Loading…';
    this.moreButton.disabled = true;
    try {
      const page = await this.api.deleted(this.prefix, after, DELETED_PAGE);
      if (generation !== this.generation) return;
      const rows = page.keys.map((entry) => this.row(entry));
      if (first) {
        this.list.replaceChildren(...rows);
        this.shown = 0;
      } else this.list.append(...rows);
      this.shown += rows.length;
      this.next = page.next;
      this.moreButton.hidden = page.next === null;
      const more = page.next === null ? '' : '+';
      this.summary.textContent =
        this.shown === 0 && page.next === null
          ? 'No deleted keys are kept in the history here.'
          : `${this.shown}${more} deleted key${this.shown === 1 && more === '' ? '' : 's'}, in key order.`;
    } catch (error) {
      if (generation !== this.generation) return;
      this.summary.textContent = `The deleted keys could not be listed: ${explain(error)}`;
    } finally {
      this.moreButton.disabled = false;
    }
  }

  private row(entry: DeletedKeyJson): HTMLLIElement {
    const how = entry.type === 'expire' ? 'expired' : 'deleted';
    const restore = element('button', {
      className: 'small',
      text: 'Restore…',
      attrs: { type: 'button', 'aria-label': `Restore ${entry.key}` },
    });
    if (entry.lastPut === null) {
      restore.disabled = true;
      restore.title = 'No earlier value is kept in its history.';
    } else restore.addEventListener('click', () => this.actions.onRestore(entry));
    const history = element('button', {
      className: 'small',
      text: 'History',
      attrs: { type: 'button', 'aria-label': `History of ${entry.key}` },
    });
    history.addEventListener('click', () => this.actions.onOpen(entry.key));
    const last =
      entry.lastPut === null
        ? 'no earlier value kept'
        : `last value: version ${entry.lastPut.version}, ${formatBytes(entry.lastPut.size)}`;
    return element('li', { className: 'deleted-row', dataset: { key: entry.key } }, [
      element('span', { className: 'key-name', text: entry.key }),
      element('span', { className: 'key-meta' }, [
        `${how} `,
        timeElement(new Date(entry.time)),
        ` at revision ${entry.revision} · ${last}`,
      ]),
      element('span', { className: 'actions' }, [restore, history]),
    ]);
  }
}
