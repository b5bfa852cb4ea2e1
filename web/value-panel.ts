// The open value: its metadata, the value as text or (binary) as hex or base64, a download link,
// and the Edit and Delete actions.

import type { StoredValue } from './api.js';
import { byId, element } from './dom.js';
import { downloadName, formatBytes, hexDump, textOf, timeElement, toBase64 } from './format.js';

export interface ValuePanelActions {
  onEdit(value: StoredValue): void;
  onDelete(value: StoredValue): void;
}

export class ValuePanel {
  private readonly panel = byId('value-view', HTMLElement);
  private readonly title = byId('value-key', HTMLHeadingElement);
  private readonly notice = byId('value-notice', HTMLParagraphElement);
  private readonly meta = byId('value-meta', HTMLDListElement);
  private readonly text = byId('value-text', HTMLPreElement);
  private readonly binary = byId('value-binary', HTMLDivElement);
  private readonly binaryView = byId('value-binary-view', HTMLPreElement);
  private readonly download = byId('value-download', HTMLAnchorElement);
  private readonly editButton = byId('value-edit', HTMLButtonElement);
  private readonly deleteButton = byId('value-delete', HTMLButtonElement);
  private downloadUrl: string | undefined;
  private shown: StoredValue | undefined;

  constructor(actions: ValuePanelActions) {
    this.editButton.addEventListener('click', () => this.shown && actions.onEdit(this.shown));
    this.deleteButton.addEventListener('click', () => this.shown && actions.onDelete(this.shown));
    for (const radio of this.binary.querySelectorAll<HTMLInputElement>('input[name="binary-format"]')) {
      radio.addEventListener('change', () => this.renderBinary());
    }
  }

  /** The value on screen, unless it was deleted since. */
  get current(): StoredValue | undefined {
    return this.shown;
  }

  show(value: StoredValue, notice = ''): void {
    this.shown = value;
    this.panel.hidden = false;
    this.panel.classList.remove('gone');
    this.title.textContent = value.key;
    this.setNotice(notice);
    this.editButton.disabled = false;
    this.deleteButton.disabled = false;

    const row = (term: string, ...detail: (Node | string)[]) => [
      element('dt', { text: term }),
      element('dd', {}, detail),
    ];
    this.meta.replaceChildren(
      ...row('Version', String(value.version)),
      ...row('Revisions', `created at ${value.createRevision}, modified at ${value.modRevision}`),
      ...row('Updated', timeElement(value.updated)),
      ...row('Expires', value.expires === null ? 'never' : timeElement(value.expires)),
      ...row('Content type', value.contentType),
      ...row(
        'Size',
        `${formatBytes(value.bytes.length)}${value.bytes.length >= 1024 ? ` (${value.bytes.length} bytes)` : ''}`,
      ),
    );

    if (this.downloadUrl !== undefined) URL.revokeObjectURL(this.downloadUrl);
    // A blob: URL has this page's origin: typed as the stored (maybe text/html) value, opening it
    // in a tab would run the value's scripts here. Bytes only (docs/ui.md, "Values are never active content").
    this.downloadUrl = URL.createObjectURL(new Blob([value.bytes], { type: 'application/octet-stream' }));
    this.download.href = this.downloadUrl;
    this.download.download = downloadName(value.key);

    const text = textOf(value.bytes, value.contentType);
    this.text.hidden = text === null;
    this.binary.hidden = text !== null;
    this.panel.dataset.kind = text === null ? 'binary' : 'text';
    if (text !== null) {
      this.text.textContent = text;
      this.text.classList.toggle('empty', text === '');
    } else {
      this.renderBinary();
    }
  }

  /** The open key was deleted or expired: keep its last value visible, say so, disable actions. */
  showGone(key: string, how: 'deleted' | 'expired' | 'missing', revision?: number): void {
    if (this.shown?.key !== key && how !== 'missing') return;
    this.shown = undefined;
    this.panel.hidden = false;
    this.panel.classList.add('gone');
    this.title.textContent = key;
    this.editButton.disabled = true;
    this.deleteButton.disabled = true;
    const at = revision === undefined ? '' : ` at revision ${revision}`;
    if (how === 'missing') {
      this.meta.replaceChildren();
      this.text.hidden = true;
      this.binary.hidden = true;
      this.setNotice(`“${key}” does not exist.`);
    } else {
      this.setNotice(`“${key}” was ${how}${at}. The value below is what it held before.`);
    }
  }

  hide(): void {
    this.shown = undefined;
    this.panel.hidden = true;
  }

  setNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = text === '';
  }

  private renderBinary(): void {
    if (this.shown === undefined) return;
    const format = this.binary.querySelector<HTMLInputElement>('input[name="binary-format"]:checked')?.value ?? 'hex';
    this.binaryView.textContent = format === 'base64' ? toBase64(this.shown.bytes) : hexDump(this.shown.bytes);
  }
}
