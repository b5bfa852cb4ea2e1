// Tokens and what they allow (DESIGN 5).
//
// Token file format, one token per line, `#` starts a comment:
//     TOKEN                      -> write scope on every key (the seed's auth.txt is exactly this)
//     TOKEN SCOPE                -> SCOPE is read | write | admin
//     TOKEN SCOPE PREFIX,PREFIX  -> limited to keys starting with one of the prefixes
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
  /** A short label safe to log (never the token). */
  readonly label: string;
}

export class Principal {
  constructor(readonly grant: TokenGrant) {}

  allows(action: Action, key?: string): boolean {
    if (rank[this.grant.scope] < rank[action]) return false;
    if (key === undefined || this.grant.prefixes.length === 0) return true;
    return this.grant.prefixes.some((prefix) => key.startsWith(prefix));
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

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function parseTokenFile(text: string): { token: string; grant: TokenGrant }[] {
  const result: { token: string; grant: TokenGrant }[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [token, scopeText = 'write', prefixText = '', ...rest] = line.split(/\s+/);
    if (rest.length > 0) throw new Error(`token file line ${index + 1}: too many fields`);
    if (scopeText !== 'read' && scopeText !== 'write' && scopeText !== 'admin') {
      throw new Error(`token file line ${index + 1}: scope must be read, write or admin`);
    }
    const prefixes = prefixText === '' || prefixText === '*' ? [] : prefixText.split(',').filter((p) => p !== '');
    result.push({
      token: token!,
      grant: { scope: scopeText, prefixes, label: `token#${result.length + 1}(${scopeText})` },
    });
  });
  return result;
}

export class TokenStore {
  private tokens: StoredToken[];

  constructor(entries: readonly { token: string; grant: TokenGrant }[]) {
    this.tokens = entries.map(({ token, grant }) => ({ digest: digest(token), grant }));
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
  writeFileSync(path, `# kvs tokens: TOKEN [read|write|admin] [PREFIX,...]\n${token} admin\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return token;
}

/** Appends a token line to a token file, creating it 0600. */
export function appendToken(path: string, scope: Scope, prefixes: readonly string[]): string {
  const token = generateToken();
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const line = `${token} ${scope}${prefixes.length > 0 ? ' ' + prefixes.join(',') : ''}\n`;
  writeFileSync(path, existing + (existing === '' || existing.endsWith('\n') ? '' : '\n') + line, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}
