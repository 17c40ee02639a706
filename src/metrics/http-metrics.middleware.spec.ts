import { Body, Controller, Get, HttpCode, INestApplication, MiddlewareConsumer, Module, NestModule, Param, Post, RequestMethod } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import { LoggerModule } from 'nestjs-pino';
import request from 'supertest';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { sourcesNamed } from '../catalogs/testing/catalogs';
import { accessProviders } from '../access/testing/access';
import { APP_CONFIG } from '../common/config/app-config';
import { AllExceptionsFilter } from '../app-http/all-exceptions.filter';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { JsonBodyMiddleware } from '../common/http/json-body.middleware';
import { testConfig } from '../common/testing/config';
import { httpMetrics, labelledNotFound, labelRoute, routeLabel, UNMATCHED } from './http-metrics.middleware';
import { MeteredExpressAdapter } from './metered-express.adapter';
import { requestContext } from '../common/http/request-context';
import { MetricsModule } from './metrics.module';
import { MetricsService } from './metrics.service';
import { metricValue } from './testing/metric-value';

const KEY = 'k'.repeat(16);

@Controller()
class ProbeController {
  @Get('sources')
  list(): string[] {
    return [];
  }

  @Post('ingest/:source')
  @HttpCode(202)
  ingest(@Param('source') source: string): object {
    if (source === 'down') throw new UpstreamUnavailableError('Kafka', 'Kafka is unavailable');
    return { accepted: 1 };
  }

  @Post('schedules')
  create(@Body() body: unknown): unknown {
    return body;
  }
}

@Module({
  imports: [
    MetricsModule,
    // As the request logger is mounted in the app: as catch-all routes (`/api/v1/{*path}`) every unknown path passes through.
    LoggerModule.forRoot({ forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }], pinoHttp: { level: 'silent' } }),
  ],
  controllers: [ProbeController],
  providers: [
    { provide: APP_CONFIG, useValue: testConfig({ API_KEYS: KEY }) },
    { provide: SourcesRegistry, useValue: sourcesNamed('clicks') },
    ...accessProviders(),
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
  ],
})
class ProbeModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonBodyMiddleware).forRoutes({ path: 'schedules', method: RequestMethod.POST });
  }
}

/** An app wired as apps/api/bootstrap.ts wires the real one: its adapter, the middleware first, the prefix, /metrics outside it. */
async function probeApp(): Promise<{ app: INestApplication; metrics: MetricsService }> {
  const moduleRef = await Test.createTestingModule({ imports: [ProbeModule] }).compile();
  const app = moduleRef.createNestApplication(new MeteredExpressAdapter(), { bodyParser: false, logger: false });
  const metrics = app.get(MetricsService);
  app.use(requestContext);
  app.use(httpMetrics(metrics));
  app.setGlobalPrefix('api/v1', { exclude: [{ path: 'metrics', method: RequestMethod.GET }] });
  await app.init();
  return { app, metrics };
}

describe('httpMetrics', () => {
  let app: INestApplication;
  let metrics: MetricsService;
  const requests = (labels: Record<string, string>) => metricValue(metrics, 'http_requests_total', labels);
  const http = () => request(app.getHttpServer());

  beforeEach(async () => ({ app, metrics } = await probeApp()));
  afterEach(() => app.close());

  it('labels requests with the route pattern, never the URL, and times each', async () => {
    await http().post('/api/v1/ingest/clicks').set('X-API-Key', KEY).expect(202);
    await http().post('/api/v1/ingest/orders').set('X-API-Key', KEY).expect(202);
    await http().get('/api/v1/sources').set('X-API-Key', KEY).expect(200);

    expect(await requests({ route: '/api/v1/ingest/:source', method: 'POST', status: '202' })).toBe(2);
    expect(await requests({ route: '/api/v1/sources', method: 'GET', status: '200' })).toBe(1);
    expect(await requests({})).toBe(3);
    expect(await metricValue(metrics, 'http_request_duration_seconds_count', { route: '/api/v1/ingest/:source' })).toBe(2);
    expect(await metricValue(metrics, 'http_request_duration_seconds_sum')).toBeGreaterThan(0);
    const series = (await metrics.registry.getSingleMetric('http_requests_total')!.get()).values.map((v) => v.labels.route);
    expect(series.some((route) => String(route).includes('clicks'))).toBe(false);
  });

  it('labels requests the API-key guard refused with their route', async () => {
    await http().get('/api/v1/sources').expect(401);
    await http().post('/api/v1/ingest/clicks').set('X-API-Key', 'wrong-key-0123456789').expect(401);

    expect(await requests({ route: '/api/v1/sources', method: 'GET', status: '401' })).toBe(1);
    expect(await requests({ route: '/api/v1/ingest/:source', method: 'POST', status: '401' })).toBe(1);
  });

  it('labels errors the exception filter answered with their route and status', async () => {
    await http().post('/api/v1/ingest/down').set('X-API-Key', KEY).expect(503);

    expect(await requests({ route: '/api/v1/ingest/:source', method: 'POST', status: '503' })).toBe(1);
    expect(await metricValue(metrics, 'pipeline_upstream_errors_total', { upstream: 'kafka', status: '503' })).toBe(1);
  });

  it('puts every path no route matched under one label, inside the prefix too', async () => {
    for (const path of ['/wp-login.php', '/api/v1/nowhere', '/api/v1', '/api/v2/sources', '/.env']) await http().get(path).set('X-API-Key', KEY).expect(404);
    await http().delete('/api/v1/sources').set('X-API-Key', KEY).expect(405);
    await http().delete('/api/v1/nowhere').set('X-API-Key', KEY).expect(404);

    expect(await requests({ route: UNMATCHED, method: 'GET', status: '404' })).toBe(5);
    expect(await requests({ route: UNMATCHED, method: 'DELETE', status: '405' })).toBe(1);
    expect(await requests({ route: UNMATCHED, method: 'DELETE', status: '404' })).toBe(1);
    expect(await requests({})).toBe(7);
  });

  it("labels a body refused by a route's middleware, before the handler ran, with that route", async () => {
    await http().post('/api/v1/schedules').set('X-API-Key', KEY).set('Content-Type', 'application/json').send('{"name": ').expect(400);

    expect(await requests({ route: '/api/v1/schedules', method: 'POST', status: '400' })).toBe(1);
  });

  it('serves /metrics outside the prefix, counted like any route', async () => {
    const scrape = await http().get('/metrics').set('X-API-Key', KEY).expect(200);
    const refused = await http().get('/metrics').expect(401);
    await http().get('/api/v1/metrics').set('X-API-Key', KEY).expect(404);

    expect(scrape.headers['content-type']).toMatch(/^text\/plain;/);
    expect(scrape.headers['content-type']).toContain('version=0.0.4');
    expect(scrape.text).toContain('# TYPE http_requests_total counter');
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(await requests({ route: '/metrics', method: 'GET', status: '200' })).toBe(1);
    expect(await requests({ route: '/metrics', method: 'GET', status: '401' })).toBe(1);
  });
});

describe('a method a path does not answer', () => {
  let app: INestApplication;
  const http = () => request(app.getHttpServer());

  beforeEach(async () => ({ app } = await probeApp()));
  afterEach(() => app.close());

  it.each([
    ['GET', '/api/v1/ingest/clicks', 'POST'],
    ['DELETE', '/api/v1/sources', 'GET, HEAD'],
    ['PUT', '/api/v1/schedules', 'POST'],
    ['TRACE', '/api/v1/sources', 'GET, HEAD'],
    ['TRACE', '/metrics', 'GET, HEAD'],
  ])('%s %s answers 405 with Allow: %s, in the one error shape', async (method, path, allow) => {
    const res = await http()[method.toLowerCase() as 'get'](path).set('X-API-Key', KEY).set('X-Request-Id', 'req-405').expect(405);

    expect(res.headers.allow).toBe(allow);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: `${method} is not allowed on ${path}; it answers ${allow}`,
      requestId: 'req-405',
    });
  });

  it.each([
    ['GET', '/api/v1/nowhere'],
    ['TRACE', '/api/v1/nowhere'],
    ['GET', '/api/v1/ingest'],
    ['GET', '/api/v1/ingest/a/b'],
  ])('%s %s stays 404: no route has the path', async (method, path) => {
    const res = await http()[method.toLowerCase() as 'get'](path).set('X-API-Key', KEY).expect(404);

    expect(res.headers.allow).toBeUndefined();
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });
});

describe('routeLabel', () => {
  const req = (fields: object) => ({ baseUrl: '', ...fields }) as unknown as Request;

  it('joins the path a router was mounted at and the route pattern', () => {
    expect(routeLabel(req({ baseUrl: '/admin', route: { path: '/users/:id' } }))).toBe('/admin/users/:id');
    expect(routeLabel(req({ route: { path: '/api/v1/records/:source' } }))).toBe('/api/v1/records/:source');
  });

  it('answers unmatched without a route, or for a route not given as a string pattern', () => {
    expect(routeLabel(req({}))).toBe(UNMATCHED);
    expect(routeLabel(req({ route: { path: /^\/files\/.*/ } }))).toBe(UNMATCHED);
    expect(routeLabel(req({ route: { path: ['/a', '/b'] } }))).toBe(UNMATCHED);
  });

  it('answers unmatched for a request the not-found handler answered, whatever catch-all route it passed', () => {
    const passed = req({ route: { path: '/api/v1/{*path}' } });
    const notFound = jest.fn();

    labelledNotFound(notFound)(passed, {} as never, () => undefined);

    expect(notFound).toHaveBeenCalledWith(passed, {}, expect.any(Function));
    expect(routeLabel(passed)).toBe(UNMATCHED);
  });

  it('answers the label a handler outside the router gave, whatever catch-all route the request passed', () => {
    const served = req({ route: { path: '/api/v1/{*path}' } });
    labelRoute(served, 'console');

    expect(routeLabel(served)).toBe('console');
  });
});
