// The seed's index page: what this server is, how many keys, the most recently updated keys
// with relative times, and curl examples for this very server.

import type { EntryInfo } from '../model/entry.js';
import { relativeTime } from '../model/relative-time.js';
import { isoTime } from './iso-time.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export interface IndexPageData {
  readonly baseUrl: string;
  readonly keyCount: number;
  readonly revision: number;
  readonly recent: readonly EntryInfo[];
  readonly now: number;
  readonly privateReads: boolean;
  readonly engine: string;
}

export function renderIndexPage(data: IndexPageData): string {
  const base = escapeHtml(data.baseUrl);
  const rows = data.recent
    .map((item) => {
      const key = escapeHtml(item.key);
      const href = `${base}/?k=${escapeHtml(encodeURIComponent(item.key))}`;
      return `<tr><td><a href="${href}">${key}</a></td><td>${item.size} B</td><td>v${item.version}</td><td title="${isoTime(item.updated)}">${escapeHtml(relativeTime(item.updated, data.now, 'en'))}</td></tr>`;
    })
    .join('\n');
  const auth = data.privateReads ? ' -H "Authorization: Bearer $TOKEN"' : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kvs</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4;border-radius:4px}
pre{padding:.6rem .8rem;overflow-x:auto}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee}
</style></head>
<body>
<h1>kvs</h1>
<p>A durable key/value server. This one holds <strong id="key-count">${data.keyCount}</strong> key${data.keyCount === 1 ? '' : 's'} (store revision ${data.revision}, ${escapeHtml(data.engine)} engine). Reads are ${data.privateReads ? 'private (they need a token)' : 'public'}; writes need a token.</p>
<p><a href="${base}/ui/">Open the web UI</a> to browse, edit and watch keys live.</p>
<h2>Recently updated</h2>
${data.recent.length === 0 ? '<p>No keys yet.</p>' : `<table id="recent"><thead><tr><th>key</th><th>size</th><th>version</th><th>updated</th></tr></thead><tbody>\n${rows}\n</tbody></table>`}
<h2>Use it</h2>
<pre>curl --data "greeting=hello&amp;auth=$TOKEN" ${base}/
curl${auth} "${base}/?k=greeting"
curl${auth} "${base}/?k=greeting,other"     # the most recently updated of the two
curl -X PUT -H "Authorization: Bearer $TOKEN" --data-binary @file.json -H "Content-Type: application/json" ${base}/v1/kv/config/app
curl${auth} -i ${base}/v1/kv/config/app
curl${auth} "${base}/v1/kv?prefix=config/"
curl${auth} -N "${base}/v1/watch?prefix=config/"</pre>
<p>API description: <a href="${base}/openapi.json">/openapi.json</a> · health: <a href="${base}/healthz">/healthz</a> · metrics: <a href="${base}/metrics">/metrics</a></p>
</body></html>
`;
}
