// Tokens and what they allow (docs/architecture.md, "Tokens").
//
// Token file format, one token per line; a line whose first non-blank character is `#` is a
// comment (a `#` inside a token is part of it: the seed passcode `pass#word` is that token):
//     TOKEN                      -> write scope on every key (the seed's auth.txt is exactly this)
//     TOKEN SCOPE                -> SCOPE is read | write | admin
//     TOKEN SCOPE PREFIX,PREFIX  -> limited to keys starting with one of the prefixes
// TOKEN may be `sha256:<64 hex digits>`, the SHA-256 of the token, instead of the token itself.
// A file of one line that is not of that form (a passphrase with spaces, as the seed's auth.txt
// allowed) is one write token: the whole line, trimmed. docs/cli.md.
// Tokens are compared as SHA-256 digests with timingSafeEqual against every known token, so the
// time taken does not depend on how much of a token matched.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export type Scope = 'read' | 'write' | 'admin';
export type Action = 'read' | 'write' | 'admin';

const rank: Record<Scope, number> = { read: 0, write: 1, admin: 2 };

export interface TokenGrant {
  readonly scope: Scope;
  /** Key prefixes the token is limited to; empty means every key. */
  readonly prefixes: readonly string[];
  /** A short label safe to log (never the token); unique per token. */
  readonly label: string;
  /** A minted token's public id (token-registry.ts); undefined for a token-file token. */
  readonly id?: string;
  /**
   * A token-file token's public id for the audit trail: `file:` and the first 12 hex digits of
   * the token's SHA-256, computed when the file is loaded (docs/tokens.md). Never the token.
   */
  readonly fileId?: string;
  /** A minted token's label as given when it was minted (`label` is its id there, for the logs). */
  readonly mintedLabel?: string;
}

export class Principal {
  constructor(readonly grant: TokenGrant) {}

  allows(action: Action, key?: string): boolean {
    if (rank[this.grant.scope] < rank[action]) return false;
    if (key === undefined || this.grant.prefixes.length === 0) return true;
    return this.grant.prefixes.some((prefix) => key.startsWith(prefix));
  }

  /** The token's public id as the audit trail records it: minted `tok_…`, or a file token's `file:…`. */
  get tokenId(): string | null {
    return this.grant.id ?? this.grant.fileId ?? null;
  }

  /** The token's label as the audit trail records it: a minted token's own label, else `label`. */
  get auditLabel(): string {
    return this.grant.mintedLabel ?? this.grant.label;
  }

  /** Whether the token may act on every key (flush, import of arbitrary keys, ...). */
  get unrestricted(): boolean {
    return this.grant.prefixes.length === 0;
  }
}

interface StoredToken {
  readonly digest: Buffer;
  readonly grant: TokenGrant;
}

/**
 * A token-file token's audit id: the same for the token and its `sha256:` line (both hash to the
 * same digest), so hashing a file (`kvs token hash`) keeps the ids in the trail.
 */
export function fileTokenId(tokenDigest: Buffer): string {
  return `file:${tokenDigest.toString('hex').slice(0, 12)}`;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * A token file line may hold the token's SHA-256 instead of the token, as `sha256:<64 hex>`,
 * so that no secret needs to be on disk in clear (docs/tokens.md).
 */
const HASHED_TOKEN = /^sha256:([0-9a-f]{64})$/i;

function storedDigest(token: string): Buffer {
  const hashed = HASHED_TOKEN.exec(token);
  return hashed ? Buffer.from(hashed[1]!, 'hex') : digest(token);
}

/** A token file that cannot be read as tokens; the message names the line and the fix. */
export class TokenFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenFileError';
  }
}

const SCOPES: readonly string[] = ['read', 'write', 'admin'];

export function parseTokenFile(text: string): { token: string; grant: TokenGrant }[] {
  const lines = text
    .split(/\r?\n/)
    .map((raw, index) => ({ line: raw.trim(), number: index + 1 }))
    .filter(({ line }) => line !== '' && !line.startsWith('#'));
  const fieldsOf = (line: string) => line.split(/\s+/);
  const wellFormed = (fields: string[]) => fields.length <= 3 && (fields.length === 1 || SCOPES.includes(fields[1]!));
  if (lines.length === 1 && !wellFormed(fieldsOf(lines[0]!.line))) {
    return [{ token: lines[0]!.line, grant: { scope: 'write', prefixes: [], label: 'token#1(write)' } }];
  }
  return lines.map(({ line, number }, index) => {
    const fields = fieldsOf(line);
    const [token, scopeText = 'write', prefixText = ''] = fields;
    if (fields.length > 3)
      throw new TokenFileError(
        `token file line ${number}: too many fields; write TOKEN [read|write|admin] [PREFIX,...] (a token cannot contain spaces)`,
      );
    if (scopeText !== 'read' && scopeText !== 'write' && scopeText !== 'admin') {
      throw new TokenFileError(
        `token file line ${number}: the scope must be read, write or admin (a token cannot contain spaces)`,
      );
    }
    const prefixes = prefixText === '' || prefixText === '*' ? [] : prefixText.split(',').filter((p) => p !== '');
    return { token: token!, grant: { scope: scopeText, prefixes, label: `token#${index + 1}(${scopeText})` } };
  });
}

export class TokenStore {
  private tokens: StoredToken[];

  constructor(entries: readonly { token: string; grant: TokenGrant }[]) {
    this.tokens = entries.map(({ token, grant }) => {
      const stored = storedDigest(token);
      return { digest: stored, grant: { ...grant, fileId: fileTokenId(stored) } };
    });
  }

  static fromFile(path: string): TokenStore {
    return new TokenStore(parseTokenFile(readFileSync(path, 'utf8')));
  }

  get size(): number {
    return this.tokens.length;
  }

  /** The principal for a presented token, or undefined. Checks every token (constant time in the match). */
  authenticate(token: string): Principal | undefined {
    const presented = digest(token);
    let found: TokenGrant | undefined;
    for (const stored of this.tokens) {
      if (timingSafeEqual(stored.digest, presented) && found === undefined) found = stored.grant;
    }
    return found && new Principal(found);
  }
}

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Makes sure a token file exists. Returns the new token when one was generated (the caller
 * prints it once), undefined when the file already existed.
 */
export function ensureTokenFile(path: string): string | undefined {
  if (existsSync(path)) return undefined;
  const token = generateToken();
  writeFileSync(path, `# kvs tokens: TOKEN [read|write|admin] [PREFIX,...]\n${token} admin\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  chmodSync(path, 0o600);
  return token;
}

/** Appends a token line to a token file, creating it 0600. */
export function appendToken(path: string, scope: Scope, prefixes: readonly string[]): string {
  const token = generateToken();
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const line = `${token} ${scope}${prefixes.length > 0 ? ` ${prefixes.join(',')}` : ''}\n`;
  writeFileSync(path, existing + (existing === '' || existing.endsWith('\n') ? '' : '\n') + line, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}

/**
 * The token file with every clear-text token replaced by `sha256:<hex>` of it (`kvs token hash`,
 * docs/tokens.md): scopes, prefixes, comments and order stay, so every token keeps its grant.
 * A one-line passphrase file (the seed's auth.txt, which may hold spaces) becomes one hashed
 * write line. Throws TokenFileError as parseTokenFile does.
 */
export function hashTokenFileText(text: string): { text: string; hashed: number } {
  const entries = parseTokenFile(text);
  const lines = text.split(/\r?\n/);
  const meaningful = lines.filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  if (entries.length === 1 && meaningful.length === 1 && meaningful[0]!.trim() === entries[0]!.token) {
    // A passphrase line (one field, or the whole line taken as one token): scope write.
    if (HASHED_TOKEN.test(entries[0]!.token)) return { text, hashed: 0 };
    const kept = lines.map((line) =>
      line.trim() === entries[0]!.token ? `sha256:${digest(entries[0]!.token).toString('hex')} write` : line,
    );
    return { text: kept.join('\n'), hashed: 1 };
  }
  let hashed = 0;
  const out = lines.map((line) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return line;
    const [token, ...rest] = trimmed.split(/\s+/);
    if (HASHED_TOKEN.test(token!)) return line;
    hashed++;
    return [`sha256:${digest(token!).toString('hex')}`, ...rest].join(' ');
  });
  return { text: out.join('\n'), hashed };
}
