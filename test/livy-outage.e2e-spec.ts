import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AUTH, stack, startApp } from './support/harness';

describe('Livy outage: batch routes answer 503 naming Livy; the stream is reported from its own heartbeat', () => {
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
    const res = await request(app.getHttpServer()).get('/api/v1/batches').set(AUTH).expect(503);
    expect(res.body).toMatchObject({ upstream: 'Livy', message: expect.stringMatching(/Livy/) });
    // A copy of the stream keeps running without Livy; its state comes from what it reports, and says Livy is not there.
    const stream = await request(app.getHttpServer()).get('/api/v1/streaming').set(AUTH).expect(200);
    if (stream.body.desired === 'running' && stream.body.batchId) expect(stream.body.livy).toMatch(/^unavailable: .*Livy/);
    const pipeline = await request(app.getHttpServer()).get('/api/v1/pipeline').set(AUTH).expect(200);
    expect(pipeline.body.dependencies).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'livy', up: false })]));
    expect(pipeline.body.verdict).toMatch(/degraded|stopped/);
    const ready = await request(app.getHttpServer()).get('/health/ready').expect(503);
    expect(ready.body.error.livy.status).toBe('down');

    stack('up', 'livy');
    await request(app.getHttpServer()).get('/api/v1/batches').set(AUTH).expect(200);
  });
});
