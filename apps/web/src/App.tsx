import type { ComponentChildren } from 'preact';
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
import { SourcesPage } from './pages/Sources';
import { SourceEditorPage } from './pages/SourceEditor';
import { KeysPage } from './pages/Keys';
import { AuditPage } from './pages/Audit';
import { ViewsPage } from './pages/Views';
import { ViewPage } from './pages/View';
import { Can, canWith, NEEDS, ScopesContext } from './access';
import { ErrorBox } from './components/ui';
import { usePolled } from './hooks';
import type { Api } from './api';

const keys = session(window.sessionStorage);

// Each entry with the scope its page's calls need: a key is offered only the pages it may use.
const NAV: { route: Route; label: string; needs: string }[] = [
  { route: { page: 'overview' }, label: 'Overview', needs: NEEDS.overview },
  { route: { page: 'views' }, label: 'Views', needs: NEEDS.views },
  { route: { page: 'stream' }, label: 'Stream & batches', needs: NEEDS.operate },
  { route: { page: 'airflow' }, label: 'Airflow', needs: NEEDS.operate },
  { route: { page: 'schedules' }, label: 'Schedules', needs: NEEDS.operate },
  { route: { page: 'sources' }, label: 'Sources', needs: NEEDS.admin },
  { route: { page: 'keys' }, label: 'Keys', needs: NEEDS.admin },
  { route: { page: 'audit' }, label: 'Audit', needs: NEEDS.admin },
];

const NEEDED: Partial<Record<Route['page'], string>> = {
  overview: NEEDS.overview,
  views: NEEDS.views,
  view: NEEDS.views,
  stream: NEEDS.operate,
  airflow: NEEDS.operate,
  schedules: NEEDS.operate,
  sources: NEEDS.admin,
  'source-edit': NEEDS.admin,
  keys: NEEDS.admin,
  audit: NEEDS.admin,
};

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

  const current = route.page === 'source' ? 'overview' : route.page === 'source-edit' ? 'sources' : route.page === 'view' ? 'views' : route.page;
  return (
    <ApiContext.Provider value={api}>
      <Signed api={api}>
        {(can, self) => (
          <>
            <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
              Skip to content
            </a>
            <header class="top">
              <a class="brand" href="#/">
                Pipeline console
              </a>
              <nav aria-label="Pages">
                <ul>
                  {NAV.filter((n) => can(n.needs)).map(({ route: r, label }) => (
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
              {NEEDED[route.page] === undefined || can(NEEDED[route.page]!) ? <Page route={route} /> : <NotAllowed needs={NEEDED[route.page]!} self={self} />}
            </main>
          </>
        )}
      </Signed>
    </ApiContext.Provider>
  );
}

/** Reads the signed-in key's scopes once, then renders the console for them. */
function Signed({ api, children }: { api: Api; children: (can: Can, self: { name: string; scopes: string[] }) => ComponentChildren }) {
  const self = usePolled(() => api.self(), []);
  if (!self.data) {
    return (
      <main id="main" class="signin">
        {self.error ? <ErrorBox error={self.error} title="GET /keys/self failed" /> : <p>Reading what this key may do…</p>}
      </main>
    );
  }
  const can = canWith(self.data.scopes);
  return <ScopesContext.Provider value={can}>{children(can, self.data)}</ScopesContext.Provider>;
}

/** A page the key may not use: said plainly, with the scope it would need. */
function NotAllowed({ needs, self }: { needs: string; self: { name: string; scopes: string[] } }) {
  return (
    <>
      <h1>Not with this key</h1>
      <p>
        This page needs the scope <code>{needs}</code>; the key <strong>{self.name}</strong> holds <code>{self.scopes.join(', ')}</code>. Sign in with another
        key to use it.
      </p>
    </>
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
    case 'sources':
      return <SourcesPage />;
    case 'source-edit':
      return <SourceEditorPage key={route.source} source={route.source} />;
    case 'views':
      return <ViewsPage />;
    case 'view':
      return <ViewPage key={route.view} view={route.view} />;
    case 'keys':
      return <KeysPage />;
    case 'audit':
      return <AuditPage />;
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
