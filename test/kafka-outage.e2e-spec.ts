import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AUTH, eventually, readEvents, stack, startApp, topicEnd } from './support/harness';

describe('Kafka outage: 503 while the broker is down, recovery without restarting the API', () => {
  let app: INestApplication;
  /** The terminus report, the body of readiness whether it answered 200 or 503. */
  const readiness = async () => (await request(app.getHttpServer()).get('/health/ready')).body;
  const ingest = () => request(app.getHttpServer()).post('/api/v1/ingest/clicks').set(AUTH).send({ during: 'outage' });

  beforeAll(async () => {
    app = await startApp({ KAFKA_PUBLISH_TIMEOUT_MS: '3000' });
    await ingest().expect(202);
  });
  afterAll(async () => {
    stack('up', 'kafka'); // leave the broker running whatever happened
    await app?.close();
  });

  it('answers 503 with Retry-After and readiness reports Kafka down, then recovers', async () => {
    const before = await topicEnd('ingest.clicks');
    stack('down', 'kafka');

    const down = await ingest();
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toMatch(/^\d+$/);
    expect(down.body).toMatchObject({ statusCode: 503, upstream: 'Kafka' });
    expect(down.body.message).toMatch(/Kafka/);

    const ready = await request(app.getHttpServer()).get('/health/ready').expect(503);
    expect(ready.body.error.kafka.status).toBe('down');
    await request(app.getHttpServer()).get('/health/live').expect(200);

    stack('up', 'kafka');
    const ok = await eventually('ingest accepted again', async () => {
      const res = await ingest();
      return res.status === 202 ? res : undefined;
    });
    expect((await readiness()).details.kafka.status).toBe('up');
    // The accepted event really is in the topic, and nothing refused was reported accepted.
    const found = await readEvents('ingest.clicks', ok.body.eventIds);
    expect(found.size).toBe(1);
    expect(await topicEnd('ingest.clicks')).toBeGreaterThan(before);
  });
});
