import { Controller, Get, Global, INestApplication, Module } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { sourcesNamed } from '../catalogs/testing/catalogs';
import { accessProviders } from '../access/testing/access';
import { APP_CONFIG } from '../common/config/app-config';
import { AllExceptionsFilter } from '../app-http/all-exceptions.filter';
import { requestContext } from '../common/http/request-context';
import { testConfig } from '../common/testing/config';
import { httpMetrics } from '../metrics/http-metrics.middleware';
import { MeteredExpressAdapter } from '../metrics/metered-express.adapter';
import { MetricsModule } from '../metrics/metrics.module';
import { MetricsService } from '../metrics/metrics.service';
import { metricValue } from '../metrics/testing/metric-value';
import { acceptsGzip, CONSOLE_CSP, precompressedAssets } from './console-static';
import { ConsoleModule } from './console.module';

const KEY = 'k'.repeat(16);
const SCRIPT = `console.log(${JSON.stringify('the console '.repeat(50))});\n`;
const SCRIPT_FILE = '/assets/index-Bx1Yz2Qa.js';

@Controller('sources')
class ProbeController {
  @Get()
  list(): string[] {
    return ['clicks'];
  }
}

/** An app wired as apps/api/bootstrap.ts wires the real one, serving the console from `dir`. */
async function consoleApp(dir: string): Promise<{ app: INestApplication; metrics: MetricsService }> {
  // Global, as AppConfigModule provides it.
  @Global()
  @Module({ providers: [{ provide: APP_CONFIG, useValue: testConfig({ API_KEYS: KEY, CONSOLE_DIR: dir }) }], exports: [APP_CONFIG] })
  class ConfigProbeModule {}

  @Module({
    imports: [ConfigProbeModule, MetricsModule, ConsoleModule],
    controllers: [ProbeController],
    providers: [{ provide: SourcesRegistry, useValue: sourcesNamed('clicks') }, ...accessProviders(), { provide: APP_FILTER, useClass: AllExceptionsFilter }],
  })
  class ProbeModule {}

  // As main.ts creates it: a testing module would resolve the static files' loader before the HTTP adapter exists.
  const app = await NestFactory.create(ProbeModule, new MeteredExpressAdapter(), { bodyParser: false, logger: false });
  const metrics = app.get(MetricsService);
  app.use(requestContext);
  app.use(httpMetrics(metrics));
  app.use(precompressedAssets(dir));
  app.setGlobalPrefix('api/v1');
  await app.init();
  return { app, metrics };
}

describe('the web console, served by the API', () => {
  let dir: string;
  let app: INestApplication;
  let metrics: MetricsService;
  const http = () => request(app.getHttpServer());

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Pipeline</title><script type="module" src="/assets/index-Bx1Yz2Qa.js"></script>');
    writeFileSync(join(dir, SCRIPT_FILE), SCRIPT);
    writeFileSync(join(dir, `${SCRIPT_FILE}.gz`), gzipSync(SCRIPT));
    writeFileSync(join(dir, 'assets', 'index-C3dE4fG5.css'), 'body{margin:0}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => ({ app, metrics } = await consoleApp(dir)));
  afterEach(() => app.close());

  it('answers / with index.html without an API key, under a policy allowing only its own scripts and styles', async () => {
    const res = await http().get('/').expect(200);

    expect(res.text).toContain('<title>Pipeline</title>');
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/script-src 'self';/);
    expect(CONSOLE_CSP).toMatch(/style-src 'self';/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('serves a hashed asset gzipped to a client that takes gzip, as it is to one that does not, cached for a year', async () => {
    const zipped = await http().get(SCRIPT_FILE).set('Accept-Encoding', 'gzip, deflate').expect(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(Number(zipped.headers['content-length'])).toBe(gzipSync(SCRIPT).length);
    expect(zipped.text).toBe(SCRIPT); // supertest inflates it
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    expect(zipped.headers['cache-control']).toBe('public, max-age=31536000, immutable');

    const plain = await http().get(SCRIPT_FILE).set('Accept-Encoding', 'identity').expect(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Number(plain.headers['content-length'])).toBe(Buffer.byteLength(SCRIPT));

    // No gzipped copy: the file as it is.
    const css = await http().get('/assets/index-C3dE4fG5.css').set('Accept-Encoding', 'gzip').expect(200);
    expect(css.headers['content-encoding']).toBeUndefined();
    expect(css.text).toBe('body{margin:0}');
  });

  it('leaves the API as it was: routes keep their key, unknown paths their 404 in the error shape', async () => {
    await http().get('/api/v1/sources').expect(401);
    await http().get('/api/v1/sources').set('X-API-Key', KEY).expect(200, ['clicks']);
    for (const path of ['/api/v1/nope', '/nope', '/assets/missing-Ab12Cd34.js']) {
      const res = await http().get(path).expect(404);
      expect(res.body).toMatchObject({ statusCode: 404, requestId: expect.any(String) });
    }
  });

  it("counts the console's files under one route label", async () => {
    await http().get('/').expect(200);
    await http().get(SCRIPT_FILE).expect(200);

    expect(await metricValue(metrics, 'http_requests_total', { route: 'console', status: '200' })).toBe(2);
  });

  it('serves no console when its directory holds no build', async () => {
    await app.close();
    const empty = mkdtempSync(join(tmpdir(), 'console-empty-'));
    try {
      ({ app, metrics } = await consoleApp(empty));
      const res = await http().get('/').expect(404);
      expect(res.body.statusCode).toBe(404);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.8', true],
    ['*', true],
    ['identity', false],
    ['gzip;q=0', false],
    [undefined, false],
  ])('%s → %s', (header, expected) => expect(acceptsGzip(header)).toBe(expected));
});
