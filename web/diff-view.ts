// A unified patch (as the server's ?diff sends it) shown line by line: added lines in <ins>,
// removed lines in <del>, hunk headers and file headers muted. Values are untrusted, so every
// line goes in as text, never as HTML.

import { element } from './dom.js';

export type DiffLineKind = 'added' | 'removed' | 'context' | 'hunk' | 'header' | 'note';

/** What a line of a unified patch is. Lines before the first hunk are the file headers. */
export function classifyLine(line: string, inHunk: boolean): DiffLineKind {
  if (line.startsWith('@@')) return 'hunk';
  if (!inHunk) return 'header';
  if (line.startsWith('+')) return 'added';
  if (line.startsWith('-')) return 'removed';
  if (line.startsWith('\\')) return 'note';
  return 'context';
}

/** The patch as a <pre> of one element per line. */
export function renderPatch(patch: string): HTMLPreElement {
  const lines = patch.split('\n');
  // The patch ends with a newline: no empty last line.
  if (lines[lines.length - 1] === '') lines.pop();
  let inHunk = false;
  const shown: HTMLElement[] = [];
  for (const line of lines) {
    const kind = classifyLine(line, inHunk);
    if (kind === 'hunk') inHunk = true;
    // The file headers (=== and the ---/+++ names) say nothing the panel's title does not.
    if (kind === 'header') continue;
    const tag = kind === 'added' ? 'ins' : kind === 'removed' ? 'del' : 'span';
    shown.push(element(tag, { className: `diff-line diff-${kind}`, text: line }));
  }
  return element('pre', { className: 'diff value-text', attrs: { 'aria-label': 'Line diff' } }, shown);
}
