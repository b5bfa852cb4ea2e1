// A linearizability checker for recorded histories (Wing & Gong's search, with the
// memoisation of Lowe, "Testing for linearizability", 2017, as in Knossos and Porcupine).
//
// A history is a list of operations, each with the times it was invoked and returned. The
// checker searches for one total order that respects real time (an operation that returned
// before another was invoked comes first) and in which every output is what a sequential
// model would have answered. Histories of independent objects are checked apart
// (P-compositionality): partition by key, then check each part.
//
// The search walks a doubly linked list of call and return entries sorted by time. At each
// step it may linearize any operation whose call precedes the first remaining return (that
// operation could have taken effect "now"); hitting a return whose operation is not yet
// linearized means the current choice is wrong, so it backtracks. The pair (set of linearized
// operations, model state) is remembered, so no configuration is explored twice.

export interface HistoryOperation<I, O> {
  /** Who issued it (for messages only). */
  readonly client?: string | number;
  readonly input: I;
  /** The observed answer; undefined when unknown (the call may or may not have taken effect). */
  readonly output: O | undefined;
  /** Invocation time, in any monotonic unit. */
  readonly call: number;
  /** Return time, in the same unit; Infinity when the operation never returned. */
  readonly return: number;
}

export interface SequentialModel<S, I, O> {
  readonly init: S;
  /**
   * Every state the object may be in after applying `input` to `state` and answering `output`;
   * empty when `output` is impossible from `state`. `output` undefined = unknown answer.
   */
  step(state: S, input: I, output: O | undefined): S[];
  /** Equal states must give equal strings. */
  hash(state: S): string;
  describe?(operation: HistoryOperation<I, O>): string;
}

export type CheckResult =
  | { readonly ok: true; readonly operations: number; readonly explored: number }
  | {
      readonly ok: false;
      readonly operations: number;
      readonly explored: number;
      /** Human-readable account: the longest linearizable prefix found and where it got stuck. */
      readonly explanation: string;
    };

interface ListEntry {
  readonly kind: 'call' | 'return';
  readonly operation: number;
  readonly time: number;
  /** For a call: its return entry. */
  match: ListEntry | undefined;
  prev: ListEntry | undefined;
  next: ListEntry | undefined;
}

class BitSet {
  private readonly words: Uint32Array;

  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32) || 1);
  }

  set(index: number): void {
    this.words[index >>> 5]! |= 1 << (index & 31);
  }

  clear(index: number): void {
    this.words[index >>> 5]! &= ~(1 << (index & 31));
  }

  key(): string {
    return this.words.join(',');
  }
}

/** Checks one object's history against a sequential model. */
export function checkLinearizable<S, I, O>(
  history: readonly HistoryOperation<I, O>[],
  model: SequentialModel<S, I, O>,
): CheckResult {
  const operations = history.length;
  if (operations === 0) return { ok: true, operations, explored: 0 };

  const entries: ListEntry[] = [];
  history.forEach((operation, index) => {
    if (!(operation.return >= operation.call)) throw new Error(`operation ${index} returns before it is called`);
    const call: ListEntry = {
      kind: 'call',
      operation: index,
      time: operation.call,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const ret: ListEntry = {
      kind: 'return',
      operation: index,
      time: operation.return,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    call.match = ret;
    entries.push(call, ret);
  });
  // On equal times a call sorts before a return: treating the two as concurrent is the
  // permissive reading, so a tie never produces a false alarm.
  entries.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1));
  const head: ListEntry = {
    kind: 'call',
    operation: -1,
    time: -Infinity,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let previous = head;
  for (const entry of entries) {
    previous.next = entry;
    entry.prev = previous;
    previous = entry;
  }

  const lift = (call: ListEntry) => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: ListEntry) => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  const linearized = new BitSet(operations);
  const seen = new Set<string>();
  const stack: { call: ListEntry; state: S; alternative: number }[] = [];
  let state = model.init;
  let entry = head.next!;
  let alternative = 0;
  let explored = 0;
  let best: { order: number[]; blockedBy: number } = { order: [], blockedBy: -1 };

  while (head.next !== undefined) {
    if (entry.kind === 'call') {
      const operation = history[entry.operation]!;
      const nextStates = model.step(state, operation.input, operation.output);
      let moved = false;
      for (let choice = alternative; choice < nextStates.length; choice++) {
        const nextState = nextStates[choice]!;
        linearized.set(entry.operation);
        const memo = `${linearized.key()}|${model.hash(nextState)}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          explored++;
          stack.push({ call: entry, state, alternative: choice });
          state = nextState;
          lift(entry);
          entry = head.next!;
          alternative = 0;
          moved = true;
          break;
        }
        linearized.clear(entry.operation);
      }
      if (!moved) {
        entry = entry.next!;
        alternative = 0;
      }
    } else {
      // The earliest remaining return belongs to an operation not linearized yet: undo.
      if (stack.length >= best.order.length)
        best = { order: stack.map((frame) => frame.call.operation), blockedBy: entry.operation };
      const frame = stack.pop();
      if (frame === undefined) return { ok: false, operations, explored, explanation: explain(history, model, best) };
      state = frame.state;
      linearized.clear(frame.call.operation);
      unlift(frame.call);
      entry = frame.call;
      alternative = frame.alternative + 1;
    }
  }
  return { ok: true, operations, explored };
}

function explain<S, I, O>(
  history: readonly HistoryOperation<I, O>[],
  model: SequentialModel<S, I, O>,
  best: { order: number[]; blockedBy: number },
): string {
  const show = (index: number) => {
    const operation = history[index]!;
    const text = model.describe
      ? model.describe(operation)
      : `${JSON.stringify(operation.input)} -> ${JSON.stringify(operation.output)}`;
    return `#${index}${operation.client === undefined ? '' : ` (client ${operation.client})`} [${operation.call}..${operation.return}] ${text}`;
  };
  const tail = best.order.slice(-20);
  return [
    `not linearizable: the longest linearizable prefix has ${best.order.length} of ${history.length} operations;`,
    `it cannot be extended past the return of ${best.blockedBy >= 0 ? show(best.blockedBy) : '?'}`,
    `last operations of that prefix${tail.length < best.order.length ? ' (last 20)' : ''}:`,
    ...tail.map((index) => `  ${show(index)}`),
  ].join('\n');
}

/** Checks each part of a history apart (objects whose operations do not interact). */
export function checkPartitioned<S, I, O>(
  history: readonly HistoryOperation<I, O>[],
  partition: (operation: HistoryOperation<I, O>) => string,
  model: SequentialModel<S, I, O>,
): Map<string, CheckResult> {
  const parts = new Map<string, HistoryOperation<I, O>[]>();
  for (const operation of history) {
    const name = partition(operation);
    let part = parts.get(name);
    if (part === undefined) parts.set(name, (part = []));
    part.push(operation);
  }
  const results = new Map<string, CheckResult>();
  for (const [name, part] of parts) results.set(name, checkLinearizable(part, model));
  return results;
}

// ---- the model of one kvs key: a versioned register with compare-and-swap ------------------

/** A key's state: absent, or a value with its version (writes to this incarnation). */
export type KeyState = { readonly value: string; readonly version: number } | null;

export type KeyInput =
  | { readonly op: 'read' }
  /** Unconditional PUT. */
  | { readonly op: 'put'; readonly value: string }
  /** PUT with If-Match: "version" (0 = the key must be absent). */
  | { readonly op: 'cas'; readonly version: number; readonly value: string }
  /** PUT with If-None-Match: *. */
  | { readonly op: 'create'; readonly value: string }
  /** DELETE, optionally with If-Match. */
  | { readonly op: 'delete'; readonly version?: number };

export type KeyOutput =
  /** read */
  | { readonly found: false }
  | { readonly found: true; readonly value: string; readonly version: number }
  /** put / cas / create that wrote: the new version */
  | { readonly ok: true; readonly version: number }
  /** cas / create / delete refused with 412: the version the server reported (0 = absent) */
  | { readonly ok: false; readonly currentVersion: number }
  /** delete that ran: whether the key existed (200) or not (404) */
  | { readonly deleted: boolean };

function written(state: KeyState, value: string): KeyState {
  return { value, version: (state?.version ?? 0) + 1 };
}

/** What the key becomes and answers when `input` runs on `state`. */
export function applyKeyInput(state: KeyState, input: KeyInput): { next: KeyState; output: KeyOutput } {
  const current = state?.version ?? 0;
  switch (input.op) {
    case 'read':
      return {
        next: state,
        output: state === null ? { found: false } : { found: true, value: state.value, version: state.version },
      };
    case 'put': {
      const next = written(state, input.value);
      return { next, output: { ok: true, version: next!.version } };
    }
    case 'cas': {
      if (current !== input.version) return { next: state, output: { ok: false, currentVersion: current } };
      const next = written(state, input.value);
      return { next, output: { ok: true, version: next!.version } };
    }
    case 'create': {
      if (state !== null) return { next: state, output: { ok: false, currentVersion: current } };
      return { next: written(state, input.value), output: { ok: true, version: 1 } };
    }
    case 'delete': {
      if (input.version !== undefined && input.version !== current)
        return { next: state, output: { ok: false, currentVersion: current } };
      return { next: null, output: { deleted: state !== null } };
    }
  }
}

function sameOutput(a: KeyOutput, b: KeyOutput): boolean {
  return JSON.stringify(a, Object.keys(a).sort()) === JSON.stringify(b, Object.keys(b).sort());
}

export const keyModel: SequentialModel<KeyState, KeyInput, KeyOutput> = {
  init: null,
  step(state, input, output) {
    const { next, output: expected } = applyKeyInput(state, input);
    // Unknown answer: it either took effect or did not.
    if (output === undefined) return next === state ? [state] : [next, state];
    return sameOutput(expected, output) ? [next] : [];
  },
  hash(state) {
    return state === null ? '-' : `${state.version}:${state.value}`;
  },
  describe(operation) {
    return `${JSON.stringify(operation.input)} -> ${operation.output === undefined ? '?' : JSON.stringify(operation.output)}`;
  },
};
