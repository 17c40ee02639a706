import { DynamicModule, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AppModule } from '../../apps/api/app.module';
import { createApp } from '../../apps/api/bootstrap';

/**
 * The global guards, pipes, filters and interceptors the hot routes (hot-routes.ts) know of: the
 * guards run there as Nest runs them (CompiledGuard), the validation pipe is mirrored by the records
 * route, the exceptions filter by errorAnswer, and there is no interceptor. A new one would be
 * skipped in silence by the busiest routes.
 */
const KNOWN = ['APP_FILTER AllExceptionsFilter', 'APP_GUARD AccessGuard', 'APP_PIPE ValidationPipe'];

const KINDS: Record<string, string> = { [APP_FILTER]: 'APP_FILTER', [APP_GUARD]: 'APP_GUARD', [APP_PIPE]: 'APP_PIPE', [APP_INTERCEPTOR]: 'APP_INTERCEPTOR' };

interface ProviderLike {
  provide?: unknown;
  useClass?: Type;
  useValue?: object;
  useExisting?: Type;
  useFactory?: (...args: never[]) => unknown;
}

/** Every APP_* provider declared by `root` and the modules it imports, as "<kind> <class>". */
function globalEnhancers(root: Type | DynamicModule, seen = new Set<unknown>()): string[] {
  if (!root || seen.has(root) || typeof (root as unknown as Promise<unknown>).then === 'function') return [];
  seen.add(root);
  const dynamic = typeof root === 'function' ? undefined : root;
  const cls = dynamic ? dynamic.module : (root as Type);
  const providers: ProviderLike[] = [...((Reflect.getMetadata('providers', cls) as ProviderLike[]) ?? []), ...((dynamic?.providers as ProviderLike[]) ?? [])];
  const imports: (Type | DynamicModule)[] = [...((Reflect.getMetadata('imports', cls) as Type[]) ?? []), ...((dynamic?.imports as Type[]) ?? [])];
  const found = providers
    .filter((p) => typeof p === 'object' && typeof p.provide === 'string' && p.provide in KINDS)
    .map((p) => `${KINDS[p.provide as string]} ${p.useClass?.name ?? p.useExisting?.name ?? p.useValue?.constructor.name ?? p.useFactory?.name ?? '?'}`);
  const unwrap = (m: unknown) =>
    (typeof (m as { forwardRef?: () => unknown })?.forwardRef === 'function' ? (m as { forwardRef: () => Type }).forwardRef() : m) as Type | DynamicModule;
  return [...found, ...imports.flatMap((m) => globalEnhancers(unwrap(m), seen))];
}

/** The enhancers createApp registers itself (app.useGlobalGuards(...) and the like). */
const registeredInBootstrap = () => [...createApp.toString().matchAll(/useGlobal(Guards|Pipes|Filters|Interceptors)\s*\(/g)].map((m) => `useGlobal${m[1]}`);

describe('the global enhancers the hot routes mirror', () => {
  it('are still the ones hot-routes.ts knows of', () => {
    const actual = [...globalEnhancers(AppModule), ...registeredInBootstrap()].sort();

    if (JSON.stringify(actual) !== JSON.stringify(KNOWN)) {
      throw new Error(
        `The global guards, pipes, filters or interceptors changed (now: ${actual.join(', ')}; known: ${KNOWN.join(', ')}). ` +
          'src/app-http/hot-routes.ts serves POST /ingest/{source} and GET /records/{source} ahead of Nest and would skip it: ' +
          'teach hot-routes.ts the new one first (a guard as a CompiledGuard, a pipe, filter or interceptor mirrored there), then add it to KNOWN.',
      );
    }
  });
});
