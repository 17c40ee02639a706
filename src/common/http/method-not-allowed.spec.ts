import { allowedMethods, RouterLike } from './method-not-allowed';

/** A router as Express keeps it: one layer per route, matched by a regular expression made from its path. */
function router(routes: [string, string[]][]): RouterLike {
  return {
    stack: routes.map(([path, methods]) => {
      const pattern = new RegExp(`^${path.replace(/:\w+/g, '[^/]+')}$`);
      const flags = Object.fromEntries(methods.map((m) => [m.toLowerCase(), true]));
      return { route: { path, methods: flags, _methods: () => methods }, match: (p: string) => pattern.test(p) };
    }),
  };
}

describe('allowedMethods', () => {
  const routes = router([
    ['/schedules', ['GET', 'HEAD', 'POST']],
    ['/schedules/preview', ['GET', 'HEAD']],
    ['/schedules/:id', ['GET', 'HEAD', 'PATCH', 'DELETE']],
  ]);

  it('lists the methods of every route with a parameter that matches', () => {
    expect(allowedMethods(routes, '/schedules/0193b0a4')).toEqual(['GET', 'HEAD', 'PATCH', 'DELETE']);
  });

  it('lists only the methods of a route that names the path literally, as the document does', () => {
    expect(allowedMethods(routes, '/schedules/preview')).toEqual(['GET', 'HEAD']);
  });

  it('lists none for a path no route has', () => {
    expect(allowedMethods(routes, '/nothing')).toEqual([]);
  });
});
