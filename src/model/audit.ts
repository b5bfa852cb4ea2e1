// The audit trail's vocabulary: who made a write, and the entry one committed transaction leaves
// (docs/audit.md). Every engine stores the entry in the same transaction as the commit it
// describes, so an acknowledged write always has its entry and a refused one never does.

/** The front end (or the server itself) a write came through. */
export type WriteVia = 'seed' | 'v1' | 'txn' | 'resp' | 'ui' | 'expiry' | 'import' | 'revert';

export const WRITE_VIAS: readonly WriteVia[] = ['seed', 'v1', 'txn', 'resp', 'ui', 'expiry', 'import', 'revert'];

/** Who made a write: never a token's secret. */
export interface WriteOrigin {
  /** The token's public id (`tok_…` for minted tokens, `file:…` for token-file tokens); null for the server itself. */
  readonly tokenId: string | null;
  /** The token's label, or null. */
  readonly label: string | null;
  readonly via: WriteVia;
  /** The client's address, or null (the expiry sweeper). */
  readonly address: string | null;
}

/** One committed transaction that changed something. */
export interface AuditEntry extends WriteOrigin {
  readonly revision: number;
  /** When it was committed, in ms since the epoch. */
  readonly time: number;
  /** The keys it changed, the first AUDIT_KEYS_MAX of them, in operation order. */
  readonly keys: readonly string[];
  /** How many keys it changed (keys may hold fewer). */
  readonly keyCount: number;
}

/** Keys one audit entry names at most (keyCount says how many there were). */
export const AUDIT_KEYS_MAX = 32;

/** The origin of a write whose front end did not say (engine tests, tools). */
export const UNKNOWN_ORIGIN: WriteOrigin = { tokenId: null, label: null, via: 'v1', address: null };

/** The origin of the expiry sweeper's commits. */
export const EXPIRY_ORIGIN: WriteOrigin = { tokenId: null, label: null, via: 'expiry', address: null };

/** The audit entry of a commit: its origin, revision and time, and the keys it changed. */
export function auditEntryOf(
  origin: WriteOrigin | undefined,
  revision: number,
  time: number,
  changedKeys: Iterable<string>,
): AuditEntry {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const key of changedKeys) {
    if (seen.has(key)) continue;
    seen.add(key);
    if (keys.length < AUDIT_KEYS_MAX) keys.push(key);
  }
  const from = origin ?? UNKNOWN_ORIGIN;
  return {
    tokenId: from.tokenId,
    label: from.label,
    via: from.via,
    address: from.address,
    revision,
    time,
    keys,
    keyCount: seen.size,
  };
}
