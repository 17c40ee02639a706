// The console's pages, addressed by the URL's fragment (/#/stream), so that the API serves one
// index.html and never needs a fallback route. The API key is never part of a route.

export type Route =
  | { page: 'overview' }
  | { page: 'source'; source: string }
  | { page: 'stream' }
  | { page: 'airflow' }
  | { page: 'schedules' }
  | { page: 'views' }
  | { page: 'view'; view: string }
  | { page: 'sources' }
  | { page: 'source-edit'; source: string }
  | { page: 'keys' }
  | { page: 'audit' }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '') || '/';
  if (path === '/' || path === '') return { page: 'overview' };
  const source = /^\/sources\/([^/]+)(\/edit)?$/.exec(path);
  if (source) {
    try {
      const name = decodeURIComponent(source[1]);
      return source[2] ? { page: 'source-edit', source: name } : { page: 'source', source: name };
    } catch {
      return { page: 'not-found', path };
    }
  }
  const view = /^\/views\/([^/]+)$/.exec(path);
  if (view) {
    try {
      return { page: 'view', view: decodeURIComponent(view[1]) };
    } catch {
      return { page: 'not-found', path };
    }
  }
  if (path === '/views') return { page: 'views' };
  if (path === '/sources') return { page: 'sources' };
  if (path === '/keys') return { page: 'keys' };
  if (path === '/audit') return { page: 'audit' };
  if (path === '/stream') return { page: 'stream' };
  if (path === '/airflow') return { page: 'airflow' };
  if (path === '/schedules') return { page: 'schedules' };
  return { page: 'not-found', path };
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'source':
      return `#/sources/${encodeURIComponent(route.source)}`;
    case 'source-edit':
      return `#/sources/${encodeURIComponent(route.source)}/edit`;
    case 'view':
      return `#/views/${encodeURIComponent(route.view)}`;
    case 'not-found':
      return `#${route.path}`;
    default:
      return `#/${route.page}`;
  }
}
