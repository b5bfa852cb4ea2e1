// The open value: its metadata, the value by its type (JSON pretty-printed and foldable, a raster
// image previewed, other text as it is, binary as hex or wrapped base64), a download link, copy
// buttons, and the Edit and Delete actions.

import type { StoredValue } from './api.js';
import { byId, element } from './dom.js';
import { copyText } from './clipboard.js';
import { downloadName, formatBytes, hexDump, textOf, timeElement, toBase64 } from './format.js';
import { isJsonType, renderJson } from './json-view.js';

export interface ValuePanelActions {
  onEdit(value: StoredValue): void;
  onDelete(value: StoredValue): void;
  /** A short confirmation or problem to show the user. */
  onMessage(kind: 'info' | 'error', text: string): void;
}

/**
 * Image types previewed with an <img>: raster formats only. An SVG is a document that can hold
 * scripts; its blob: URL would have this page's origin if opened in a tab, so SVG is never
 * previewed (it is shown as its XML text).
 */
const PREVIEWED_IMAGE = /^\s*image\/(png|jpeg|gif|webp|avif|bmp|x-icon|vnd\.microsoft\.icon)\s*(;|$)/i;

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
  private readonly jsonFormat = byId('json-format', HTMLFieldSetElement);
  private readonly json = byId('value-json', HTMLDivElement);
  private readonly image = byId('value-image', HTMLElement);
  private readonly imageElement = byId('value-image-img', HTMLImageElement);
  private readonly imageCaption = byId('value-image-caption', HTMLElement);
  private downloadUrl: string | undefined;
  private imageUrl: string | undefined;
  private shown: StoredValue | undefined;

  constructor(actions: ValuePanelActions) {
    for (const radio of this.jsonFormat.querySelectorAll<HTMLInputElement>('input[name="json-format"]')) {
      radio.addEventListener('change', () => this.renderJsonFormat());
    }
    this.imageElement.addEventListener('error', () => {
      if (this.imageUrl === undefined) return;
      this.imageElement.hidden = true;
      this.imageCaption.textContent = 'No preview: these bytes are not an image the browser can show.';
    });
    byId('copy-key', HTMLButtonElement).addEventListener('click', () => {
      const key = this.title.textContent ?? '';
      void copyText(key).then((copied) =>
        actions.onMessage(copied ? 'info' : 'error', copied ? `Copied the key “${key}”.` : 'Could not copy.'),
      );
    });
    byId('copy-value', HTMLButtonElement).addEventListener('click', () => {
      const value = this.shown;
      if (value === undefined) return;
      const text = textOf(value.bytes, value.contentType);
      void copyText(text ?? toBase64(value.bytes)).then((copied) =>
        actions.onMessage(
          copied ? 'info' : 'error',
          copied ? `Copied the value${text === null ? ' (as base64)' : ''}.` : 'Could not copy.',
        ),
      );
    });
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
    const jsonView = text !== null && isJsonType(value.contentType) ? renderJson(text) : undefined;
    this.text.hidden = text === null;
    this.binary.hidden = text !== null;
    this.panel.dataset.kind = jsonView !== undefined ? 'json' : text === null ? 'binary' : 'text';
    this.jsonFormat.hidden = jsonView === undefined;
    this.json.replaceChildren(...(jsonView === undefined ? [] : [jsonView]));
    this.showImage(value);
    if (text !== null) {
      this.text.textContent = text;
      this.text.classList.toggle('empty', text === '');
      this.renderJsonFormat();
    } else {
      this.json.hidden = true;
      this.renderBinary();
    }
  }

  /** A raster image value previewed from its fetched bytes (a blob: URL typed as the image). */
  private showImage(value: StoredValue): void {
    if (this.imageUrl !== undefined) URL.revokeObjectURL(this.imageUrl);
    this.imageUrl = undefined;
    const previewed = PREVIEWED_IMAGE.exec(value.contentType);
    this.image.hidden = previewed === null;
    if (previewed === null) {
      this.imageElement.removeAttribute('src');
      return;
    }
    this.imageUrl = URL.createObjectURL(new Blob([value.bytes], { type: `image/${previewed[1]!.toLowerCase()}` }));
    this.imageElement.hidden = false;
    this.imageElement.alt = `Preview of ${value.key}`;
    this.imageCaption.textContent = `${value.contentType}, ${formatBytes(value.bytes.length)}`;
    this.imageElement.onload = () => {
      this.imageCaption.textContent = `${value.contentType}, ${this.imageElement.naturalWidth}×${this.imageElement.naturalHeight} px, ${formatBytes(value.bytes.length)}`;
    };
    this.imageElement.src = this.imageUrl;
  }

  /** JSON: the formatted tree or the raw text, as chosen. */
  private renderJsonFormat(): void {
    const formatted =
      !this.jsonFormat.hidden &&
      this.jsonFormat.querySelector<HTMLInputElement>('input[name="json-format"]:checked')?.value !== 'raw';
    this.json.hidden = !formatted;
    this.text.hidden = formatted;
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
      this.json.hidden = true;
      this.jsonFormat.hidden = true;
      this.image.hidden = true;
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
    this.binaryView.dataset.format = format;
  }
}
