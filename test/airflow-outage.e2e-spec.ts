import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AUTH, stack, startApp } from './support/harness';

describe('Airflow outage: orchestration routes answer 503 naming Airflow', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    stack('up', 'airflow');
    await app?.close();
  });

  it('answers 503 naming Airflow and readiness reports it down, then recovers', async () => {
    stack('down', 'airflow');
    for (const path of ['/api/v1/dags', '/api/v1/dags/user_profiles_ingest', '/api/v1/dags/user_profiles_ingest/runs']) {
      const res = await request(app.getHttpServer()).get(path).set(AUTH).expect(503);
      expect(res.body).toMatchObject({ upstream: 'Airflow', message: expect.stringMatching(/Airflow/) });
    }
    const trigger = await request(app.getHttpServer()).post('/api/v1/dags/user_profiles_ingest/runs').set(AUTH).send({}).expect(503);
    expect(trigger.headers['retry-after']).toBeDefined();
    const ready = await request(app.getHttpServer()).get('/health/ready').expect(503);
    expect(ready.body.error.airflow.status).toBe('down');

    stack('up', 'airflow');
    await request(app.getHttpServer()).get('/api/v1/dags').set(AUTH).expect(200);
  });
});
