import { INestApplication } from '@nestjs/common';
import { request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { AUTH, eventually, startApp } from './support/harness';

/** The caller's mistakes are 4xx before any dependency sees them, and every refusal is in the one error shape. */
describe('the HTTP contract against the real Livy, Airflow and Cassandra', () => {
  let app: INestApplication;
  const api = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startApp();
    await app.listen(0, '127.0.0.1');
    await eventually('readiness', async () => ((await api().get('/health/ready')).status === 200 ? true : undefined), 180_000);
  }, 240_000);
  afterAll(async () => {
    await app?.close();
  });

  const errorShape = (status: number) => ({ statusCode: status, error: expect.any(String), message: expect.any(String), requestId: expect.any(String) });

  // Airflow answered "a/b" with 405, passed on as a 502.
  it.each([
    ['PATCH', '/api/v1/dags/a%2Fb', { isPaused: true }],
    ['GET', '/api/v1/dags/a%2Fb', undefined],
    ['GET', '/api/v1/dags/user_profiles_ingest/runs/a%2Fb', undefined],
    ['POST', '/api/v1/dags/a%2Fb/runs', {}],
  ])('%s %s is 400 naming the id, never a 502', async (method, path, body) => {
    const call = api()[method.toLowerCase() as 'get'](path).set(AUTH);
    const res = await (body === undefined ? call : call.send(body)).expect(400);
    expect(res.body).toMatchObject({ ...errorShape(400), details: [{ field: expect.stringMatching(/^(dagId|runId)$/) }] });
  });

  // Livy's ids and line numbers are Java ints: larger ones failed in Livy, a 502.
  it.each([
    ['DELETE', '/api/v1/batches/2147483648', 404],
    ['DELETE', '/api/v1/batches/livy:2147483648', 404],
    ['GET', '/api/v1/batches/livy:0/log?from=1e21', 400],
    ['GET', '/api/v1/batches/livy:0/log?from=2147483648', 400],
  ])('%s %s is %i, never a 502', async (method, path, status) => {
    const res = await api()[method.toLowerCase() as 'get'](path).set(AUTH).expect(status);
    expect(res.body).toMatchObject(errorShape(status));
    if (status === 400) expect(res.body.details).toContainEqual(expect.objectContaining({ field: 'from' }));
  });

  it.each([
    ['GET', '/api/v1/ingest/users', 'POST'],
    ['TRACE', '/api/v1/sources', 'GET, HEAD, POST'],
    ['DELETE', '/api/v1/dags', 'GET, HEAD'],
  ])('%s %s is 405 with Allow: %s', async (method, path, allow) => {
    const res = await api()[method.toLowerCase() as 'get'](path).set(AUTH).expect(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.body).toMatchObject(errorShape(405));
  });

  it('an unknown path stays 404', async () => {
    await api().trace('/api/v1/nowhere').set(AUTH).expect(404);
  });

  it('a real calendar date only: from=2026-02-30 is 400 naming from', async () => {
    const res = await api().get('/api/v1/stats/users?from=2026-02-30').set(AUTH).expect(400);
    expect(res.body.message).toMatch(/^from must be a real calendar date/);
  });

  it('a wrong bearer token beside a valid X-API-Key is 401', async () => {
    await api().get('/api/v1/sources').set(AUTH).set('Authorization', 'Bearer wrong-key-0123456789').expect(401);
    await api().get('/api/v1/sources').set(AUTH).set('Authorization', 'Basic dXNlcjpwYXNz').expect(401);
  });

  it('a 20 KB Idempotency-Key is 431 in the one error shape; one over 255 characters that fits is 400', async () => {
    const server: Server = app.getHttpServer();
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; type?: string; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/v1/ingest/clicks',
          headers: { ...AUTH, 'Content-Type': 'application/json', 'Idempotency-Key': 'k'.repeat(20_000) },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(answer.status).toBe(431);
    expect(answer.type).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toMatchObject(errorShape(431));

    await api().post('/api/v1/ingest/clicks').set(AUTH).set('Idempotency-Key', 'k'.repeat(300)).send({ a: 1 }).expect(400);
  });

  it('the document declares what the server enforces', async () => {
    const doc = (await api().get('/docs-json').expect(200)).body as {
      components: { schemas: Record<string, { properties: Record<string, unknown>; additionalProperties?: unknown }> };
      paths: Record<string, Record<string, { requestBody?: { required?: boolean }; responses: Record<string, unknown> }>>;
    };
    const error = doc.components.schemas.ErrorResponseDto;
    expect(error.properties.details).toMatchObject({ type: 'array', items: { type: 'object' } });
    expect(error.properties.upstream).toMatchObject({ enum: ['Kafka', 'Cassandra', 'Livy', 'Airflow'] });
    expect(doc.components.schemas.CreateScheduleDto.additionalProperties).toBe(false);
    expect(doc.paths['/api/v1/jobs/{name}/batches'].post.requestBody?.required).toBe(false);
    expect(doc.paths['/api/v1/schedules/{id}'].patch.requestBody?.required).toBe(true);
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations)) expect(operation.responses['431']).toBeDefined();
    }
  });
});
