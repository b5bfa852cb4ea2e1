// The API token lives in sessionStorage: it survives reloads of this tab but not the browser
// session, and other sites cannot read it.

const STORAGE_KEY = 'kvs-token';

export function loadToken(): string {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return ''; // storage disabled: the token lasts as long as the page
  }
}

export function saveToken(token: string): void {
  try {
    if (token === '') sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // storage disabled: nothing to persist
  }
}
