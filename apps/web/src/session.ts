// The signed-in API key: kept for this browser tab only (sessionStorage), never in a URL or a cookie.

const KEY = 'pipeline-console.api-key';

export interface KeyStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function session(store: KeyStore) {
  return {
    key: (): string | undefined => store.getItem(KEY) ?? undefined,
    signIn: (key: string): void => store.setItem(KEY, key),
    signOut: (): void => store.removeItem(KEY),
  };
}
