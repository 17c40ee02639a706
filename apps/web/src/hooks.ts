import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  /** When the data was last read successfully. */
  at?: Date;
  reload: () => Promise<void>;
}

const asApiError = (err: unknown): ApiError => (err instanceof ApiError ? err : new ApiError(0, (err as Error)?.message ?? String(err), 'Error'));

/**
 * Reads `load` now and, with `everyMs`, again every so often while the page is visible, keeping the
 * last data when a read fails (the error is shown beside it). `deps` start it over. While `held`,
 * it reads no more (a page about to delete what it reads), keeping what it has.
 */
export function usePolled<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number, held = false): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean; at?: Date }>({ loading: true });
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const heldRef = useRef(held);
  heldRef.current = held;

  const reload = useCallback(async () => {
    const mine = generation.current;
    try {
      const data = await loadRef.current();
      if (mine === generation.current) setState({ data, loading: false, at: new Date() });
    } catch (err) {
      if (mine === generation.current) setState((s) => ({ ...s, error: asApiError(err), loading: false }));
    }
  }, []);

  // `deps` decide when to start over (the caller's own list, as with useEffect).
  useEffect(() => {
    generation.current++;
    setState({ loading: true });
    void reload();
    if (!everyMs) return;
    let busy = false;
    const timer = window.setInterval(() => {
      if (busy || heldRef.current || document.visibilityState === 'hidden') return;
      busy = true;
      void reload().finally(() => (busy = false));
    }, everyMs);
    return () => {
      window.clearInterval(timer);
      generation.current++;
    };
  }, deps);

  return { ...state, reload };
}

/** An action (a button's POST): its pending state and its error, which stays shown until the next try. */
export function useAction<A extends unknown[], T>(act: (...args: A) => Promise<T>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const run = useCallback(
    async (...args: A): Promise<T | undefined> => {
      setPending(true);
      setError(undefined);
      try {
        return await act(...args);
      } catch (err) {
        setError(asApiError(err));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [act],
  );
  return { run, pending, error, clearError: () => setError(undefined) };
}

/** The browser tab's title for the page shown. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Pipeline console`;
  }, [title]);
}
