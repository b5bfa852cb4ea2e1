// The line diff of two versions of a value (docs/history.md, "Diff"): a unified diff made by
// jsdiff when both are UTF-8 text within DIFF_VALUE_MAX_BYTES, else a short verdict. jsdiff's
// Myers diff costs time with the edits it finds, so it runs with an edit and a time bound and a
// diff past either is answered like a too-large one: one request never holds the event loop long.

import { isUtf8 } from 'node:buffer';
import { formatPatch, structuredPatch } from 'diff';

/** Bytes of either side a diff takes at most (docs/limits.md). */
export const DIFF_VALUE_MAX_BYTES = 1024 * 1024;
/** Edits (added plus removed lines) a diff finds at most before it gives up. */
export const DIFF_EDIT_MAX = 5000;
/** Milliseconds a diff runs at most before it gives up. */
export const DIFF_TIME_MAX_MS = 500;

/** One side of a diff: the entry it names and its value. */
export interface DiffSide {
  readonly label: string;
  readonly value: Buffer;
}

export type ValueDiff =
  | { readonly binary: false; readonly patch: string; readonly added: number; readonly removed: number }
  | { readonly binary: true; readonly message: string }
  | { readonly binary: false; readonly tooLarge: true; readonly message: string };

export function diffValues(from: DiffSide, to: DiffSide): ValueDiff {
  if (!isUtf8(from.value) || !isUtf8(to.value))
    return {
      binary: true,
      message: from.value.equals(to.value) ? 'binary values are identical' : 'binary values differ',
    };
  if (from.value.length > DIFF_VALUE_MAX_BYTES || to.value.length > DIFF_VALUE_MAX_BYTES)
    return { binary: false, tooLarge: true, message: 'values too large to diff (limit 1 MiB)' };
  const patch = structuredPatch(from.label, to.label, from.value.toString('utf8'), to.value.toString('utf8'), '', '', {
    maxEditLength: DIFF_EDIT_MAX,
    timeout: DIFF_TIME_MAX_MS,
  });
  if (patch === undefined)
    return {
      binary: false,
      tooLarge: true,
      message: `values differ too much to diff (limit ${DIFF_EDIT_MAX} changed lines, ${DIFF_TIME_MAX_MS} ms)`,
    };
  let added = 0;
  let removed = 0;
  for (const hunk of patch.hunks)
    for (const line of hunk.lines) {
      if (line.startsWith('+')) added++;
      else if (line.startsWith('-')) removed++;
    }
  return { binary: false, patch: formatPatch(patch), added, removed };
}
