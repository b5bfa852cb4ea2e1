// The kvs web UI: wires the folder view, the key list, the value panel and its history, the
// deleted keys, the editor, the token field and the live feed together. Page state (prefix or search, open key) lives in the URL
// fragment so a reload keeps it.

import { ApiError, KvsApi, explain, type StoredValue } from './api.js';
import { DeletedKeysView } from './deleted-keys.js';
import { byId } from './dom.js';
import { Editor, type SaveRequest } from './editor.js';
import { FolderTree } from './folder-tree.js';
import { formatBytes, refreshRelativeTimes } from './format.js';
import { HistoryPanel } from './history-panel.js';
import { KeyList } from './key-list.js';
import { LiveFeed, type LiveState } from './live-feed.js';
import type { DeletedKeyJson, KeyVersionJson, WatchEventData, WhoAmI } from './model/http-json.js';
import { loadToken, saveToken } from './token-store.js';
import { ValuePanel } from './value-panel.js';

const PAGE_SIZE = 50;

type SearchMode = 'prefix' | 'pattern' | 'contains';

let token = loadToken();
let prefix = '';
/** Prefix: browse `prefix` (live). Pattern/contains: a glob search for `query` (not live). */
let mode: SearchMode = 'prefix';
let query = '';
let openKey: string | undefined;
/** Reads need a token (learned from GET /v1/whoami). */
let privateReads = false;
/**
 * The pages visited with Next page: each one's `after` cursor (null: the first page) and how many
 * rows the pages before it showed. The last one is the page on screen; Previous page pops it.
 */
let pages: { after: string | null; rowsBefore: number }[] = [{ after: null, rowsBefore: 0 }];
/** Bumped by each list (re)load so a slow old answer cannot overwrite a newer one. */
let listGeneration = 0;
let revision = 0;

const api = new KvsApi(() => token);
const prefixInput = byId('prefix', HTMLInputElement);
const summary = byId('list-summary', HTMLParagraphElement);
const loadMoreButton = byId('load-more', HTMLButtonElement);
const nextPageButton = byId('next-page', HTMLButtonElement);
const previousPageButton = byId('prev-page', HTMLButtonElement);
const searchMode = byId('search-mode', HTMLSelectElement);
const searchLabel = byId('search-label', HTMLLabelElement);
const loginPrompt = byId('login', HTMLDivElement);
const layout = document.querySelector('main.layout') as HTMLElement;
const emptyDetail = byId('empty-detail', HTMLParagraphElement);
const liveIndicator = byId('live', HTMLParagraphElement);
const liveText = byId('live-text', HTMLSpanElement);
const statusLine = byId('status', HTMLParagraphElement);
const problemLine = byId('problem', HTMLParagraphElement);
const tokenInput = byId('token', HTMLInputElement);
const tokenState = byId('token-state', HTMLSpanElement);
const deleteDialog = byId('confirm-delete', HTMLDialogElement);
const deleteQuestion = byId('confirm-delete-question', HTMLParagraphElement);
const revertDialog = byId('confirm-revert', HTMLDialogElement);
const revertTitle = byId('confirm-revert-title', HTMLHeadingElement);
const revertQuestion = byId('confirm-revert-question', HTMLParagraphElement);
const revertButton = byId('confirm-revert-ok', HTMLButtonElement);

const keyList = new KeyList(byId('key-list', HTMLUListElement), (key) => {
  if (editor.hasUnsavedChanges && !confirm('Discard the changes in the editor?')) return;
  void openValue(key);
});
const historyPanel = new HistoryPanel(api, { onRevert: (key, entry) => void confirmRevert(key, entry) });
const deletedView = new DeletedKeysView(api, {
  onRestore: (entry) => void confirmRestore(entry),
  onOpen: (key) => void openValue(key),
});
const valuePanel = new ValuePanel({
  onEdit: (value) => {
    valuePanel.hide();
    historyPanel.hide();
    editor.openEdit(value);
  },
  onDelete: (value) => void confirmDelete(value),
  onMessage: (kind, text) => say(kind, text),
});
const folderTree = new FolderTree(api, {
  onOpen: (folder) => {
    mode = 'prefix';
    prefix = folder;
    showSearchForm();
    saveLocation();
    void loadList();
  },
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
/** The message bar says the server cannot be reached: cleared as soon as it answers again. */
let unreachableShown = false;

function say(kind: 'info' | 'error', text: string): void {
  if (kind === 'error') {
    problemLine.textContent = text;
    problemLine.hidden = text === '';
    unreachableShown = text.startsWith('Cannot reach the server');
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
  liveText.textContent = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Reconnecting…',
    offline: 'Offline',
    paused: 'Not live',
    locked: 'Locked',
  }[state];
  if (state === 'offline') say('error', detail);
  if (state === 'live') serverAnswered();
}

/** Any answer from the server: a "Cannot reach the server" message is out of date. */
function serverAnswered(): void {
  if (unreachableShown) say('error', '');
}

/** A private server and no (accepted) token: a login prompt instead of the list. */
function showLogin(shown: boolean): void {
  loginPrompt.hidden = !shown;
  if (shown) {
    showLiveState('locked', 'This server is private: enter a token to browse and watch it.');
    folderTree.clear();
  }
}

/** The glob a search sends: a pattern as typed, or `*text*` with the glob's special characters escaped. */
function searchPattern(): string {
  return mode === 'contains' ? `*${query.replace(/[*?[\]\\]/g, (special) => `\\${special}`)}*` : query;
}

const number = new Intl.NumberFormat('en');

function updateSummary(): void {
  const count = keyList.size;
  const searching = mode !== 'prefix';
  const scope = searching
    ? mode === 'contains'
      ? `containing “${query}”`
      : `matching “${query}”`
    : prefix === ''
      ? 'in the store'
      : `starting with “${prefix}”`;
  const page = pages[pages.length - 1]!;
  const total = searching ? null : prefix === '' ? folderTree.storeKeys : folderTree.prefixKeys;
  // A page can be empty and still have a next one (expired keys not yet swept, a search that
  // examined its 10,000 keys, docs/limits.md): "0+ keys".
  const none = count === 0 && keyList.next === null;
  let shown: string;
  if (none) shown = pages.length === 1 ? `No keys ${scope}.` : `No more keys ${scope}.`;
  else if (pages.length > 1 || total !== null) {
    const range =
      count === 0
        ? 'No keys yet'
        : `Keys ${number.format(page.rowsBefore + 1)}–${number.format(page.rowsBefore + count)}`;
    shown = total !== null ? `${range} of ${number.format(total)} ${scope}` : `${range} ${scope}`;
  } else shown = `${count}${keyList.next === null ? '' : '+'} key${count === 1 ? '' : 's'} ${scope}`;
  summary.textContent = none ? shown : `${shown} · store revision ${revision}`;
  loadMoreButton.hidden = keyList.next === null;
  nextPageButton.hidden = keyList.next === null;
  previousPageButton.hidden = pages.length === 1;
}

function saveLocation(): void {
  const state = new URLSearchParams();
  if (mode !== 'prefix') state.set(mode, query);
  else if (prefix !== '') state.set('prefix', prefix);
  if (openKey !== undefined) state.set('key', openKey);
  const fragment = state.toString();
  const hash = fragment === '' ? '' : `#${fragment}`;
  if (location.hash !== hash) history.replaceState(null, '', hash === '' ? location.pathname + location.search : hash);
}

/** The phone layout shows the list or the detail, one at a time (docs/ui.md). */
function showView(view: 'list' | 'detail'): void {
  const changed = layout.dataset.view !== view;
  layout.dataset.view = view;
  if (changed && view === 'detail' && narrow.matches) window.scrollTo(0, 0);
}
const narrow = window.matchMedia('(max-width: 760px)');

function showSearchForm(): void {
  searchMode.value = mode;
  prefixInput.value = mode === 'prefix' ? prefix : query;
  searchLabel.textContent = { prefix: 'Prefix', pattern: 'Pattern', contains: 'Contains' }[mode];
  prefixInput.placeholder = { prefix: 'e.g. config/', pattern: 'e.g. user/*/name', contains: 'e.g. name' }[mode];
  prefixInput.title = {
    prefix: 'Keys starting with this text (press / to get here)',
    pattern: 'Keys matching a glob: * any text, ? one byte, [abc] one of (press / to get here)',
    contains: 'Keys containing this text anywhere (press / to get here)',
  }[mode];
}

function showDetailPlaceholder(): void {
  openKey = undefined;
  showView('list');
  keyList.select(undefined);
  valuePanel.hide();
  historyPanel.hide();
  deletedView.close();
  emptyDetail.hidden = false;
  saveLocation();
}

// ---- list -------------------------------------------------------------------------------

/** (Re)loads the list from its first page; `limit` keeps more rows than one page (after a burst). */
async function loadList(limit = PAGE_SIZE): Promise<boolean> {
  pages = [{ after: null, rowsBefore: 0 }];
  const folders = mode === 'prefix' ? folderTree.show(prefix) : undefined;
  // The list's summary says what was searched; the breadcrumbs only that this is a search.
  if (mode !== 'prefix') folderTree.showSearch(mode === 'contains' ? 'Search: contains' : 'Search: pattern');
  const loaded = await loadPage(limit);
  // The total key count of the summary comes with the folders.
  if (folders !== undefined) void folders.then(() => loaded && updateSummary());
  return loaded;
}

/** Loads the page that starts after `pages`' last cursor (the current page, again). */
async function loadPage(limit = PAGE_SIZE): Promise<boolean> {
  const generation = ++listGeneration;
  const start = pages[pages.length - 1]!.after;
  live.stop();
  summary.textContent = 'Loading…';
  try {
    const page =
      mode === 'prefix' ? await api.list(prefix, start, limit) : await api.search(searchPattern(), start, limit);
    if (generation !== listGeneration) return false;
    revision = page.revision;
    keyList.reset(page, start);
    keyList.select(openKey);
    say('error', '');
    showLogin(false);
    updateSummary();
    // Watch from the listing's revision: nothing committed after the listing is missed. A
    // search is not watched (the feed filters by prefix only): it is a snapshot.
    if (mode === 'prefix') live.start(prefix, page.revision);
    else showLiveState('paused', 'Search results are not updated live; search again to refresh them.');
    return true;
  } catch (error) {
    if (generation !== listGeneration) return false;
    keyList.reset({ items: [], next: null, revision: 0 });
    loadMoreButton.hidden = true;
    nextPageButton.hidden = true;
    if (error instanceof ApiError && error.code === 'auth_required' && (privateReads || token === '')) {
      summary.textContent = 'Enter a token to see the keys.';
      showLogin(true);
      return false;
    }
    summary.textContent = 'The keys could not be listed.';
    showLiveState('offline', 'Not watching: the keys could not be listed.');
    say('error', explain(error));
    return false;
  }
}

async function nextPage(): Promise<void> {
  const after = keyList.next;
  if (after === null) return;
  const current = pages[pages.length - 1]!;
  pages.push({ after, rowsBefore: current.rowsBefore + keyList.size });
  await loadPage();
  byId('key-list', HTMLUListElement).scrollTop = 0;
}

async function previousPage(): Promise<void> {
  if (pages.length === 1) return;
  pages.pop();
  await loadPage();
}

async function loadMore(): Promise<void> {
  const after = keyList.next;
  if (after === null) return;
  const generation = listGeneration;
  loadMoreButton.disabled = true;
  try {
    const page = await api.list(prefix, after, PAGE_SIZE);
    if (generation !== listGeneration || keyList.next !== after) return;
    serverAnswered();
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
  showView('detail');
  if (editor.isOpen) editor.close();
  deletedView.close();
  try {
    const value = await api.read(key);
    if (openKey !== key || editor.isOpen) return;
    serverAnswered();
    emptyDetail.hidden = true;
    if (value === undefined) valuePanel.showGone(key, 'missing');
    else valuePanel.show(value, notice);
    // A deleted key has a history too: its Revert buttons restore it.
    void historyPanel.show(key);
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

/** Asks in the revert dialog; resolves true when confirmed. */
async function confirmWrite(title: string, question: string, action: string): Promise<boolean> {
  revertTitle.textContent = title;
  revertQuestion.textContent = question;
  revertButton.textContent = action;
  revertDialog.returnValue = '';
  revertDialog.showModal();
  await new Promise((resolve) => revertDialog.addEventListener('close', resolve, { once: true }));
  return revertDialog.returnValue === 'revert';
}

/**
 * Writes a history entry's value back as a new version, conditional on the version on screen
 * (0 when the key is deleted), so a key changed since is refused (412) rather than overwritten.
 */
async function confirmRevert(key: string, entry: KeyVersionJson): Promise<void> {
  const shown = valuePanel.current;
  const ifVersion = shown?.key === key ? shown.version : 0;
  const what = `version ${entry.version} (revision ${entry.revision}, ${formatBytes(entry.size)})`;
  const confirmed = await confirmWrite(
    ifVersion === 0 ? 'Restore key' : 'Revert key',
    ifVersion === 0
      ? `Restore “${key}” with the value of ${what}? It is written as a new version.`
      : `Revert “${key}” to ${what}? Its value and content type are written as a new version; version ${ifVersion} stays in the history.`,
    ifVersion === 0 ? 'Restore' : 'Revert',
  );
  if (!confirmed) return;
  try {
    const result = await api.revert(key, entry.revision, ifVersion);
    say('error', '');
    say('info', `Reverted “${key}” to the value of ${what}: it is now version ${result.version}.`);
    queueRefresh(key);
    if (openKey === key) await openValue(key);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'version_mismatch') {
      say('error', `${explain(error, key)} Its value and history are reloaded: check them and try again.`);
      if (openKey === key) await openValue(key);
      return;
    }
    say('error', explain(error, key));
  }
}

/** Restores a deleted key from the Deleted keys view: its last kept put, written back if still absent. */
async function confirmRestore(entry: DeletedKeyJson): Promise<void> {
  const last = entry.lastPut;
  if (last === null) return;
  const confirmed = await confirmWrite(
    'Restore key',
    `Restore “${entry.key}” with its last value (version ${last.version}, revision ${last.revision}, ${formatBytes(last.size)})?`,
    'Restore',
  );
  if (!confirmed) return;
  try {
    const result = await api.revert(entry.key, last.revision, 0);
    say('error', '');
    say('info', `Restored “${entry.key}”: it is now version ${result.version}.`);
    queueRefresh(entry.key);
    await openValue(entry.key);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'version_mismatch') {
      say('error', `“${entry.key}” exists again (written after the list was read), so nothing was restored.`);
      void deletedView.reload();
      return;
    }
    say('error', explain(error, entry.key));
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
    if (!(await loadPage(rows)) && rows > PAGE_SIZE) await loadPage();
    return;
  }
  const generation = listGeneration;
  await Promise.all(
    keys.map(async (key) => {
      try {
        const info = await api.info(key);
        if (generation !== listGeneration) return;
        if (info === undefined) keyList.remove(key);
        // A search is a snapshot: a saved key updates its row but is not added.
        else if (keyList.has(key) || (mode === 'prefix' && keyList.covers(key))) keyList.upsert(info, true);
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
      void historyPanel.show(event.key);
    }
  }
  updateSummary();
}

// ---- token ------------------------------------------------------------------------------

/** "admin, all keys" or "read, prefixes a/ b/". */
function describeGrant(who: WhoAmI): string {
  return `${who.scope}, ${who.prefixes.length === 0 ? 'all keys' : `prefixes ${who.prefixes.join(' ')}`}`;
}

function showTokenState(who?: WhoAmI): void {
  tokenState.textContent =
    token === ''
      ? privateReads
        ? 'No token: this server is private, reading needs one.'
        : 'No token: reading only (where the server allows).'
      : who?.authenticated
        ? `Token set for this tab: ${describeGrant(who)}.`
        : 'Token set for this tab.';
}

/**
 * Checks a token with the server (GET /v1/whoami) before using it: a refused token is reported
 * in red and not used, so the list (public reads) stays as it was.
 */
async function useToken(candidate: string): Promise<void> {
  let who: WhoAmI;
  try {
    who = await api.whoami(candidate);
  } catch (error) {
    say('info', '');
    say('error', explain(error));
    tokenInput.value = token;
    return;
  }
  privateReads = who.privateReads;
  token = candidate;
  saveToken(token);
  showTokenState(who);
  say('error', '');
  say('info', `Token saved for this tab: ${describeGrant(who)}.`);
  await reloadAll();
}

byId('token-form', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  const candidate = tokenInput.value.trim();
  if (candidate === '') forgetToken();
  else void useToken(candidate);
});

function forgetToken(): void {
  token = '';
  tokenInput.value = '';
  saveToken('');
  showTokenState();
  say('info', 'Token forgotten.');
  void reloadAll();
}

byId('token-forget', HTMLButtonElement).addEventListener('click', forgetToken);

async function reloadAll(): Promise<void> {
  await loadList();
  if (openKey !== undefined && !editor.isOpen) await openValue(openKey);
}

// ---- start ------------------------------------------------------------------------------

byId('search-form', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  mode = searchMode.value as SearchMode;
  if (mode === 'prefix') prefix = prefixInput.value;
  else query = prefixInput.value;
  // An empty search is the folder view of the whole store.
  if (mode !== 'prefix' && query === '') {
    mode = 'prefix';
    prefix = '';
  }
  showSearchForm();
  saveLocation();
  void loadList();
});
searchMode.addEventListener('change', () => {
  const typed = prefixInput.value;
  mode = searchMode.value as SearchMode;
  showSearchForm();
  prefixInput.value = typed;
  prefixInput.focus();
});
loadMoreButton.addEventListener('click', () => void loadMore());
nextPageButton.addEventListener('click', () => void nextPage());
previousPageButton.addEventListener('click', () => void previousPage());
byId('new-key', HTMLButtonElement).addEventListener('click', () => {
  valuePanel.hide();
  historyPanel.hide();
  deletedView.close();
  emptyDetail.hidden = true;
  showView('detail');
  editor.openNew(mode === 'prefix' ? prefix : '');
});
byId('show-deleted', HTMLButtonElement).addEventListener('click', () => {
  if (editor.hasUnsavedChanges && !confirm('Discard the changes in the editor?')) return;
  editor.close();
  showDetailPlaceholder();
  emptyDetail.hidden = true;
  showView('detail');
  void deletedView.open(mode === 'prefix' ? prefix : '');
});
byId('back', HTMLButtonElement).addEventListener('click', () => {
  if (editor.hasUnsavedChanges && !confirm('Discard the changes in the editor?')) return;
  editor.close();
  const key = openKey;
  showDetailPlaceholder();
  // Back on the list, at the row that was open.
  if (key !== undefined) keyList.focus(key);
});
document.addEventListener('keydown', (event) => {
  const target = event.target;
  const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
  if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    prefixInput.focus();
  }
});

async function start(): Promise<void> {
  const initial = new URLSearchParams(location.hash.slice(1));
  prefix = initial.get('prefix') ?? '';
  for (const searched of ['pattern', 'contains'] as const) {
    const text = initial.get(searched);
    if (text !== null && text !== '') {
      mode = searched;
      query = text;
    }
  }
  showSearchForm();
  tokenInput.value = token;
  showView('list');
  // Whether reads need a token, and what the stored token may do: one cheap request.
  try {
    const who = await api.whoami();
    privateReads = who.privateReads;
    showTokenState(who);
  } catch (error) {
    showTokenState();
    if (error instanceof ApiError && error.status !== 0) say('error', `The stored token: ${explain(error)}`);
  }
  void loadList();
  const initialKey = initial.get('key');
  if (initialKey !== null) void openValue(initialKey);
}

window.setInterval(() => refreshRelativeTimes(), 5000);
void start();
