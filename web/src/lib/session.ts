// Where the signed-in key lives: sessionStorage only, so it is gone when the tab closes.

const KEY = 'enclave.apiKey';

export function loadKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function clearKey(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    /* storage disabled: nothing to clear */
  }
}
