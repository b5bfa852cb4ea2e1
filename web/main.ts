// The kvs web UI: wires the key list, the value panel, the editor, the token field and the live
// feed together. Page state (prefix, open key) lives in the URL fragment so a reload keeps it.

import { ApiError, KvsApi, explain, type StoredValue } from './api.js';
import { byId } from './dom.js';
import { Editor, type SaveRequest } from './editor.js';
import { refreshRelativeTimes } from './format.js';
import { KeyList } from './key-list.js';
import { LiveFeed, type LiveState } from './live-feed.js';
import type { WatchEventData } from './model/http-json.js';
import { loadToken, saveToken } from './token-store.js';
import { ValuePanel } from './value-panel.js';

const PAGE_SIZE = 50;

let token = loadToken();
let prefix = '';
let openKey: string | undefined;
/** Bumped by each list (re)load so a slow old answer cannot overwrite a newer one. */
let listGeneration = 0;
let revision = 0;

const api = new KvsApi(() => token);
const prefixInput = byId('prefix', HTMLInputElement);
const summary = byId('list-summary', HTMLParagraphElement);
const loadMoreButton = byId('load-more', HTMLButtonElement);
const emptyDetail = byId('empty-detail', HTMLParagraphElement);
const liveIndicator = byId('live', HTMLParagraphElement);
const liveText = byId('live-text', HTMLSpanElement);
const statusLine = byId('status', HTMLParagraphElement);
const problemLine = byId('problem', HTMLParagraphElement);
const tokenInput = byId('token', HTMLInputElement);
const tokenState = byId('token-state', HTMLSpanElement);
const deleteDialog = byId('confirm-delete', HTMLDialogElement);
const deleteQuestion = byId('confirm-delete-question', HTMLParagraphElement);

const keyList = new KeyList(byId('key-list', HTMLUListElement), (key) => {
  if (editor.hasUnsavedChanges && !confirm('Discard the changes in the editor?')) return;
  void openValue(key);
});
const valuePanel = new ValuePanel({
  onEdit: (value) => {
    valuePanel.hide();
    editor.openEdit(value);
  },
  onDelete: (value) => void confirmDelete(value),
});
const editor = new Editor({
  onSave: save,
  onCancel: (key) => {
    if (key !== undefined) void openValue(key);
    else showDetailPlaceholder();
  },
});
const live = new LiveFeed(api, {
  onChange: applyChange,
  onState: showLiveState,
  onResync: () => {
    say('info', 'The change feed fell too far behind; reloading the list.');
    void loadList();
  },
});

// ---- messages ---------------------------------------------------------------------------

let statusTimer: number | undefined;

function say(kind: 'info' | 'error', text: string): void {
  if (kind === 'error') {
    problemLine.textContent = text;
    problemLine.hidden = text === '';
    return;
  }
  statusLine.textContent = text;
  statusLine.hidden = text === '';
  if (statusTimer !== undefined) clearTimeout(statusTimer);
  if (text !== '') statusTimer = window.setTimeout(() => say('info', ''), 8000);
}

function showLiveState(state: LiveState, detail: string): void {
  liveIndicator.dataset.state = state;
  liveIndicator.title = detail;
  liveText.textContent = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' }[
    state
  ];
  if (state === 'offline') say('error', detail);
}

function updateSummary(): void {
  const count = keyList.size;
  const scope = prefix === '' ? 'in the store' : `starting with “${prefix}”`;
  // A page can be empty and still have a next one (expired keys not yet swept, docs/limits.md): "0+ keys".
  const none = count === 0 && keyList.next === null;
  const shown = none
    ? `No keys ${scope}.`
    : `${count}${keyList.next === null ? '' : '+'} key${count === 1 ? '' : 's'} ${scope}`;
  summary.textContent = none ? shown : `${shown} · store revision ${revision}`;
  loadMoreButton.hidden = keyList.next === null;
}

function saveLocation(): void {
  const state = new URLSearchParams();
  if (prefix !== '') state.set('prefix', prefix);
  if (openKey !== undefined) state.set('key', openKey);
  const query = state.toString();
  const hash = query === '' ? '' : `#${query}`;
  if (location.hash !== hash) history.replaceState(null, '', hash === '' ? location.pathname + location.search : hash);
}

function showDetailPlaceholder(): void {
  openKey = undefined;
  keyList.select(undefined);
  valuePanel.hide();
  emptyDetail.hidden = false;
  saveLocation();
}

// ---- list -------------------------------------------------------------------------------

/** (Re)loads the list from its start; `limit` keeps more rows than one page (after a burst). */
async function loadList(limit = PAGE_SIZE): Promise<boolean> {
  const generation = ++listGeneration;
  live.stop();
  summary.textContent = 'Loading…';
  try {
    const page = await api.list(prefix, null, limit);
    if (generation !== listGeneration) return false;
    revision = page.revision;
    keyList.reset(page);
    keyList.select(openKey);
    say('error', '');
    updateSummary();
    // Watch from the listing's revision: nothing committed after the listing is missed.
    live.start(prefix, page.revision);
    return true;
  } catch (error) {
    if (generation !== listGeneration) return false;
    keyList.reset({ items: [], next: null, revision: 0 });
    summary.textContent = 'The keys could not be listed.';
    loadMoreButton.hidden = true;
    showLiveState('offline', 'Not watching: the keys could not be listed.');
    say('error', explain(error));
    return false;
  }
}

async function loadMore(): Promise<void> {
  const after = keyList.next;
  if (after === null) return;
  const generation = listGeneration;
  loadMoreButton.disabled = true;
  try {
    const page = await api.list(prefix, after, PAGE_SIZE);
    if (generation !== listGeneration || keyList.next !== after) return;
    keyList.append(page);
    revision = Math.max(revision, page.revision);
    updateSummary();
  } catch (error) {
    say('error', explain(error));
  } finally {
    loadMoreButton.disabled = false;
  }
}

// ---- one value ----------------------------------------------------------------------------

async function openValue(key: string, notice = ''): Promise<void> {
  openKey = key;
  keyList.select(key);
  saveLocation();
  if (editor.isOpen) editor.close();
  try {
    const value = await api.read(key);
    if (openKey !== key || editor.isOpen) return;
    emptyDetail.hidden = true;
    if (value === undefined) valuePanel.showGone(key, 'missing');
    else valuePanel.show(value, notice);
  } catch (error) {
    say('error', explain(error, key));
  }
}

async function save(request: SaveRequest): Promise<string | undefined> {
  try {
    const result = await api.write(request.key, request.bytes, {
      contentType: request.contentType,
      ttl: request.ttl,
      ifVersion: request.ifVersion,
      ifAbsent: request.ifVersion === undefined,
    });
    editor.close();
    say('info', `Saved “${result.key}” (version ${result.version}).`);
    say('error', '');
    queueRefresh(result.key);
    await openValue(result.key);
    return undefined;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 0 || error.status >= 500))
      say('error', explain(error, request.key));
    const conflict = error instanceof ApiError && error.code === 'version_mismatch';
    return (
      explain(error, request.key) + (conflict ? ' Your text is still in the form; Cancel shows the current value.' : '')
    );
  }
}

async function confirmDelete(value: StoredValue): Promise<void> {
  deleteQuestion.textContent = `Delete “${value.key}” (version ${value.version})? This cannot be undone.`;
  deleteDialog.returnValue = '';
  deleteDialog.showModal();
  await new Promise((resolve) => deleteDialog.addEventListener('close', resolve, { once: true }));
  if (deleteDialog.returnValue !== 'delete') return;
  try {
    // If-Match: delete what was shown, not a newer value someone else just wrote.
    const deletedAt = await api.remove(value.key, value.version);
    keyList.remove(value.key);
    updateSummary();
    say('info', `Deleted “${value.key}” at revision ${deletedAt}.`);
    say('error', '');
    if (openKey === value.key) showDetailPlaceholder();
  } catch (error) {
    say('error', explain(error, value.key));
  }
}

// ---- live changes -----------------------------------------------------------------------

const pendingRefresh = new Set<string>();
let _refreshTimer: number | undefined;
/** Beyond this many changed keys at once, reloading the list costs less than one read per key. */
const BURST_KEYS = 25;
/** The server's default cap on a page (--max-list-limit). */
const MAX_RELOAD_ROWS = 1000;

/** Re-reads the listing entry of changed keys, a burst of events costing one read per key. */
function queueRefresh(key: string): void {
  pendingRefresh.add(key);
  _refreshTimer ??= window.setTimeout(() => void refreshPending(), 50);
}

async function refreshPending(): Promise<void> {
  _refreshTimer = undefined;
  const keys = [...pendingRefresh];
  pendingRefresh.clear();
  if (keys.length > BURST_KEYS) {
    // loadList restarts the feed from the new listing's revision, so nothing is lost.
    const rows = Math.min(MAX_RELOAD_ROWS, Math.max(PAGE_SIZE, keyList.size));
    // A server with a smaller --max-list-limit refuses the big page: fall back to one page.
    if (!(await loadList(rows)) && rows > PAGE_SIZE) await loadList();
    return;
  }
  const generation = listGeneration;
  await Promise.all(
    keys.map(async (key) => {
      try {
        const info = await api.info(key);
        if (generation !== listGeneration) return;
        if (info === undefined) keyList.remove(key);
        else if (keyList.has(key) || keyList.covers(key)) keyList.upsert(info, true);
      } catch {
        // The next change (or a reload) brings the row up to date.
      }
    }),
  );
  updateSummary();
}

function applyChange(event: WatchEventData): void {
  revision = Math.max(revision, event.revision);
  if (event.type === 'put') {
    queueRefresh(event.key);
    if (editor.editingKey === event.key) {
      editor.noteRemoteChange(
        `“${event.key}” was changed elsewhere (now version ${event.version}) while you were editing. Saving will be refused as a conflict; cancel to see the new value.`,
      );
    } else if (openKey === event.key && !editor.isOpen) {
      void openValue(event.key, `Updated live to version ${event.version} (revision ${event.revision}).`);
    }
  } else {
    keyList.remove(event.key);
    const how = event.type === 'delete' ? 'deleted' : 'expired';
    if (editor.editingKey === event.key) {
      editor.noteRemoteChange(
        `“${event.key}” was ${how} elsewhere while you were editing. Saving will be refused as a conflict.`,
      );
    } else if (openKey === event.key) {
      valuePanel.showGone(event.key, how, event.revision);
    }
  }
  updateSummary();
}

// ---- token ------------------------------------------------------------------------------

function showTokenState(): void {
  tokenState.textContent =
    token === '' ? 'No token: reading only (where the server allows).' : 'Token set for this tab.';
}

byId('token-form', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  token = tokenInput.value.trim();
  saveToken(token);
  showTokenState();
  say('info', token === '' ? 'Token forgotten.' : 'Token saved for this tab.');
  void reloadAll();
});

byId('token-forget', HTMLButtonElement).addEventListener('click', () => {
  token = '';
  tokenInput.value = '';
  saveToken('');
  showTokenState();
  say('info', 'Token forgotten.');
  void reloadAll();
});

async function reloadAll(): Promise<void> {
  await loadList();
  if (openKey !== undefined && !editor.isOpen) await openValue(openKey);
}

// ---- start ------------------------------------------------------------------------------

byId('search-form', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  prefix = prefixInput.value;
  saveLocation();
  void loadList();
});
loadMoreButton.addEventListener('click', () => void loadMore());
byId('new-key', HTMLButtonElement).addEventListener('click', () => {
  valuePanel.hide();
  emptyDetail.hidden = true;
  editor.openNew(prefix);
});
document.addEventListener('keydown', (event) => {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
  if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    prefixInput.focus();
  }
});

const initial = new URLSearchParams(location.hash.slice(1));
prefix = initial.get('prefix') ?? '';
prefixInput.value = prefix;
tokenInput.value = token;
showTokenState();
window.setInterval(() => refreshRelativeTimes(), 5000);
void loadList();
const initialKey = initial.get('key');
if (initialKey !== null) void openValue(initialKey);
