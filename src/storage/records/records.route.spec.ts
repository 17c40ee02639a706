import { INestApplication, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AllExceptionsFilter } from '../../app-http/all-exceptions.filter';
import { accessProviders } from '../../access/testing/access';
import { serveHotRoutes } from '../../app-http/hot-routes';
import { EventsRepository } from '../../cassandra/events.repository';
import { InMemoryEventsRepository } from '../../cassandra/testing/in-memory-events.repository';
import { InMemoryApiKeysRepository } from '../../cassandra/testing/in-memory-api-keys.repository';
import { storedKey } from '../../access/testing/access';
import { SourcesRegistry } from '../../catalogs/sources.registry';
import { sourcesRegistry } from '../../catalogs/testing/catalogs';
import { APP_CONFIG } from '../../common/config/app-config';
import { requestContext } from '../../common/http/request-context';
import { securityHeaders } from '../../common/http/security-headers';
import { validationPipe } from '../../common/http/validation.pipe';
import { testConfig } from '../../common/testing/config';
import { hotAndNest, observed } from '../../common/testing/hot-parity';
import { MetricsService } from '../../metrics/metrics.service';
import { RecordsController } from './records.controller';
import { recordsRoute } from './records.route';
import { RecordsService } from './records.service';

const KEY = 'k'.repeat(16);
const SOURCES = `sources:
  users: {}
  hooks:
    signature: { scheme: standard-webhooks, secrets: ["\${HOOKS_SECRET}"] }
`;

/** GET /records as apps/api/bootstrap.ts wires it: the hot route ahead of Express, the controller behind the global guard, pipe and filter. */
async function recordsApp(keys: InMemoryApiKeysRepository): Promise<{ app: INestApplication; port: number; reachedExpress: string[] }> {
  const repository = new InMemoryEventsRepository();
  for (let i = 0; i < 3; i++) {
    repository.insert({
      eventId: `evt-${i}`,
      source: 'users',
      receivedAt: new Date(Date.UTC(2026, 0, 1, 12, i)),
      payload: Buffer.from(JSON.stringify({ n: i })),
    });
  }
  const config = testConfig({ API_KEYS: KEY });
  const sources: SourcesRegistry = sourcesRegistry(SOURCES, { HOOKS_SECRET: 'whsec_c2lnbmluZyBrZXkgb2YgdGhlIHRlc3Q=' });

  @Module({
    controllers: [RecordsController],
    providers: [
      { provide: RecordsService, useValue: new RecordsService(repository as unknown as EventsRepository, sources, config) },
      { provide: SourcesRegistry, useValue: sources },
      { provide: APP_CONFIG, useValue: config },
      MetricsService,
      ...accessProviders(keys),
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
      { provide: APP_PIPE, useValue: validationPipe() },
    ],
  })
  class RecordsRouteProbeModule {}

  const moduleRef = await Test.createTestingModule({ imports: [RecordsRouteProbeModule] }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
  serveHotRoutes(app, 'api/v1', [recordsRoute(app.get(RecordsService), validationPipe())]);
  const reachedExpress: string[] = [];
  app.use(requestContext);
  app.use(securityHeaders);
  app.use((req: { method: string; originalUrl: string }, _res: unknown, next: () => void) => {
    reachedExpress.push(`${req.method} ${req.originalUrl}`);
    next();
  });
  const express = app.getHttpAdapter().getInstance();
  express.disable('x-powered-by');
  express.disable('etag');
  app.setGlobalPrefix('api/v1');
  await app.listen(0, '127.0.0.1');
  return { app, port: ((app.getHttpServer() as Server).address() as AddressInfo).port, reachedExpress };
}

describe('GET /api/v1/records/{source} served ahead of Express', () => {
  let app: INestApplication;
  let port: number;
  let reachedExpress: string[];
  /** Scoped keys: one that may read users, one that may read every source, one that may only ingest into users. */
  const keys = new InMemoryApiKeysRepository();
  const scoped: Record<'users' | 'anySource' | 'sender' | 'limited', string> = { users: '', anySource: '', sender: '', limited: '' };

  beforeAll(async () => {
    scoped.users = (await storedKey(keys, 'users reader', ['read:users'])).key;
    scoped.anySource = (await storedKey(keys, 'any reader', ['read:*'])).key;
    scoped.sender = (await storedKey(keys, 'users sender', ['ingest:users', 'operate'])).key;
    scoped.limited = (await storedKey(keys, 'limited reader', ['read:users'], new Date(), { requestsPerSecond: 1, burst: 1 })).key;
  });

  const hotAndNestGet = (path: string, headers: Record<string, string> = {}) =>
    hotAndNest(port, reachedExpress, 'GET', `/api/v1/records/${path}`, { 'X-Request-Id': 'req-records', ...headers });

  beforeEach(async () => {
    ({ app, port, reachedExpress } = await recordsApp(keys));
  });
  afterEach(async () => {
    (app.getHttpServer() as Server).closeAllConnections();
    await app.close();
  });

  it("429 past the key's requestsPerSecond, with Retry-After and the RateLimit fields, as the controller answers it", async () => {
    // The bucket holds one request: this one empties it, and it refills in a second, longer than the two requests below take.
    expect((await hotAndNestGet('users?limit=1', { 'X-API-Key': scoped.limited }))[0].status).toBe(200);

    const [hot, nest] = await hotAndNestGet('users?limit=1', { 'X-API-Key': scoped.limited });

    expect(hot.status).toBe(429);
    expect(hot.headers['retry-after']).toBe('1');
    expect(hot.headers['ratelimit-policy']).toBe('"key";q=1;w=1');
    expect(hot.headers['ratelimit']).toBe('"key";r=0;t=1');
    expect(hot.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/^key [0-9a-f]{12} may send 1 requests per second: retry in 1 s$/),
      details: [{ field: 'rateLimit.requestsPerSecond', message: '1 requests per second', limit: 1, retryAfterSeconds: 1 }],
      requestId: 'req-records',
    });
    expect(observed(hot)).toEqual(observed(nest));
  });

  it('200: the page, newest first, with its token, as the controller answers it', async () => {
    // A fixed window: the default one ends now, and so would the page token.
    const [hot, nest] = await hotAndNestGet('users?limit=2&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', { 'X-API-Key': KEY });

    expect(hot.status).toBe(200);
    expect((hot.body as { items: { eventId: string }[] }).items.map((item) => item.eventId)).toEqual(['evt-2', 'evt-1']);
    expect(hot.body?.nextPageToken).toEqual(expect.any(String));
    expect(observed(hot)).toEqual(observed(nest));
  });

  it('200 for a scoped key holding read on the source (or on every source)', async () => {
    for (const key of [scoped.users, scoped.anySource]) {
      const [hot, nest] = await hotAndNestGet('users?limit=2&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', { 'X-API-Key': key });

      expect(hot.status).toBe(200);
      expect(observed(hot)).toEqual(observed(nest));
    }
  });

  it.each([
    ['a key for another source', 'hooks', () => scoped.users, 'read:hooks'],
    ['a key that may ingest into the source but not read it', 'users', () => scoped.sender, 'read:users'],
  ])('403 naming the scope for %s', async (_case, source, key, scope) => {
    const [hot, nest] = await hotAndNestGet(source, { 'X-API-Key': key() });

    expect(hot.status).toBe(403);
    expect(hot.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: `This key does not hold the scope this route requires: ${scope}`,
      details: [{ field: 'scope', message: `requires ${scope}` }],
      requestId: 'req-records',
    });
    expect(observed(hot)).toEqual(observed(nest));
  });

  it.each([
    ['a limit that is not a number', 'users?limit=many'],
    ['a limit over the maximum', 'users?limit=100000'],
    ['a from that is no instant', 'users?from=yesterday'],
    ['a from after to', 'users?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z'],
    ['a page token that does not open', 'users?pageToken=not-a-token'],
    ['a parameter it does not know', 'users?colour=blue'],
    ['a repeated parameter', 'users?limit=1&limit=2'],
  ])('400 for %s, in the one error shape', async (_case, path) => {
    const [hot, nest] = await hotAndNestGet(path, { 'X-API-Key': KEY });

    expect(hot.status).toBe(400);
    expect(hot.body).toMatchObject({ statusCode: 400, error: 'Bad Request', requestId: 'req-records' });
    expect(observed(hot)).toEqual(observed(nest));
  });

  it.each([
    ['no key', {}, /^Missing API key/],
    ['a wrong key', { 'X-API-Key': 'wrong-key-0123456789' }, /^Invalid API key$/],
    ['a wrong bearer token', { Authorization: 'Bearer wrong-key-0123456789' }, /^Invalid API key$/],
    [
      'X-API-Key and a bearer token that differ',
      { 'X-API-Key': KEY, Authorization: 'Bearer wrong-key-0123456789' },
      /^X-API-Key and Authorization carry different keys$/,
    ],
    ['X-API-Key beside an Authorization that is no bearer token', { 'X-API-Key': KEY, Authorization: `Basic ${KEY}` }, /^Authorization must be "Bearer <key>"/],
  ])('401 for %s', async (_case, credentials, message) => {
    const [hot, nest] = await hotAndNestGet('users', credentials);

    expect(hot.status).toBe(401);
    expect(hot.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(message), requestId: 'req-records' });
    expect(observed(hot)).toEqual(observed(nest));
  });

  it('401 for a signed source without signature headers or a key: a signature replaces the key on ingest only', async () => {
    const [hot, nest] = await hotAndNestGet('hooks');

    expect(hot.status).toBe(401);
    expect(hot.body?.message).toMatch(/^Missing API key/);
    expect(observed(hot)).toEqual(observed(nest));
  });

  it('404 for an unknown source, with a key', async () => {
    const [hot, nest] = await hotAndNestGet('payments', { 'X-API-Key': KEY });

    expect(hot.status).toBe(404);
    expect(hot.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.stringContaining('payments'), requestId: 'req-records' });
    expect(observed(hot)).toEqual(observed(nest));
  });
});
