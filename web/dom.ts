// Small typed helpers for building and finding elements; text always goes in as text, never HTML.

type Child = Node | string | null | undefined | false;

export interface ElementProps {
  readonly className?: string;
  readonly text?: string;
  readonly title?: string;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly dataset?: Readonly<Record<string, string>>;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElementProps = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (props.className !== undefined) made.className = props.className;
  if (props.text !== undefined) made.textContent = props.text;
  if (props.title !== undefined) made.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) made.setAttribute(name, value);
  for (const [name, value] of Object.entries(props.dataset ?? {})) made.dataset[name] = value;
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) made.append(child);
  }
  return made;
}

/** The element with this id, checked to be of the expected class (a missing one is a bug in index.html). */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`index.html has no <${type.name}> #${id}`);
  return found;
}
