import { DynamicModule, RequestMethod, Type } from '@nestjs/common';
import { INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AppModule } from '../../apps/api/app.module';
import { IS_PUBLIC } from '../common/auth/public.decorator';
import { AUDITED, NOT_AUDITED } from './audit-rule';
import { AuditInterceptor } from './audit.interceptor';
import { REQUIRED_SCOPE } from './requires-scope.decorator';

interface Route {
  name: string;
  method: RequestMethod;
  handler: object;
  controller: Type;
}

/** Every controller of `root` and of the modules it imports. */
function controllers(root: Type | DynamicModule, seen = new Set<unknown>()): Type[] {
  if (!root || seen.has(root) || typeof (root as unknown as Promise<unknown>).then === 'function') return [];
  seen.add(root);
  const dynamic = typeof root === 'function' ? undefined : root;
  const cls = dynamic ? dynamic.module : (root as Type);
  const own: Type[] = [...((Reflect.getMetadata('controllers', cls) as Type[]) ?? []), ...((dynamic?.controllers as Type[]) ?? [])];
  const imports: unknown[] = [...((Reflect.getMetadata('imports', cls) as unknown[]) ?? []), ...((dynamic?.imports as unknown[]) ?? [])];
  const unwrap = (m: unknown) =>
    (typeof (m as { forwardRef?: () => unknown })?.forwardRef === 'function' ? (m as { forwardRef: () => Type }).forwardRef() : m) as Type | DynamicModule;
  return [...own, ...imports.flatMap((m) => controllers(unwrap(m), seen))];
}

function routes(): Route[] {
  return [...new Set(controllers(AppModule))].flatMap((controller) =>
    Object.getOwnPropertyNames(controller.prototype).flatMap((key) => {
      const handler = (controller.prototype as Record<string, unknown>)[key];
      if (key === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) return [];
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
      const path = `/${String(Reflect.getMetadata(PATH_METADATA, controller))}/${String(Reflect.getMetadata(PATH_METADATA, handler))}`.replace(/\/+/g, '/');
      return [{ name: `${RequestMethod[method]} ${path} (${controller.name}.${key})`, method, handler, controller }];
    }),
  );
}

const declared = (key: string, route: Route) =>
  Reflect.getMetadata(key, route.handler) !== undefined || Reflect.getMetadata(key, route.controller) !== undefined;

describe('the access rules of every route of the app', () => {
  const all = routes();

  it('finds the routes (the walk over the modules works)', () => {
    expect(all.length).toBeGreaterThan(30);
    expect(all.map((r) => r.name)).toEqual(
      expect.arrayContaining([expect.stringContaining('KeysController.revoke'), expect.stringContaining('IngestionController.ingest')]),
    );
  });

  it('each route not public declares its scope with @RequiresScope (an undeclared one needs admin: a mistake fails closed, and shows here)', () => {
    expect(all.filter((r) => !declared(IS_PUBLIC, r) && !declared(REQUIRED_SCOPE, r)).map((r) => r.name)).toEqual([]);
  });

  it('each route that may change state (every method but GET) is @Audited, or says why not with @NotAudited', () => {
    const changing = all.filter((r) => r.method !== RequestMethod.GET);

    expect(changing.length).toBeGreaterThan(10);
    expect(changing.filter((r) => !declared(AUDITED, r) && !declared(NOT_AUDITED, r)).map((r) => r.name)).toEqual([]);
  });

  it('each @Audited handler has the interceptor that records it', () => {
    const audited = all.filter((r) => Reflect.getMetadata(AUDITED, r.handler) !== undefined);
    const intercepted = (r: Route) =>
      [
        ...((Reflect.getMetadata(INTERCEPTORS_METADATA, r.handler) as unknown[]) ?? []),
        ...((Reflect.getMetadata(INTERCEPTORS_METADATA, r.controller) as unknown[]) ?? []),
      ].includes(AuditInterceptor);

    expect(audited.filter((r) => !intercepted(r)).map((r) => r.name)).toEqual([]);
  });

  it('no GET route is audited: reads change nothing', () => {
    expect(all.filter((r) => r.method === RequestMethod.GET && Reflect.getMetadata(AUDITED, r.handler) !== undefined).map((r) => r.name)).toEqual([]);
  });
});
