// The create/edit form. Editing sends the version it started from as If-Match and creating sends
// If-None-Match: *, so a concurrent change is refused by the server instead of overwritten.

import type { StoredValue } from './api.js';
import { byId } from './dom.js';
import { formatBytes, textOf } from './format.js';
import { isJsonType, jsonProblem } from './json-view.js';

export interface SaveRequest {
  readonly key: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly contentType: string;
  readonly ttl: number | undefined;
  /** Editing: the version the form was filled from. Creating: undefined. */
  readonly ifVersion: number | undefined;
}

export interface EditorActions {
  /** Resolves with an error message to show in the form, or undefined when saved. */
  onSave(request: SaveRequest): Promise<string | undefined>;
  onCancel(key: string | undefined): void;
}

const encoder = new TextEncoder();

export class Editor {
  private readonly form = byId('editor', HTMLFormElement);
  private readonly heading = byId('editor-title', HTMLHeadingElement);
  private readonly keyInput = byId('edit-key', HTMLInputElement);
  private readonly typeInput = byId('edit-type', HTMLInputElement);
  private readonly textLabel = byId('edit-value-field', HTMLDivElement);
  private readonly textInput = byId('edit-value', HTMLTextAreaElement);
  private readonly binaryNote = byId('edit-binary-note', HTMLParagraphElement);
  private readonly fileInput = byId('edit-file', HTMLInputElement);
  private readonly ttlInput = byId('edit-ttl', HTMLInputElement);
  private readonly remoteNotice = byId('editor-remote', HTMLParagraphElement);
  private readonly problem = byId('editor-problem', HTMLParagraphElement);
  private readonly saveButton = byId('edit-save', HTMLButtonElement);
  private readonly jsonHint = byId('edit-json-hint', HTMLSpanElement);
  /** The value being edited (undefined when creating). */
  private original: StoredValue | undefined;
  private changed = false;

  constructor(private readonly actions: EditorActions) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.save();
    });
    byId('edit-cancel', HTMLButtonElement).addEventListener('click', () => this.cancel());
    this.form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.cancel();
    });
    this.form.addEventListener('input', () => {
      this.changed = true;
      this.showJsonMode();
    });
    this.fileInput.addEventListener('change', () => {
      const file = this.fileInput.files?.[0];
      this.textInput.disabled = file !== undefined;
      if (file !== undefined && this.typeInput.value.trim() === '' && file.type !== '')
        this.typeInput.value = file.type;
    });
  }

  get isOpen(): boolean {
    return !this.form.hidden;
  }

  /** Open with changes the user typed and has not saved. */
  get hasUnsavedChanges(): boolean {
    return this.isOpen && this.changed;
  }

  /** The key being edited, or undefined when closed or creating. */
  get editingKey(): string | undefined {
    return this.isOpen ? this.original?.key : undefined;
  }

  openNew(keyPrefix: string): void {
    this.original = undefined;
    this.heading.textContent = 'New key';
    this.keyInput.readOnly = false;
    this.keyInput.value = keyPrefix;
    this.typeInput.value = '';
    this.showText('');
    this.ttlInput.value = '';
    this.open();
    this.keyInput.focus();
  }

  openEdit(value: StoredValue): void {
    this.original = value;
    this.heading.textContent = `Edit “${value.key}” (version ${value.version})`;
    this.keyInput.readOnly = true;
    this.keyInput.value = value.key;
    this.typeInput.value = value.contentType;
    const text = textOf(value.bytes, value.contentType);
    if (text === null) {
      this.textLabel.hidden = true;
      this.binaryNote.hidden = false;
      this.binaryNote.textContent = `This value is binary (${formatBytes(value.bytes.length)}); it is kept as it is unless you choose a file below.`;
    } else {
      this.showText(text);
    }
    this.ttlInput.value =
      value.expires === null ? '' : String(Math.max(1, Math.ceil((value.expires.getTime() - Date.now()) / 1000)));
    this.open();
    (text === null ? this.fileInput : this.textInput).focus();
  }

  close(): void {
    this.form.hidden = true;
    this.original = undefined;
  }

  /** Someone else changed or removed the key being edited. */
  noteRemoteChange(message: string): void {
    this.remoteNotice.textContent = message;
    this.remoteNotice.hidden = false;
  }

  private showText(text: string): void {
    this.textLabel.hidden = false;
    this.binaryNote.hidden = true;
    this.textInput.value = text;
    this.textInput.disabled = false;
  }

  /** A JSON content type puts the editor in JSON mode: the text must parse before it is sent. */
  private get jsonMode(): boolean {
    return isJsonType(this.typeInput.value);
  }

  private showJsonMode(): void {
    this.jsonHint.hidden = !this.jsonMode || this.textLabel.hidden;
    this.textInput.classList.toggle('json', !this.jsonHint.hidden);
  }

  private open(): void {
    this.showJsonMode();
    this.fileInput.value = '';
    this.remoteNotice.hidden = true;
    this.setProblem('');
    this.changed = false;
    this.form.hidden = false;
  }

  private cancel(): void {
    const key = this.original?.key;
    this.close();
    this.actions.onCancel(key);
  }

  private setProblem(text: string): void {
    this.problem.textContent = text;
    this.problem.hidden = text === '';
  }

  private async save(): Promise<void> {
    const key = this.keyInput.value;
    if (key === '') {
      this.setProblem('Enter a key.');
      this.keyInput.focus();
      return;
    }
    const ttlText = this.ttlInput.value.trim();
    if (ttlText !== '' && !/^[1-9]\d*$/.test(ttlText)) {
      this.setProblem('The TTL must be a whole number of seconds, 1 or more (or empty for no expiry).');
      this.ttlInput.focus();
      return;
    }
    const file = this.fileInput.files?.[0];
    let bytes: Uint8Array<ArrayBuffer>;
    if (file !== undefined) bytes = new Uint8Array(await file.arrayBuffer());
    else if (this.original !== undefined && this.textLabel.hidden) bytes = this.original.bytes;
    else {
      const problem = this.jsonMode ? jsonProblem(this.textInput.value) : undefined;
      if (problem !== undefined) {
        this.setProblem(
          `Not saved: the value is not valid JSON (${problem}). Fix it, or change the content type if it is not meant to be JSON.`,
        );
        this.textInput.focus();
        return;
      }
      bytes = encoder.encode(this.textInput.value);
    }
    this.setProblem('');
    this.saveButton.disabled = true;
    try {
      const problem = await this.actions.onSave({
        key,
        bytes,
        contentType: this.typeInput.value.trim(),
        ttl: ttlText === '' ? undefined : Number(ttlText),
        ifVersion: this.original?.version,
      });
      if (problem !== undefined) this.setProblem(problem);
    } finally {
      this.saveButton.disabled = false;
    }
  }
}
