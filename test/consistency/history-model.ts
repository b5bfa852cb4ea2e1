// The model-based test's idea of per-key history (docs/history.md): every commit that changes a
// key leaves one entry, the state the commit left it in (a delete is an entry with version 0);
// each key keeps only its newest `versionsKept` entries. Also what a diff of two kept values must
// report: the text/binary decision and the lines added and removed. Pure model: no HTTP here.

/** A write's time window: the server's commit time lies within it. */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

/** One entry the model expects in a key's history. */
export interface ModelVersion {
  readonly revision: number;
  /** The key's version after a put; 0 after a delete. */
  readonly version: number;
  readonly type: 'put' | 'delete';
  readonly window: TimeWindow;
  /** The value a put wrote; null after a delete. */
  readonly value: Buffer | null;
  readonly contentType: string | null;
  readonly expires: number | null;
  /** The front end of the commit, as its audit entry names it. */
  readonly via: string;
}

/** A deleted key as `GET /v1/deleted` lists it. */
export interface ModelDeletedKey {
  readonly key: string;
  readonly deletion: ModelVersion;
  /** The newest kept put before the delete, if any is kept. */
  readonly lastPut: ModelVersion | undefined;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * How far back the store can be read at a point in time (docs/history.md, "How far back: the
 * reach"): the oldest revision a snapshot or a restore answers. Store-wide, so a run starts from
 * what the server reports; then each drop moves it. `exact` is where the memory engine puts it
 * (the dropping key's oldest entry left); lmdb's write-ahead log path moves it when it applies a
 * batch of commits, in the background, and to the dropping commit itself when the entry left is
 * in the same batch, so there it lies between the last reach the server reported and `atMost`.
 */
export interface ModelReach {
  exact: number;
  atMost: number;
}

export class ModelHistory {
  /** Kept entries per key, oldest first. */
  private readonly kept = new Map<string, ModelVersion[]>();
  /** Every entry a commit of this run wrote per key, oldest first, dropped or not: the key at any revision. */
  private readonly written = new Map<string, ModelVersion[]>();
  /** Every revision that ever wrote an entry (kept or dropped), to ask the server about. */
  private readonly revisions: number[] = [];

  /** Entries retention dropped so far. */
  dropped = 0;

  constructor(
    readonly versionsKept: number,
    /** The reach when the run started; moved by this run's drops. */
    readonly reach: ModelReach = { exact: 0, atMost: 0 },
  ) {}

  /** A commit left `key` in this state: keep it, dropping the key's oldest beyond the bound. */
  record(key: string, entry: ModelVersion): void {
    // (A run's keys are new and always keep their newest entry: the reach never moves here for
    // a key whose past history does not hold.)
    const entries = this.kept.get(key) ?? [];
    entries.push(entry);
    while (entries.length > this.versionsKept) {
      entries.shift();
      this.dropped++;
      // The key's states before its oldest entry left are unknown from now on (the newest is never dropped).
      this.reach.exact = Math.max(this.reach.exact, entries[0]!.revision);
      this.reach.atMost = Math.max(this.reach.atMost, entries[0]!.revision, entry.revision);
    }
    this.kept.set(key, entries);
    const log = this.written.get(key) ?? [];
    log.push(entry);
    this.written.set(key, log);
    if (this.revisions.at(-1) !== entry.revision) this.revisions.push(entry.revision);
  }

  /**
   * The key's value as of `revision` (after that commit): the newest entry at or before it when
   * that is a put; undefined when it was absent (deleted, or not yet written by this run).
   */
  stateAt(key: string, revision: number): ModelVersion | undefined {
    const entry = this.written.get(key)?.findLast((candidate) => candidate.revision <= revision);
    return entry?.type === 'put' ? entry : undefined;
  }

  /** The time window of this run's commit at `revision`, if this run made it. */
  windowOf(revision: number): TimeWindow | undefined {
    for (const entries of this.written.values()) {
      const entry = entries.find((candidate) => candidate.revision === revision);
      if (entry !== undefined) return entry.window;
    }
    return undefined;
  }

  /** The key's kept entries, newest first (as `?history` answers them). */
  versions(key: string): ModelVersion[] {
    return [...(this.kept.get(key) ?? [])].reverse();
  }

  /** The newest kept put with that version number (`?version=V`). */
  byVersion(key: string, version: number): ModelVersion | undefined {
    return this.versions(key).find((entry) => entry.type === 'put' && entry.version === version);
  }

  /** The kept entry at exactly that revision (`?revision=R`), put or delete. */
  byRevision(key: string, revision: number): ModelVersion | undefined {
    return this.kept.get(key)?.find((entry) => entry.revision === revision);
  }

  /** Every revision that wrote history in this run, oldest first, including dropped ones. */
  revisionsWritten(): readonly number[] {
    return this.revisions;
  }

  /** Keys whose newest kept entry is a delete, in byte order. */
  deletedKeys(): ModelDeletedKey[] {
    const deleted: ModelDeletedKey[] = [];
    for (const key of [...this.kept.keys()].sort(byteOrder)) {
      const [newest, ...older] = this.versions(key);
      if (newest?.type !== 'delete') continue;
      deleted.push({ key, deletion: newest, lastPut: older.find((entry) => entry.type === 'put') });
    }
    return deleted;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The value as text, or undefined when it is not valid UTF-8 (a diff calls it binary). */
export function utf8Text(value: Buffer): string | undefined {
  try {
    return strictUtf8.decode(value);
  } catch {
    return undefined;
  }
}

/** Lines as a line diff sees them: each with its '\n' ending, the last one possibly without; '' has none. */
function lines(text: string): string[] {
  const found: string[] = [];
  let start = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', start)) {
    found.push(text.slice(start, at + 1));
    start = at + 1;
  }
  if (start < text.length) found.push(text.slice(start));
  return found;
}

/**
 * Lines added and removed from `from` to `to` by any minimal line diff: whatever lines a diff
 * algorithm keeps, a minimal one keeps a longest common subsequence, so the counts are fixed even
 * where the patch itself is not.
 */
export function lineChanges(from: string, to: string): { added: number; removed: number } {
  const a = lines(from);
  const b = lines(to);
  // common[i][j]: longest common subsequence of a[i..] and b[j..] (values are a few bytes long).
  const common = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i]![j] = a[i] === b[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const kept = common[0]![0]!;
  return { added: b.length - kept, removed: a.length - kept };
}

/** Counts the '+' and '-' lines of a unified diff's hunks (not its '---'/'+++' file header). */
export function patchLineCounts(patch: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  let inHunks = false;
  for (const line of patch.split('\n')) {
    if (line.startsWith('@@')) inHunks = true;
    else if (!inHunks) continue;
    else if (line.startsWith('+')) added++;
    else if (line.startsWith('-')) removed++;
  }
  return { added, removed };
}
