import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api';

export const ApiContext = createContext<Api | undefined>(undefined);

/** The console's API client, provided once by the app. */
export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiContext');
  return api;
}
