// The folder view over '/': breadcrumbs for the current prefix and the folders under it, each
// with its key count from GET /v1/folders (from the server's folder index; "1000+" where the
// server had to count by a capped scan instead, docs/ui.md), and the store's total key count.

import { explain, type KvsApi } from './api.js';
import { byId, element } from './dom.js';
import type { FolderInfo } from './model/http-json.js';

export interface FolderTreeActions {
  /** Browse this prefix ('' for the whole store). */
  onOpen(prefix: string): void;
}

const number = new Intl.NumberFormat('en');

export function formatCount(keys: number, more: boolean): string {
  return `${number.format(keys)}${more ? '+' : ''} key${keys === 1 && !more ? '' : 's'}`;
}

export class FolderTree {
  private readonly crumbs = byId('crumbs', HTMLElement);
  private readonly list = byId('folders', HTMLUListElement);
  private readonly more = byId('more-folders', HTMLButtonElement);
  private readonly storeSummary = byId('store-summary', HTMLParagraphElement);
  private prefix = '';
  private next: string | null = null;
  /** Bumped by each show() so a slow old answer cannot fill in a newer view. */
  private generation = 0;
  /** The store's key count from the last answer; null when not known (or not for this caller). */
  storeKeys: number | null = null;
  /** Keys under the shown prefix, from the server's folder index (null when it cannot tell). */
  prefixKeys: number | null = null;

  constructor(
    private readonly api: KvsApi,
    private readonly actions: FolderTreeActions,
  ) {
    this.more.addEventListener('click', () => void this.load(this.generation, true));
  }

  /** Shows the breadcrumbs and folders of a prefix; resolves once they are loaded. */
  async show(prefix: string): Promise<void> {
    this.prefix = prefix;
    this.next = null;
    // Until this prefix's answer comes, no count of the previous one is shown for it.
    this.prefixKeys = null;
    this.renderCrumbs();
    this.list.replaceChildren();
    this.list.hidden = false;
    this.more.hidden = true;
    await this.load(++this.generation, false);
  }

  /** A search replaces the folder view: breadcrumbs say what is searched, no folders. */
  showSearch(description: string): void {
    this.generation++;
    this.crumbs.replaceChildren(
      this.crumb('All keys', ''),
      element('span', { className: 'crumb-here', text: description }),
    );
    this.list.replaceChildren();
    this.list.hidden = true;
    this.more.hidden = true;
  }

  clear(): void {
    this.generation++;
    this.crumbs.replaceChildren();
    this.list.replaceChildren();
    this.more.hidden = true;
    this.storeSummary.hidden = true;
  }

  private async load(generation: number, append: boolean): Promise<void> {
    try {
      const page = await this.api.folders(this.prefix, append ? this.next : null);
      if (generation !== this.generation) return;
      this.next = page.next;
      this.storeKeys = page.storeKeys;
      this.prefixKeys = page.prefixKeys;
      for (const folder of page.folders) this.list.append(this.row(folder));
      this.more.hidden = page.next === null;
      // A folder of many plain keys: the answer stopped after 1000 of them without a folder.
      this.more.textContent = this.list.childElementCount === 0 ? 'Look for folders further on' : 'More folders';
      this.storeSummary.hidden = page.storeKeys === null;
      this.storeSummary.textContent =
        page.storeKeys === null ? '' : `${formatCount(page.storeKeys, false)} in the store · revision ${page.revision}`;
    } catch (error) {
      if (generation !== this.generation) return;
      this.storeSummary.hidden = false;
      this.storeSummary.textContent = `Folders could not be listed: ${explain(error)}`;
    }
  }

  private row(folder: FolderInfo): HTMLLIElement {
    const name = folder.prefix.slice(this.prefix.length);
    const button = element(
      'button',
      {
        className: 'folder-row',
        attrs: { type: 'button' },
        dataset: { prefix: folder.prefix },
        title: folder.more ? `More than ${number.format(folder.keys)} keys (counted up to 1,000)` : '',
      },
      [
        element('span', { className: 'folder-name', text: name }),
        element('span', { className: 'folder-count', text: formatCount(folder.keys, folder.more) }),
      ],
    );
    button.addEventListener('click', () => this.actions.onOpen(folder.prefix));
    return element('li', {}, [button]);
  }

  private renderCrumbs(): void {
    const parts: Node[] = [this.crumb('All keys', this.prefix === '' ? undefined : '')];
    let start = 0;
    for (;;) {
      const slash = this.prefix.indexOf('/', start);
      const end = slash === -1 ? this.prefix.length : slash + 1;
      if (end === start) break;
      const target = this.prefix.slice(0, end);
      parts.push(this.crumb(this.prefix.slice(start, end), target === this.prefix ? undefined : target));
      if (slash === -1) break;
      start = end;
    }
    this.crumbs.replaceChildren(...parts);
  }

  /** One breadcrumb: a button to that prefix, or (undefined) the current place. */
  private crumb(label: string, target: string | undefined): HTMLElement {
    if (target === undefined)
      return element('span', { className: 'crumb-here', text: label, attrs: { 'aria-current': 'location' } });
    const button = element('button', { className: 'crumb', text: label, attrs: { type: 'button' } });
    button.addEventListener('click', () => this.actions.onOpen(target));
    return button;
  }
}
