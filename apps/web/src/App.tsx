import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, createApi } from './api';
import { ApiContext } from './context';
import { hrefOf, parseRoute, Route } from './route';
import { session } from './session';
import { SignIn } from './pages/SignIn';
import { Overview } from './pages/Overview';
import { SourcePage } from './pages/Source';
import { StreamPage } from './pages/Stream';
import { AirflowPage } from './pages/Airflow';
import { SchedulesPage } from './pages/Schedules';

const keys = session(window.sessionStorage);

const NAV: { route: Route; label: string }[] = [
  { route: { page: 'overview' }, label: 'Overview' },
  { route: { page: 'stream' }, label: 'Stream & batches' },
  { route: { page: 'airflow' }, label: 'Airflow' },
  { route: { page: 'schedules' }, label: 'Schedules' },
];

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => keys.key() !== undefined);
  const [refused, setRefused] = useState<ApiError>();
  const route = useRoute();
  const main = useRef<HTMLElement>(null);

  const api = useMemo(
    () =>
      createApi({
        key: keys.key,
        onUnauthorized: (err) => {
          // The key expired or was withdrawn: back to sign-in, saying why.
          keys.signOut();
          setRefused(err);
          setSignedIn(false);
        },
      }),
    [],
  );

  // Another page: the keyboard focus moves to its start (not on the first load, which starts at the top).
  const shown = useRef(false);
  useEffect(() => {
    if (!signedIn) return;
    if (shown.current) main.current?.focus();
    shown.current = true;
  }, [route, signedIn]);

  if (!signedIn) {
    return (
      <ApiContext.Provider value={api}>
        <SignIn
          refused={refused}
          onSignedIn={(key) => {
            keys.signIn(key);
            setRefused(undefined);
            setSignedIn(true);
          }}
        />
      </ApiContext.Provider>
    );
  }

  const current = route.page === 'source' ? 'overview' : route.page;
  return (
    <ApiContext.Provider value={api}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Pipeline console
        </a>
        <nav aria-label="Pages">
          <ul>
            {NAV.map(({ route: r, label }) => (
              <li key={label}>
                <a href={hrefOf(r)} aria-current={current === r.page ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button
          type="button"
          class="link"
          onClick={() => {
            keys.signOut();
            setRefused(undefined);
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
    </ApiContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'source':
      return <SourcePage key={route.source} source={route.source} />;
    case 'stream':
      return <StreamPage />;
    case 'airflow':
      return <AirflowPage />;
    case 'schedules':
      return <SchedulesPage />;
    case 'not-found':
      return (
        <>
          <h1>No such page</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href="#/">Back to the overview</a>.
          </p>
        </>
      );
  }
}
