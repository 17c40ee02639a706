import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AUTH, stack, startApp } from './support/harness';

describe('Livy outage: processing routes answer 503 naming Livy', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    stack('up', 'livy');
    await app?.close();
  });

  it('answers 503 naming Livy and readiness reports it down, then recovers', async () => {
    stack('down', 'livy');
    for (const path of ['/api/v1/batches', '/api/v1/streaming']) {
      const res = await request(app.getHttpServer()).get(path).set(AUTH).expect(503);
      expect(res.body).toMatchObject({ details: { upstream: 'Livy' }, message: expect.stringMatching(/Livy/) });
    }
    const ready = await request(app.getHttpServer()).get('/health/ready').expect(503);
    expect(ready.body.details.error.livy.status).toBe('down');

    stack('up', 'livy');
    await request(app.getHttpServer()).get('/api/v1/batches').set(AUTH).expect(200);
  });
});
