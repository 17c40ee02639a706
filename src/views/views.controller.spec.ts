import { INestApplication, Logger, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import request from 'supertest';
import { accessProviders, storedKey } from '../access/testing/access';
import { AllExceptionsFilter } from '../app-http/all-exceptions.filter';
import { InMemoryApiKeysRepository } from '../cassandra/testing/in-memory-api-keys.repository';
import { EventsRepository } from '../cassandra/events.repository';
import { InMemoryAuditEventsRepository } from '../cassandra/testing/in-memory-audit-events.repository';
import { InMemoryEventsRepository } from '../cassandra/testing/in-memory-events.repository';
import { InMemoryViewsRepository } from '../cassandra/testing/in-memory-views.repository';
import { ViewsRepository } from '../cassandra/views.repository';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import { APP_CONFIG } from '../common/config/app-config';
import { JsonBodyMiddleware } from '../common/http/json-body.middleware';
import { declareEnforcedRules } from '../common/http/openapi';
import { validationPipe } from '../common/http/validation.pipe';
import { testConfig } from '../common/testing/config';
import { MetricsService } from '../metrics/metrics.service';
import { RecordsService } from '../storage/records/records.service';
import { ViewsController } from './views.controller';
import { ViewsService } from './views.service';

const ADMIN = 'admin-key-0123456789';
const SOURCES = `sources:
  orders:
    schema: { type: object, properties: { amount: { type: number }, currency: { type: string } } }
`;
const DEFINITION = {
  name: 'revenue_per_currency',
  source: 'orders',
  window: '1m',
  slide: '30s',
  groupBy: ['/currency'],
  filter: [{ field: '/status', op: '=', value: 'paid' }],
  aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }],
  timeField: '/paid_at',
  lateness: '10m',
  backfillFrom: '2026-12-01T00:00:00Z',
};

/** The views routes wired as the app wires them: the access guard and audit, JSON body middleware, the global ValidationPipe, the exception filter. */
async function viewsApp() {
  const views = new InMemoryViewsRepository();
  const events = new InMemoryEventsRepository();
  const keys = new InMemoryApiKeysRepository();
  const audit = new InMemoryAuditEventsRepository();
  const reader = await storedKey(keys, 'dashboard', ['read:*']);
  const ordersReader = await storedKey(keys, 'orders-reader', ['read:orders']);

  @Module({
    controllers: [ViewsController],
    providers: [
      ViewsService,
      RecordsService,
      MetricsService,
      { provide: ViewsRepository, useValue: views.repository },
      { provide: EventsRepository, useValue: events },
      { provide: SourcesRegistry, useValue: sourcesRegistry(SOURCES) },
      { provide: APP_CONFIG, useValue: testConfig({ API_KEYS: ADMIN }) },
      ...accessProviders(keys, audit),
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
      { provide: APP_PIPE, useValue: validationPipe() },
    ],
  })
  class ViewsProbeModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer.apply(JsonBodyMiddleware).forRoutes(ViewsController);
    }
  }

  const moduleRef = await Test.createTestingModule({ imports: [ViewsProbeModule] }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
  app.setGlobalPrefix('api/v1');
  await app.init();
  return { app, views, events, audit, reader, ordersReader };
}

describe('the views routes over HTTP', () => {
  let ctx: Awaited<ReturnType<typeof viewsApp>>;
  let app: INestApplication;
  const api = () => request(app.getHttpServer());
  const post = (body: unknown) => api().post('/api/v1/views').set('X-API-Key', ADMIN).set('Content-Type', 'application/json').send(JSON.stringify(body));

  beforeAll(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  beforeEach(async () => {
    ctx = await viewsApp();
    app = ctx.app;
  });
  afterEach(() => app.close());

  it('creates a view: 201 with the view, pending, its definition stored exactly as sent, made by the key the audit names', async () => {
    const res = await post(DEFINITION).expect(201);

    expect(res.body).toEqual({
      name: 'revenue_per_currency',
      id: expect.any(String),
      source: 'orders',
      definition: DEFINITION,
      createdAt: expect.any(String),
      createdBy: expect.stringMatching(/^bootstrap:/),
      state: 'pending',
      lateEvents: 0,
    });
    expect(JSON.stringify(ctx.views.rows.get('revenue_per_currency')!.definition)).toBe(JSON.stringify(DEFINITION));
    const [event] = ctx.audit.events;
    expect(event).toMatchObject({ action: 'view.create', target: 'revenue_per_currency', outcome: 201, actor: res.body.createdBy });
  });

  it('answers 400 naming every broken rule, nested ones by their path, as the body shape of every 400', async () => {
    const res = await post({
      ...DEFINITION,
      window: '7m',
      filter: [{ field: '/status', op: 'in', value: 'paid', negate: true }],
      aggregates: [
        { fn: 'median', field: '/amount' },
        { fn: 'sum', field: '/currency' },
      ],
    }).expect(400);

    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringContaining('window must divide a day'),
      requestId: expect.any(String),
      details: [
        { field: 'window', message: expect.any(String) },
        { field: 'filter/0/negate', message: expect.any(String) },
        { field: 'filter/0/value', message: expect.any(String) },
        { field: 'aggregates/0/fn', message: expect.any(String) },
        { field: 'aggregates/1/field', message: "the source's schema says /currency is a string; sum needs a number" },
      ],
    });
    expect(ctx.views.rows.size).toBe(0);
    expect(ctx.audit.events[0]).toMatchObject({ action: 'view.create', outcome: 400 });
  });

  it('refuses an unknown top-level property, and a body that is no JSON object, with a clear 400', async () => {
    const unknown = await post({ ...DEFINITION, colour: 'red' }).expect(400);
    expect(unknown.body.details).toEqual([{ field: 'colour', message: 'property colour should not exist' }]);

    for (const body of [[DEFINITION], 'revenue', null]) {
      const res = await post(body).expect(400);
      expect(res.body.message).toMatch(/^The body must be a JSON object/);
    }
    const empty = await api().post('/api/v1/views').set('X-API-Key', ADMIN).expect(400);
    expect(empty.body.details.map((d: { field: string }) => d.field)).toEqual(['name', 'source', 'window', 'aggregates']);
  });

  it('answers 409 for a taken name', async () => {
    await post(DEFINITION).expect(201);

    const res = await post({ ...DEFINITION, window: '5m' }).expect(409);

    expect(res.body.details).toEqual([{ field: 'name', message: '"revenue_per_currency" is taken' }]);
  });

  it('redefines a view with PUT: 200 with a new id and its ETag, audited as view.update, stored as sent', async () => {
    const created = await post(DEFINITION).expect(201);
    expect(created.headers.etag).toBe(`"${created.body.id}"`);
    const changed = { ...DEFINITION, window: '5m', slide: undefined, filter: [{ field: '/status', op: 'in', value: ['paid', 'refunded'] }] };
    delete changed.slide;

    const res = await api().put('/api/v1/views/revenue_per_currency').set('X-API-Key', ADMIN).set('If-Match', created.headers.etag).send(changed).expect(200);

    expect(res.body).toMatchObject({ name: 'revenue_per_currency', definition: changed, state: 'pending' });
    expect(res.body.id).not.toBe(created.body.id);
    expect(res.headers.etag).toBe(`"${res.body.id}"`);
    expect(ctx.views.rows.get('revenue_per_currency')).toMatchObject({ id: res.body.id, definition: changed });
    expect((await api().get('/api/v1/views/revenue_per_currency').set('X-API-Key', ADMIN).expect(200)).headers.etag).toBe(res.headers.etag);
    expect(ctx.audit.events.map((e) => [e.action, e.target, e.outcome])).toEqual([
      ['view.update', 'revenue_per_currency', 200],
      ['view.create', 'revenue_per_currency', 201],
    ]);
  });

  it('refuses a PUT over a stale ETag (412), one renaming the view (400 at name), a broken definition (400 at its field), and an unknown view (404)', async () => {
    const created = await post(DEFINITION).expect(201);
    await api()
      .put('/api/v1/views/revenue_per_currency')
      .set('X-API-Key', ADMIN)
      .send({ ...DEFINITION, window: '5m', slide: '1m' })
      .expect(200);
    const put = (name: string, body: unknown, ifMatch?: string) => {
      const req = api().put(`/api/v1/views/${name}`).set('X-API-Key', ADMIN);
      return (ifMatch ? req.set('If-Match', ifMatch) : req).send(body as object);
    };

    const stale = await put('revenue_per_currency', DEFINITION, created.headers.etag).expect(412);
    expect(stale.body.details).toEqual([{ field: 'If-Match', message: expect.stringMatching(/^expected "/) }]);
    expect((await put('revenue_per_currency', { ...DEFINITION, name: 'renamed' }).expect(400)).body.details).toEqual([
      { field: 'name', message: 'must be the name in the path' },
    ]);
    const broken = await put('revenue_per_currency', { ...DEFINITION, aggregates: [{ fn: 'sum', field: '/currency' }] }).expect(400);
    expect(broken.body.details.map((d: { field: string }) => d.field)).toEqual(['aggregates/0/field']);
    await put('nothing_here', { ...DEFINITION, name: 'nothing_here' }).expect(404);
    expect(ctx.views.rows.get('revenue_per_currency')!.definition).toMatchObject({ window: '5m' });
  });

  it('reads views with read:*, and refuses to create or delete one without admin', async () => {
    await post(DEFINITION).expect(201);
    const key = { 'X-API-Key': ctx.reader.key };

    expect((await api().get('/api/v1/views').set(key).expect(200)).body.items.map((v: { name: string }) => v.name)).toEqual(['revenue_per_currency']);
    expect((await api().get('/api/v1/views/revenue_per_currency').set(key).expect(200)).body.state).toBe('pending');
    await api().get('/api/v1/views/revenue_per_currency/results').set(key).expect(200);
    await api()
      .post('/api/v1/views')
      .set(key)
      .send({ ...DEFINITION, name: 'other' })
      .expect(403);
    await api().put('/api/v1/views/revenue_per_currency').set(key).send(DEFINITION).expect(403);
    await api().delete('/api/v1/views/revenue_per_currency').set(key).expect(403);
    await api().get('/api/v1/views').expect(401);
  });

  it('deletes with 204, audited as view.delete; then the view is 404, and deleting it again too', async () => {
    await post(DEFINITION).expect(201);

    await api().delete('/api/v1/views/revenue_per_currency').set('X-API-Key', ADMIN).expect(204);

    expect(ctx.audit.events[0]).toMatchObject({ action: 'view.delete', target: 'revenue_per_currency', outcome: 204 });
    await api().get('/api/v1/views/revenue_per_currency').set('X-API-Key', ADMIN).expect(404);
    await api().get('/api/v1/views/revenue_per_currency/results').set('X-API-Key', ADMIN).expect(404);
    await api().delete('/api/v1/views/revenue_per_currency').set('X-API-Key', ADMIN).expect(404);
  });

  it('answers the results, a page at a time, and 400 for a limit out of bounds or a group that is no JSON', async () => {
    const { body: view } = await post(DEFINITION).expect(201);
    const start = Date.now() - 120_000 - (Date.now() % 60_000);
    for (let i = 0; i < 3; i++) {
      ctx.views.results.push({
        viewId: view.id,
        windowStart: new Date(start + i * 30_000),
        windowEnd: new Date(start + i * 30_000 + 60_000),
        groupKey: '["EUR"]',
        groupJson: '{"/currency":"EUR"}',
        valuesJson: `{"count":${i},"revenue":null}`,
      });
    }
    const get = (query: string) => api().get(`/api/v1/views/revenue_per_currency/results?${query}`).set('X-API-Key', ADMIN);

    const first = await get('limit=2').expect(200);
    expect(first.body.items).toEqual([
      {
        windowStart: new Date(start + 60_000).toISOString(),
        windowEnd: new Date(start + 120_000).toISOString(),
        group: { '/currency': 'EUR' },
        values: { count: 2, revenue: null },
      },
      expect.objectContaining({ values: { count: 1, revenue: null } }),
    ]);
    const second = await get(`limit=2&pageToken=${first.body.nextPageToken}`).expect(200);
    expect(second.body.items.map((i: { values: { count: number } }) => i.values.count)).toEqual([0]);
    expect(second.body.nextPageToken).toBeUndefined();

    expect((await get(`group=${encodeURIComponent('{"/currency":"USD"}')}`).expect(200)).body.items).toEqual([]);
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'group=EUR', 'from=yesterday', 'pageToken=abc.def', 'extra=1']) {
      const res = await get(query).expect(400);
      expect(res.body.details.length).toBeGreaterThan(0);
      for (const detail of res.body.details) expect(detail.field).toBe(query.split('=')[0]);
    }
  });

  it('documents each route: its scope, its statuses, integer query parameters, and bodies that refuse unknown properties', () => {
    const doc = declareEnforcedRules(SwaggerModule.createDocument(app, new DocumentBuilder().build()));
    const schemas = doc.components!.schemas as Record<string, { additionalProperties?: unknown }>;
    const operations = [
      ['post', '/api/v1/views', 'admin', ['201', '400', '409', '503']],
      ['get', '/api/v1/views', 'read:*', ['200', '503']],
      ['get', '/api/v1/views/{name}', 'read:*', ['200', '404', '503']],
      ['put', '/api/v1/views/{name}', 'admin', ['200', '400', '404', '412', '503']],
      ['delete', '/api/v1/views/{name}', 'admin', ['204', '404', '503']],
      ['get', '/api/v1/views/{name}/results', 'read:*', ['200', '400', '404', '503']],
      ['post', '/api/v1/views/preview', 'read:*', ['200', '400', '413', '415', '503']],
    ] as const;

    for (const [method, path, scope, statuses] of operations) {
      const operation = doc.paths[path][method] as unknown as { 'x-required-scope': string; responses: Record<string, unknown> };
      expect(operation['x-required-scope']).toBe(scope);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining([...statuses, '401', '403']));
    }
    const limit = doc.paths['/api/v1/views/{name}/results'].get!.parameters!.find((p) => 'name' in p && p.name === 'limit') as { schema: { type: string } };
    expect(limit.schema.type).toBe('integer');
    for (const dto of ['ViewDefinitionDto', 'ViewFilterDto', 'ViewAggregateDto', 'ViewPreviewRequestDto'])
      expect(schemas[dto].additionalProperties).toBe(false);
    const previewBody = doc.paths['/api/v1/views/preview'].post!.requestBody as { content: Record<string, { schema: { $ref: string } }> };
    expect(previewBody.content['application/json'].schema.$ref).toBe('#/components/schemas/ViewPreviewRequestDto');
  });

  describe('POST /views/preview', () => {
    const preview = (body: unknown, key = ADMIN) =>
      api().post('/api/v1/views/preview').set('X-API-Key', key).set('Content-Type', 'application/json').send(JSON.stringify(body));
    const recent = (seconds: number) => new Date(Date.now() - seconds * 1000);

    it('answers 200 with the view computed over the stored events, to a key with read:*, audits nothing and creates nothing', async () => {
      const at = recent(120);
      ctx.events.insert(
        {
          eventId: 'e1',
          source: 'orders',
          receivedAt: at,
          payload: Buffer.from('{"currency":"EUR","amount":10,"status":"paid","paid_at":"2026-12-07T11:00:10Z"}'),
        },
        {
          eventId: 'e2',
          source: 'orders',
          receivedAt: at,
          payload: Buffer.from('{"currency":"EUR","amount":5,"status":"paid","paid_at":"2026-12-07T11:00:50Z"}'),
        },
        {
          eventId: 'e3',
          source: 'orders',
          receivedAt: at,
          payload: Buffer.from('{"currency":"EUR","amount":7,"status":"open","paid_at":"2026-12-07T11:00:20Z"}'),
        },
      );

      const res = await preview({ definition: DEFINITION }, ctx.reader.key).expect(200);

      expect(res.body).toEqual({
        items: [
          { windowStart: '2026-12-07T11:00:30.000Z', windowEnd: '2026-12-07T11:01:30.000Z', group: { '/currency': 'EUR' }, values: { count: 1, revenue: 5 } },
          { windowStart: '2026-12-07T11:00:00.000Z', windowEnd: '2026-12-07T11:01:00.000Z', group: { '/currency': 'EUR' }, values: { count: 2, revenue: 15 } },
          { windowStart: '2026-12-07T10:59:30.000Z', windowEnd: '2026-12-07T11:00:30.000Z', group: { '/currency': 'EUR' }, values: { count: 1, revenue: 10 } },
        ],
        events: 3,
        truncated: false,
        from: expect.any(String),
        to: expect.any(String),
      });
      expect(Date.parse(res.body.to) - Date.parse(res.body.from)).toBe(3_600_000);
      expect(ctx.audit.events).toEqual([]);
      expect(ctx.views.rows.size).toBe(0);
    });

    it('answers 400 naming every broken rule of the definition under definition/, and of the range', async () => {
      const res = await preview({
        definition: { ...DEFINITION, window: '7m', aggregates: [{ fn: 'median', field: '/amount' }] },
        from: '2026-12-05T00:00:00Z',
        to: '2026-12-07T00:00:00Z',
      }).expect(400);

      expect(res.body.details).toEqual([
        { field: 'definition/window', message: expect.any(String) },
        { field: 'definition/aggregates/0/fn', message: expect.any(String) },
        { field: 'from', message: 'must be at most 24 hours before to' },
      ]);
      expect(ctx.audit.events).toEqual([]);
    });

    it('refuses a body without a definition object, or with a property it does not have, with a clear 400', async () => {
      for (const body of [{}, { definition: 'revenue' }, { definition: null }, { definition: [DEFINITION] }]) {
        const res = await preview(body).expect(400);
        expect(res.body.details).toEqual([{ field: 'definition', message: expect.stringContaining('must be a view definition') }]);
      }
      expect((await preview({ definition: DEFINITION, limit: 5 }).expect(400)).body.details).toEqual([
        { field: 'limit', message: 'property limit should not exist' },
      ]);
      expect((await preview({ definition: { ...DEFINITION, colour: 'red' } }).expect(400)).body.details).toEqual([
        { field: 'definition/colour', message: expect.stringContaining('is not a setting here') },
      ]);
    });

    it('needs read:* (the access check reads no body, so read:<source> is not enough), and a key: 401 without one', async () => {
      const res = await preview({ definition: DEFINITION }, ctx.ordersReader.key).expect(403);

      expect(res.body.details).toEqual([{ field: 'scope', message: 'requires read:*' }]);
      await api().post('/api/v1/views/preview').send({ definition: DEFINITION }).expect(401);
    });
  });

  it('answers 503 naming Cassandra while it is down', async () => {
    ctx.views.down = true;

    const res = await post(DEFINITION).expect(503);

    expect(res.body.upstream).toBe('Cassandra');
    await api().get('/api/v1/views').set('X-API-Key', ADMIN).expect(503);
  });
});
