// JSON values shown pretty-printed, highlighted and foldable. The tree is built from the value's
// own tokens, not from JSON.parse's result, so numbers keep the digits they were written with
// (JSON.parse rounds 12345678901234567890) and strings their escapes. Text goes in as text only.

import { element } from './dom.js';

type Token =
  | { readonly kind: 'punct'; readonly text: '{' | '}' | '[' | ']' | ':' | ',' }
  | { readonly kind: 'string' | 'number' | 'literal'; readonly text: string };

const TOKEN =
  /\s*(?:([{}[\]:,])|("(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")|(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null))/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (match === null) {
      if (text.slice(start).trim() === '') break;
      throw new Error(`unexpected text at ${start}`);
    }
    if (match[1] !== undefined) tokens.push({ kind: 'punct', text: match[1] as '{' });
    else if (match[2] !== undefined) tokens.push({ kind: 'string', text: match[2] });
    else if (match[3] !== undefined) tokens.push({ kind: 'number', text: match[3] });
    else tokens.push({ kind: 'literal', text: match[4]! });
  }
  return tokens;
}

/** Past this many tokens the value is shown as plain pretty text (the DOM would be too large). */
const MAX_TOKENS = 20_000;

/** The JSON problem of a text (JSON.parse's message), or undefined when it is valid JSON. */
export function jsonProblem(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Whether a content type says JSON (application/json, anything+json). */
export function isJsonType(contentType: string): boolean {
  return /^\s*application\/(?:[^;]*\+)?json\s*(?:;|$)/i.test(contentType);
}

/**
 * A highlighted, foldable view of a JSON text, or undefined when the text is not valid JSON.
 * Objects and arrays get a fold button (aria-expanded) that hides their members.
 */
export function renderJson(text: string): HTMLElement | undefined {
  if (jsonProblem(text) !== undefined) return undefined;
  const tokens = tokenize(text);
  if (tokens.length > MAX_TOKENS) {
    return element('div', { className: 'json-view', text: JSON.stringify(JSON.parse(text), null, 2) });
  }
  let position = 0;
  const next = () => tokens[position++]!;

  const value = (indent: number): (Node | string)[] => {
    const token = next();
    if (token.kind === 'punct') return container(token.text === '{' ? '{' : '[', indent);
    return [
      element('span', { className: `json-${token.kind === 'literal' ? token.text : token.kind}`, text: token.text }),
    ];
  };

  const container = (open: '{' | '[', indent: number): (Node | string)[] => {
    const close = open === '{' ? '}' : ']';
    const members: (Node | string)[] = [];
    let count = 0;
    if (tokens[position]?.text === close) {
      position++;
      return [element('span', { className: 'json-punct', text: open + close })];
    }
    for (;;) {
      count++;
      const line: (Node | string)[] = ['\n', '  '.repeat(indent + 1)];
      if (open === '{') {
        const key = next();
        next(); // ':'
        line.push(
          element('span', { className: 'json-key', text: key.text }),
          element('span', { className: 'json-punct', text: ': ' }),
        );
      }
      line.push(...value(indent + 1));
      const separator = next();
      if (separator.text === ',') line.push(element('span', { className: 'json-punct', text: ',' }));
      members.push(...line);
      if (separator.text === close) break;
    }
    const body = element('span', { className: 'json-members' }, [...members, '\n', '  '.repeat(indent)]);
    const summary = element('span', {
      className: 'json-folded',
      text: `… ${count} ${open === '{' ? (count === 1 ? 'key' : 'keys') : count === 1 ? 'item' : 'items'} `,
    });
    summary.hidden = true;
    // The arrow is drawn by CSS (aria-expanded), so copying the view's text copies JSON only.
    const toggle = element('button', {
      className: 'json-toggle',
      title: 'Fold or unfold',
      attrs: { type: 'button', 'aria-expanded': 'true', 'aria-label': `Fold ${open === '{' ? 'object' : 'array'}` },
    });
    toggle.addEventListener('click', () => {
      const expanded = toggle.getAttribute('aria-expanded') === 'true';
      toggle.setAttribute('aria-expanded', String(!expanded));
      body.hidden = expanded;
      summary.hidden = !expanded;
    });
    return [
      toggle,
      element('span', { className: 'json-punct', text: open }),
      body,
      summary,
      element('span', { className: 'json-punct', text: close }),
    ];
  };

  return element('div', { className: 'json-view' }, value(0));
}
