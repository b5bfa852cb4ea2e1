// The list of keys under the current prefix, in the server's order, kept up to date row by row
// (live events touch one row, never re-render the list).

import { element } from './dom.js';
import { formatBytes, timeElement } from './format.js';
import type { KeyInfo, KeyPage } from './model/http-json.js';
import { compareKeys } from './model/key-order.js';

interface Row {
  info: KeyInfo;
  readonly item: HTMLLIElement;
  readonly button: HTMLButtonElement;
}

export class KeyList {
  private readonly rows = new Map<string, Row>();
  /** Loaded keys in server order. */
  private keys: string[] = [];
  /** The cursor of the next page; null when everything under the prefix is loaded. */
  private cursor: string | null = null;
  /** The `after` this page started from (null: the first page); keys up to it are on earlier pages. */
  private start: string | null = null;
  private selected: string | undefined;

  constructor(
    private readonly list: HTMLUListElement,
    private readonly onOpen: (key: string) => void,
  ) {
    list.addEventListener('keydown', (event) => this.moveFocus(event));
  }

  get size(): number {
    return this.rows.size;
  }

  get next(): string | null {
    return this.cursor;
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  reset(page: KeyPage, start: string | null = null): void {
    this.start = start;
    this.rows.clear();
    this.keys = [];
    this.list.replaceChildren();
    this.append(page);
  }

  append(page: KeyPage): void {
    for (const info of page.items) this.upsert(info, false);
    this.cursor = page.next;
  }

  /**
   * Whether a key belongs to the loaded part of the list. Keys after the cursor arrive with the
   * next page, keys up to the page's start are on earlier ones; showing them here would show them twice.
   */
  covers(key: string): boolean {
    return (
      (this.start === null || compareKeys(key, this.start) > 0) &&
      (this.cursor === null || compareKeys(key, this.cursor) <= 0)
    );
  }

  /** Adds or updates a row; `highlight` marks a change that arrived live. */
  upsert(info: KeyInfo, highlight: boolean): void {
    let row = this.rows.get(info.key);
    if (row === undefined) {
      const button = element('button', { className: 'key-row', attrs: { type: 'button' } });
      button.addEventListener('click', () => this.onOpen(info.key));
      const item = element('li', {}, [button]);
      row = { info, item, button };
      const index = this.insertionIndex(info.key);
      const before = this.keys[index];
      this.list.insertBefore(item, before === undefined ? null : this.rows.get(before)!.item);
      this.keys.splice(index, 0, info.key);
      this.rows.set(info.key, row);
    }
    row.info = info;
    this.render(row);
    if (highlight) this.flash(row.item);
  }

  remove(key: string): void {
    const row = this.rows.get(key);
    if (row === undefined) return;
    row.item.remove();
    this.rows.delete(key);
    this.keys.splice(this.insertionIndex(key), 1);
  }

  /** Moves the keyboard focus to a key's row (if it is on this page). */
  focus(key: string): void {
    this.rows.get(key)?.button.focus();
  }

  select(key: string | undefined): void {
    if (this.selected !== undefined) this.rows.get(this.selected)?.button.removeAttribute('aria-current');
    this.selected = key;
    if (key !== undefined) this.rows.get(key)?.button.setAttribute('aria-current', 'true');
  }

  private render({ info, button }: Row): void {
    const meta = element('span', { className: 'key-meta' }, [
      `v${info.version} · ${formatBytes(info.size)} · `,
      timeElement(new Date(info.updated)),
      info.expires === null
        ? null
        : element('span', {
            className: 'badge',
            text: 'TTL',
            title: `expires ${new Date(info.expires).toLocaleString()}`,
          }),
    ]);
    button.replaceChildren(element('span', { className: 'key-name', text: info.key }), meta);
    if (info.key === this.selected) button.setAttribute('aria-current', 'true');
  }

  private flash(item: HTMLElement): void {
    item.classList.remove('changed');
    void item.offsetWidth; // restart the animation
    item.classList.add('changed');
  }

  /** Binary search: the index of `key`, or where it would go. */
  private insertionIndex(key: string): number {
    let low = 0;
    let high = this.keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareKeys(this.keys[middle]!, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Up/Down/Home/End move between rows, as in a list box. */
  private moveFocus(event: KeyboardEvent): void {
    const buttons = Array.from(this.list.querySelectorAll<HTMLButtonElement>('button.key-row'));
    const current = buttons.indexOf(document.activeElement as HTMLButtonElement);
    let target: number;
    switch (event.key) {
      case 'ArrowDown':
        target = Math.min(current + 1, buttons.length - 1);
        break;
      case 'ArrowUp':
        target = Math.max(current - 1, 0);
        break;
      case 'Home':
        target = 0;
        break;
      case 'End':
        target = buttons.length - 1;
        break;
      default:
        return;
    }
    event.preventDefault();
    buttons[target]?.focus();
  }
}
