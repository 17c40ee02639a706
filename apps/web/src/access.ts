// What the signed-in key may do, as the API decides it: the console asks the API which scopes the key
// holds (GET /keys/self) and applies the API's own rule (src/access/scopes.ts, the one function the
// console bundles from the server), so that it offers no page or button the API would refuse.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { grants } from '../../../src/access/scopes';

/** The scope each part of the console needs: the scope of the routes it calls. */
export const NEEDS = {
  overview: 'read:*',
  /** The streaming views and their results; creating and deleting one needs admin. */
  views: 'read:*',
  operate: 'operate',
  admin: 'admin',
} as const;

export type Can = (needed: string) => boolean;

/** Whether `scopes` grant `needed`, by the API's rule. */
export function canWith(scopes: readonly string[]): Can {
  const held = new Set(scopes);
  return (needed) => grants(held, needed);
}

export const ScopesContext = createContext<Can>(() => false);

/** Whether the signed-in key holds a scope. */
export function useCan(): Can {
  return useContext(ScopesContext);
}
