import { ExecutionContext, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InMemoryApiKeysRepository } from '../cassandra/testing/in-memory-api-keys.repository';
import { InMemoryAuditEventsRepository } from '../cassandra/testing/in-memory-audit-events.repository';
import { InMemoryRateLimitUsageRepository } from '../cassandra/testing/in-memory-rate-limit-usage.repository';
import { ForbiddenError, UnauthorizedError } from '../common/errors/errors';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import { testConfig } from '../common/testing/config';
import { AccessGuard } from './access.guard';
import { Public } from '../common/auth/public.decorator';
import { SignatureReplacesApiKey } from '../common/auth/signed-source.decorator';
import { Audited } from './audited.decorator';
import { AuditService } from './audit.service';
import { KeyRing } from './key-ring';
import { RateLimiter } from './rate-limiter';
import { RequiresScope } from './requires-scope.decorator';
import { storedKey } from './testing/access';

const KEY = 'first-key-0123456789';
const OTHER_KEY = 'second-key-0123456789';

class RecordsController {
  @RequiresScope({ read: 'source' })
  list(): void {}
}

class HealthController {
  @Public()
  live(): void {}
}

@Public()
class DocsController {
  show(): void {}
}

@Public((config) => config.metrics.public)
class MetricsController {
  scrape(): void {}
}

class IngestController {
  @RequiresScope({ ingest: 'source' })
  @SignatureReplacesApiKey('source')
  ingest(): void {}
}

class StreamingController {
  @RequiresScope('operate')
  @Audited('streaming.stop')
  stop(): void {}
}

class UndeclaredController {
  change(): void {}
}

/** An HTTP ExecutionContext for a request with these (lower-case, as Node gives them) headers and route parameters. */
function contextFor(
  headers: Record<string, string>,
  controller: object = RecordsController,
  handler: unknown = RecordsController.prototype.list,
  params: Record<string, string> = {},
) {
  const request = { headers, params };
  return {
    getHandler: () => handler,
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

const SOURCES = `sources:
  hooks:
    signature: { scheme: standard-webhooks, secrets: ["\${HOOKS_SECRET}"] }
  clicks: {}
`;
const keys = new InMemoryApiKeysRepository();
const audit = new InMemoryAuditEventsRepository();
const guardFor = (env: Record<string, string> = {}) => {
  const config = testConfig({ API_KEYS: `${KEY},${OTHER_KEY}`, ...env });
  const ring = new KeyRing(keys.repository, config);
  const guard = new AccessGuard(
    new Reflector(),
    config,
    sourcesRegistry(SOURCES, { HOOKS_SECRET: 'whsec_c2lnbmluZyBrZXkgb2YgdGhlIHRlc3Q=' }),
    ring,
    new AuditService(audit.repository, config),
    new RateLimiter(new InMemoryRateLimitUsageRepository().repository, config, ring),
  );
  return Object.assign(guard, { ring });
};
const guard = guardFor();

function rejection(headers: Record<string, string>): UnauthorizedError {
  try {
    guard.canActivate(contextFor(headers));
  } catch (err) {
    expect(err).toBeInstanceOf(UnauthorizedError);
    return err as UnauthorizedError;
  }
  throw new Error('expected the guard to reject the request');
}

describe('AccessGuard', () => {
  it('accepts a configured key in X-API-Key', () => {
    expect(guard.canActivate(contextFor({ 'x-api-key': KEY }))).toBe(true);
  });

  it('accepts every configured key', () => {
    expect(guard.canActivate(contextFor({ 'x-api-key': OTHER_KEY }))).toBe(true);
  });

  it.each(['Bearer', 'bearer', 'BEARER'])('accepts a configured key as "Authorization: %s <key>"', (scheme) => {
    expect(guard.canActivate(contextFor({ authorization: `${scheme} ${KEY}` }))).toBe(true);
  });

  it.each([
    ['a wrong X-API-Key', { 'x-api-key': 'wrong-key-0123456789' }],
    ['a wrong bearer token', { authorization: 'Bearer wrong-key-0123456789' }],
    ['a prefix of a configured key', { 'x-api-key': KEY.slice(0, -1) }],
    ['a configured key with a suffix', { 'x-api-key': `${KEY}x` }],
  ])('rejects %s as invalid', (_case, headers) => {
    expect(rejection(headers).message).toBe('Invalid API key');
  });

  it.each([
    ['no credentials at all', {}],
    ['an empty X-API-Key', { 'x-api-key': '' }],
    ['another authorization scheme', { authorization: `Basic ${KEY}` }],
    ['a bearer scheme without a key', { authorization: 'Bearer ' }],
  ])('rejects %s as missing, naming both header forms', (_case, headers) => {
    const { message } = rejection(headers);

    expect(message).toMatch(/^Missing API key/);
    expect(message).toContain('Authorization: Bearer <key>');
    expect(message).toContain('X-API-Key: <key>');
  });

  it('accepts the same key sent both as X-API-Key and as a bearer token', () => {
    expect(guard.canActivate(contextFor({ 'x-api-key': KEY, authorization: `Bearer ${KEY}` }))).toBe(true);
  });

  it.each([
    ['a wrong X-API-Key beside a valid bearer token', { 'x-api-key': 'wrong-key-0123456789', authorization: `Bearer ${KEY}` }],
    ['a valid X-API-Key beside a wrong bearer token', { 'x-api-key': KEY, authorization: 'Bearer wrong-key-0123456789' }],
    ['two valid but different keys', { 'x-api-key': KEY, authorization: `Bearer ${OTHER_KEY}` }],
  ])('refuses %s: the two credentials disagree', (_case, headers) => {
    expect(rejection(headers).message).toBe('X-API-Key and Authorization carry different keys');
  });

  // A fuzzer's made-up Authorization beside a valid X-API-Key was let through: a credential that does not check out is never ignored.
  it.each(['Basic dXNlcjpwYXNz', 'Bearer ', 'Bearer a b', 'Token abc', ''])('refuses Authorization %p beside a valid X-API-Key', (authorization) => {
    expect(rejection({ 'x-api-key': KEY, authorization }).message).toBe('Authorization must be "Bearer <key>" with the same key as X-API-Key, or be left out');
  });

  it('lets a request without a key through to a @Public() route', () => {
    expect(guard.canActivate(contextFor({}, HealthController, HealthController.prototype.live))).toBe(true);
  });

  it('lets a request without a key through to any route of a @Public() controller', () => {
    expect(guard.canActivate(contextFor({}, DocsController, DocsController.prototype.show))).toBe(true);
  });

  it('lets a request without a key through to a route public by configuration only when the configuration says so', () => {
    const scrape =
      (env: Record<string, string>, headers: Record<string, string> = {}) =>
      () =>
        guardFor(env).canActivate(contextFor(headers, MetricsController, MetricsController.prototype.scrape));

    expect(scrape({ METRICS_PUBLIC: 'true' })()).toBe(true);
    expect(scrape({})).toThrow('Missing API key');
    expect(scrape({ METRICS_PUBLIC: 'false' }, { 'x-api-key': 'wrong-key-0123456789' })).toThrow('Invalid API key');
    expect(scrape({ METRICS_PUBLIC: 'false' }, { 'x-api-key': KEY })()).toBe(true);
  });

  describe('on a route where a signature replaces the key', () => {
    const ingest = (source: string, headers: Record<string, string> = {}) =>
      guard.canActivate(contextFor(headers, IngestController, IngestController.prototype.ingest, { source }));

    it('lets a request for a signed source through without a key: the service checks its signature', () => {
      expect(ingest('hooks')).toBe(true);
    });

    it('lets it through whatever key it carries: the signature decides, never the key', () => {
      expect(ingest('hooks', { 'x-api-key': 'wrong-key-0123456789' })).toBe(true);
      expect(ingest('hooks', { 'x-api-key': KEY })).toBe(true);
    });

    it('still refuses two credentials that disagree', () => {
      expect(() => ingest('hooks', { 'x-api-key': KEY, authorization: `Bearer ${OTHER_KEY}` })).toThrow('X-API-Key and Authorization carry different keys');
    });

    it('still needs the key for an unsigned source', () => {
      expect(() => ingest('clicks')).toThrow('Missing API key');
      expect(() => ingest('clicks', { 'x-api-key': 'wrong-key-0123456789' })).toThrow('Invalid API key');
      expect(ingest('clicks', { 'x-api-key': KEY })).toBe(true);
    });

    it('needs the key for an unknown source, so that the names of sources are not told to anyone', () => {
      expect(() => ingest('payments')).toThrow('Missing API key');
      expect(() => ingest('constructor')).toThrow('Missing API key');
    });

    it('needs the key on other routes, even with a signed source in their parameters', () => {
      expect(() => guard.canActivate(contextFor({}, RecordsController, RecordsController.prototype.list, { source: 'hooks' }))).toThrow('Missing API key');
    });
  });

  describe('scopes', () => {
    let ingestOrders: string;
    let readOrders: string;
    let operator: string;
    let admin: string;

    beforeAll(async () => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      ingestOrders = (await storedKey(keys, 'orders sender', ['ingest:orders'])).key;
      readOrders = (await storedKey(keys, 'orders reader', ['read:orders'])).key;
      operator = (await storedKey(keys, 'operator', ['operate', 'read:*'])).key;
      admin = (await storedKey(keys, 'admin', ['admin'])).key;
      await guard.ring.sync();
    });
    afterAll(() => jest.restoreAllMocks());

    /** The refusal the guard throws for this request, or undefined when it lets it through. */
    const refusal = (key: string, controller: object, handler: unknown, params: Record<string, string> = {}) => {
      try {
        guard.canActivate(contextFor({ 'x-api-key': key }, controller, handler, params));
        return undefined;
      } catch (err) {
        return err as Error;
      }
    };
    const records = (key: string, source: string) => refusal(key, RecordsController, RecordsController.prototype.list, { source });
    const ingest = (key: string, source: string) => refusal(key, IngestController, IngestController.prototype.ingest, { source });
    const stop = (key: string) => refusal(key, StreamingController, StreamingController.prototype.stop);
    const undeclared = (key: string) => refusal(key, UndeclaredController, UndeclaredController.prototype.change);

    it('lets a key through to the routes its scopes name, and admin everywhere', () => {
      expect(ingest(ingestOrders, 'clicks')).toBeInstanceOf(ForbiddenError);
      expect([ingest(ingestOrders, 'orders'), records(readOrders, 'orders'), records(operator, 'clicks'), stop(operator)]).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      expect([ingest(admin, 'orders'), records(admin, 'orders'), stop(admin), undeclared(admin)]).toEqual([undefined, undefined, undefined, undefined]);
    });

    it.each([
      ['an ingest key on another source', () => ingest(ingestOrders, 'clicks'), 'ingest:clicks'],
      ['an ingest key on the reads of its own source', () => records(ingestOrders, 'orders'), 'read:orders'],
      ['a read key on another source', () => records(readOrders, 'clicks'), 'read:clicks'],
      ['a read key on an operate route', () => stop(readOrders), 'operate'],
      ['an operate key on a route that declares no scope', () => undeclared(operator), 'admin'],
    ])('403 for %s, naming the scope it needs', (_case, attempt, scope) => {
      const err = attempt();

      expect(err).toBeInstanceOf(ForbiddenError);
      expect(err?.message).toBe(`This key does not hold the scope this route requires: ${scope}`);
      expect((err as ForbiddenError).details).toEqual([{ field: 'scope', message: `requires ${scope}` }]);
    });

    it('keys of API_KEYS are admins', () => {
      expect([ingest(KEY, 'orders'), records(OTHER_KEY, 'orders'), stop(KEY), undeclared(KEY)]).toEqual([undefined, undefined, undefined, undefined]);
    });

    it('a signed source still needs no key, whatever key is sent', () => {
      expect(ingest(readOrders, 'hooks')).toBeUndefined();
    });

    it('records a refusal on an audited route in the audit trail, with the caller', async () => {
      const before = audit.events.length;

      expect(stop(readOrders)).toBeInstanceOf(ForbiddenError);
      await new Promise((resolve) => setImmediate(resolve));

      expect(audit.events.length).toBe(before + 1);
      expect(audit.events[0]).toMatchObject({ action: 'streaming.stop', actorName: 'orders reader', outcome: 403 });
    });

    it('answers 401, not 403, for an unknown key on any route', () => {
      expect(stop('pk_000000000000_' + 'x'.repeat(43))).toBeInstanceOf(UnauthorizedError);
    });
  });
});
