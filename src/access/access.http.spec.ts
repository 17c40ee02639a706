import { Body, Controller, Delete, HttpCode, INestApplication, Logger, MiddlewareConsumer, Module, NestModule, Param, Post } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AllExceptionsFilter } from '../app-http/all-exceptions.filter';
import { InMemoryApiKeysRepository } from '../cassandra/testing/in-memory-api-keys.repository';
import { InMemoryAuditEventsRepository } from '../cassandra/testing/in-memory-audit-events.repository';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { sourcesNamed } from '../catalogs/testing/catalogs';
import { APP_CONFIG } from '../common/config/app-config';
import { NotFoundError } from '../common/errors/errors';
import { JsonBodyMiddleware } from '../common/http/json-body.middleware';
import { requestContext } from '../common/http/request-context';
import { validationPipe } from '../common/http/validation.pipe';
import { testConfig } from '../common/testing/config';
import { MetricsService } from '../metrics/metrics.service';
import { AuditController } from './audit.controller';
import { Audited } from './audited.decorator';
import { KeysController } from './keys.controller';
import { KeysService } from './keys.service';
import { RequiresScope } from './requires-scope.decorator';
import { accessProviders, storedKey } from './testing/access';

const BOOTSTRAP = 'bootstrap-key-0123456789';

@Controller('things')
class ThingsController {
  @Post()
  @RequiresScope('operate')
  @Audited('thing.create', { target: 'id' })
  create(@Body() body: Record<string, unknown>): object {
    return { id: 'thing-1', ...body };
  }

  @Delete(':id')
  @RequiresScope('operate')
  @Audited('thing.delete', { target: 'id' })
  @HttpCode(204)
  remove(@Param('id') id: string): void {
    throw new NotFoundError(`No thing ${id}`);
  }
}

/** The keys and audit routes, and a probe of audited routes, wired as the app wires them. */
async function accessApp(keys: InMemoryApiKeysRepository, audit: InMemoryAuditEventsRepository): Promise<INestApplication> {
  @Module({
    controllers: [KeysController, AuditController, ThingsController],
    providers: [
      KeysService,
      MetricsService,
      ...accessProviders(keys, audit),
      { provide: APP_CONFIG, useValue: testConfig({ API_KEYS: BOOTSTRAP }) },
      { provide: SourcesRegistry, useValue: sourcesNamed('orders') },
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
      { provide: APP_PIPE, useValue: validationPipe() },
    ],
  })
  class AccessProbeModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer.apply(JsonBodyMiddleware).forRoutes(KeysController, ThingsController);
    }
  }
  const moduleRef = await Test.createTestingModule({ imports: [AccessProbeModule] }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
  app.use(requestContext);
  app.setGlobalPrefix('api/v1');
  await app.init();
  return app;
}

describe('keys and the audit trail over HTTP', () => {
  let app: INestApplication;
  let keys: InMemoryApiKeysRepository;
  let audit: InMemoryAuditEventsRepository;
  let operator: { id: string; key: string };
  const api = () => request(app.getHttpServer());
  const admin = { 'X-API-Key': BOOTSTRAP };

  beforeAll(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  beforeEach(async () => {
    keys = new InMemoryApiKeysRepository();
    audit = new InMemoryAuditEventsRepository();
    operator = await storedKey(keys, 'operator', ['operate']);
    app = await accessApp(keys, audit);
  });
  afterEach(() => app.close());

  it('POST /keys: 201 with the secret; the key works at once; GET /keys lists it without it', async () => {
    const created = await api()
      .post('/api/v1/keys')
      .set(admin)
      .send({ name: 'ops', scopes: ['operate'] })
      .expect(201);

    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'ops',
      scopes: ['operate'],
      prefix: `pk_${created.body.id}_`,
      createdAt: expect.any(String),
      key: expect.any(String),
    });
    await api().post('/api/v1/things').set({ 'X-API-Key': created.body.key }).send({ n: 1 }).expect(201);
    const listed = await api().get('/api/v1/keys').set(admin).expect(200);
    expect(listed.text).not.toContain(created.body.key);
    expect(listed.body.keys.map((k: { name: string }) => k.name)).toEqual(['operator', 'ops']);
  });

  it('400 naming scopes for an unknown scope', async () => {
    const res = await api()
      .post('/api/v1/keys')
      .set(admin)
      .send({ name: 'x', scopes: ['write:orders'] })
      .expect(400);

    expect(res.body.details).toEqual([{ field: 'scopes', message: expect.stringContaining('read:<source>') }]);
  });

  it('POST /keys with a rate limit: stored with the key, in its answers, and enforced at once (429 with Retry-After)', async () => {
    const rateLimit = { requestsPerSecond: 1, burst: 1 };
    const created = await api()
      .post('/api/v1/keys')
      .set(admin)
      .send({ name: 'slow', scopes: ['operate'], rateLimit })
      .expect(201);

    expect(created.body.rateLimit).toEqual(rateLimit);
    expect(keys.rows.get(created.body.id)?.rateLimit).toEqual(rateLimit);
    expect((await api().get(`/api/v1/keys/${created.body.id}`).set(admin).expect(200)).body.rateLimit).toEqual(rateLimit);
    await api().post('/api/v1/things').set({ 'X-API-Key': created.body.key }).send({ n: 1 }).expect(201);
    const refused = await api().post('/api/v1/things').set({ 'X-API-Key': created.body.key }).send({ n: 1 }).expect(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['ratelimit-policy']).toBe('"key";q=1;w=1');
    expect(refused.body).toEqual(expect.objectContaining({ statusCode: 429, error: 'Too Many Requests' }));
  });

  it.each([
    ['requestsPerSecond', 0],
    ['requestsPerSecond', -5],
    ['eventsPerSecond', 'fast'],
    ['burst', null],
    ['burst', 0],
  ])('400 naming rateLimit.%s for %p', async (field, value) => {
    const res = await api()
      .post('/api/v1/keys')
      .set(admin)
      .send({ name: 'x', scopes: ['operate'], rateLimit: { [field]: value } })
      .expect(400);

    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: `rateLimit.${field}` })]));
    // Only the key stored before the test.
    expect(keys.rows.size).toBe(1);
  });

  it('400 naming rateLimit for a limit that is no object', async () => {
    const res = await api()
      .post('/api/v1/keys')
      .set(admin)
      .send({ name: 'x', scopes: ['operate'], rateLimit: 5 })
      .expect(400);

    expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'rateLimit' })]));
  });

  it('403 in the one error shape naming the scope, for a key without admin on the keys routes', async () => {
    const res = await api().get('/api/v1/keys').set({ 'X-API-Key': operator.key, 'X-Request-Id': 'req-403' }).expect(403);

    expect(res.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'This key does not hold the scope this route requires: admin',
      details: [{ field: 'scope', message: 'requires admin' }],
      requestId: 'req-403',
    });
  });

  it('rotate and revoke over HTTP: 200 with a new secret, then 204; the revoked key is 401', async () => {
    const { body: created } = await api()
      .post('/api/v1/keys')
      .set(admin)
      .send({ name: 'x', scopes: ['operate'] })
      .expect(201);

    const { body: rotated } = await api().post(`/api/v1/keys/${created.id}/rotate`).set(admin).send({ graceSeconds: 60 }).expect(200);
    await api().post('/api/v1/things').set({ 'X-API-Key': created.key }).expect(201);
    await api().post('/api/v1/things').set({ 'X-API-Key': rotated.key }).expect(201);
    await api().delete(`/api/v1/keys/${created.id}`).set(admin).expect(204);

    const refused = await api().post('/api/v1/things').set({ 'X-API-Key': rotated.key }).expect(401);
    expect(refused.body.message).toBe(`API key ${created.id} was revoked`);
    expect((await api().get(`/api/v1/keys/${created.id}`).set(admin).expect(200)).body.revokedAt).toEqual(expect.any(String));
  });

  it('records each audited request: success, failure and refusal, with the caller, target, request id, outcome and body', async () => {
    await api().post('/api/v1/things').set({ 'X-API-Key': operator.key, 'X-Request-Id': 'req-create' }).send({ colour: 'red', token: 'hush' }).expect(201);
    await api().delete('/api/v1/things/thing-9').set({ 'X-API-Key': operator.key, 'X-Request-Id': 'req-delete' }).expect(404);
    await api()
      .post('/api/v1/keys')
      .set({ 'X-API-Key': operator.key, 'X-Request-Id': 'req-refused' })
      .send({ name: 'x', scopes: ['admin'] })
      .expect(403);
    await api()
      .post('/api/v1/keys')
      .set({ ...admin, 'X-Request-Id': 'req-key' })
      .send({ name: 'y', scopes: ['read:*'] })
      .expect(201);

    const { body } = await api().get('/api/v1/audit').set(admin).expect(200);

    const bootstrap = body.events[0].actor as string;
    expect(bootstrap).toMatch(/^bootstrap:[0-9a-f]{4}$/);
    expect(
      body.events.map(({ actor, actorName, action, target, requestId, outcome, changes }: Record<string, unknown>) => ({
        actor,
        actorName,
        action,
        target,
        requestId,
        outcome,
        changes,
      })),
    ).toEqual([
      {
        actor: bootstrap,
        actorName: 'bootstrap',
        action: 'key.create',
        target: expect.stringMatching(/^[0-9a-f]{12}$/),
        requestId: 'req-key',
        outcome: 201,
        changes: { name: 'y', scopes: ['read:*'] },
      },
      { actor: operator.id, actorName: 'operator', action: 'key.create', target: undefined, requestId: 'req-refused', outcome: 403, changes: undefined },
      { actor: operator.id, actorName: 'operator', action: 'thing.delete', target: 'thing-9', requestId: 'req-delete', outcome: 404, changes: undefined },
      {
        actor: operator.id,
        actorName: 'operator',
        action: 'thing.create',
        target: 'thing-1',
        requestId: 'req-create',
        outcome: 201,
        changes: { colour: 'red', token: '<redacted>' },
      },
    ]);
    expect(JSON.stringify(body)).not.toContain('hush');
  });

  it('the audit write failing fails nothing', async () => {
    audit.down = true;
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

    await api().post('/api/v1/things').set({ 'X-API-Key': operator.key }).send({ n: 1 }).expect(201);
  });

  it('GET /audit needs admin', async () => {
    await api().get('/api/v1/audit').set({ 'X-API-Key': operator.key }).expect(403);
  });
});
