// The console's pages, addressed by the URL's fragment (/#/stream), so that the API serves one
// index.html and never needs a fallback route. The API key is never part of a route.

export type Route =
  | { page: 'overview' }
  | { page: 'source'; source: string }
  | { page: 'stream' }
  | { page: 'airflow' }
  | { page: 'schedules' }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '') || '/';
  if (path === '/' || path === '') return { page: 'overview' };
  const source = /^\/sources\/([^/]+)$/.exec(path);
  if (source) {
    try {
      return { page: 'source', source: decodeURIComponent(source[1]) };
    } catch {
      return { page: 'not-found', path };
    }
  }
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
    case 'not-found':
      return `#${route.path}`;
    default:
      return `#/${route.page}`;
  }
}
