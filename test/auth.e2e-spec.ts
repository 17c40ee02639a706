import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AUTH, startApp } from './support/harness';

/** Every route in the OpenAPI document, with path parameters filled in. */
function routesOf(doc: { paths: Record<string, Record<string, unknown>> }): [string, string][] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((method): [string, string] => [method, path.replace(/\{[^}]+\}/g, 'users')]),
  );
}

describe('API-key authentication, for every route in the OpenAPI document', () => {
  let app: INestApplication;
  let routes: [string, string][];
  const call = (method: string, path: string) => (request(app.getHttpServer()) as unknown as Record<string, (url: string) => request.Test>)[method](path);

  beforeAll(async () => {
    app = await startApp();
    const doc = await request(app.getHttpServer()).get('/docs-json').expect(200);
    routes = routesOf(doc.body);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('documents the routes of this product and both auth schemes', async () => {
    const doc = (await request(app.getHttpServer()).get('/docs-json').expect(200)).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/ingest/{source}',
        '/api/v1/sources',
        '/api/v1/records/{source}',
        '/api/v1/stats/{source}',
        '/health/live',
        '/health/ready',
      ]),
    );
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(['api-key', 'bearer']));
    expect(routes.length).toBeGreaterThanOrEqual(6);
  });

  it('refuses every non-health route without a key, and with a wrong key, in the one error shape', async () => {
    const protectedRoutes = routes.filter(([, path]) => !path.startsWith('/health/'));
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(4);
    for (const [method, path] of protectedRoutes) {
      const missing = await call(method, path).set('Content-Type', 'application/json').send('{}');
      expect({ route: `${method} ${path}`, status: missing.status }).toEqual({ route: `${method} ${path}`, status: 401 });
      expect(missing.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', requestId: expect.any(String) });
      const wrong = await call(method, path).set('X-API-Key', 'not-the-key-not-the-key').send();
      expect({ route: `${method} ${path}`, status: wrong.status }).toEqual({ route: `${method} ${path}`, status: 401 });
    }
  });

  it('lets health and docs through without a key', async () => {
    for (const [, path] of routes.filter(([, p]) => p.startsWith('/health/'))) {
      const res = await request(app.getHttpServer()).get(path);
      expect([200, 503]).toContain(res.status);
    }
    await request(app.getHttpServer()).get('/docs').redirects(1).expect(200);
  });

  it('accepts the key as a bearer token and as X-API-Key', async () => {
    await request(app.getHttpServer()).get('/api/v1/sources').set(AUTH).expect(200);
    await request(app.getHttpServer()).get('/api/v1/sources').set('Authorization', `bearer ${AUTH['X-API-Key']}`).expect(200);
  });
});
