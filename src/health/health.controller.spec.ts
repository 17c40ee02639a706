import { INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AIRFLOW_API } from '../airflow/airflow.api';
import { CassandraClient } from '../cassandra/cassandra.client';
import { APP_CONFIG } from '../common/config/app-config';
import { AllExceptionsFilter } from '../app-http/all-exceptions.filter';
import { testConfig } from '../common/testing/config';
import { KafkaProducer } from '../kafka/kafka.producer';
import { LivyClient } from '../livy/livy.client';
import { MetricsService } from '../metrics/metrics.service';
import { DependencyIndicator } from './dependency.indicator';
import { HealthController } from './health.controller';
import { READINESS_CACHE_MS, ReadinessService } from './readiness.service';

const KEY = 'k'.repeat(16);

/** The four pings, each answering what it is given (a rejection for a dependency that is down), counted. */
function pings() {
  return {
    kafka: jest.fn(async () => ({ brokers: 1 })),
    cassandra: jest.fn(async () => ({ version: '5.0.6' })),
    livy: jest.fn(async () => ({ version: '0.7.1-incubating' })),
    airflow: jest.fn(async (): Promise<Record<string, unknown>> => ({ version: '3.3.2' })),
  };
}

describe('GET /health/ready', () => {
  let app: INestApplication;
  let ping: ReturnType<typeof pings>;

  beforeEach(async () => {
    ping = pings();
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json', logger: false })],
      controllers: [HealthController],
      providers: [
        ReadinessService,
        DependencyIndicator,
        MetricsService,
        { provide: KafkaProducer, useValue: { ping: ping.kafka } },
        { provide: CassandraClient, useValue: { ping: ping.cassandra } },
        { provide: LivyClient, useValue: { ping: ping.livy } },
        { provide: AIRFLOW_API, useValue: { ping: ping.airflow } },
        { provide: APP_CONFIG, useValue: testConfig({ API_KEYS: KEY }) },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterEach(async () => {
    jest.useRealTimers();
    await app.close();
  });

  const ready = (key?: string) => {
    const req = request(app.getHttpServer()).get('/health/ready');
    return key ? req.set('X-API-Key', key) : req;
  };
  const fanOuts = () => ping.kafka.mock.calls.length;

  it('shows a caller without a key only up or down per dependency: no versions, latencies or messages', async () => {
    ping.airflow.mockRejectedValue(new Error('Airflow is unavailable: connect ECONNREFUSED 10.0.0.7:8080'));

    const res = await ready().expect(503);

    expect(res.body).toEqual({
      status: 'error',
      info: { kafka: { status: 'up' }, cassandra: { status: 'up' }, livy: { status: 'up' } },
      error: { airflow: { status: 'down' } },
      details: { kafka: { status: 'up' }, cassandra: { status: 'up' }, livy: { status: 'up' }, airflow: { status: 'down' } },
    });
    expect(res.text).not.toMatch(/version|latency|10\.0\.0\.7/);
  });

  it.each([
    ['no key', undefined],
    ['a wrong key', 'x'.repeat(16)],
  ])('strips the details for %s, with the status code unchanged (200 when all are up)', async (_case, key) => {
    const res = await ready(key).expect(200);

    expect(res.body.details).toEqual({ kafka: { status: 'up' }, cassandra: { status: 'up' }, livy: { status: 'up' }, airflow: { status: 'up' } });
  });

  it('shows a caller with a valid key what each check said', async () => {
    const res = await ready(KEY).expect(200);

    expect(res.body.details.cassandra).toEqual({ status: 'up', version: '5.0.6', latencyMs: expect.any(Number) });
    expect(res.body.info.livy).toMatchObject({ version: '0.7.1-incubating' });
  });

  it('fans out once for any number of concurrent callers, who share the check in flight', async () => {
    let release!: () => void;
    let pinged!: () => void;
    const firstPing = new Promise<void>((resolve) => (pinged = resolve));
    ping.kafka.mockImplementation(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ brokers: 1 });
          pinged();
        }),
    );

    const answers = Promise.all(Array.from({ length: 20 }, (_, i) => ready(i % 2 ? KEY : undefined)));
    // Every caller is in before the check ends: the first has started it, the others are given time to arrive.
    await firstPing;
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();

    expect((await answers).map((res) => res.status)).toEqual(Array(20).fill(200));
    expect(fanOuts()).toBe(1);
    expect(ping.airflow).toHaveBeenCalledTimes(1);
  });

  it(`answers from the last check for ${READINESS_CACHE_MS} ms, then checks again`, async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'setTimeout', 'clearTimeout'] });
    await ready().expect(200);
    ping.kafka.mockRejectedValue(new Error('Kafka is unavailable'));

    jest.setSystemTime(Date.now() + READINESS_CACHE_MS - 1);
    await ready().expect(200);
    expect(fanOuts()).toBe(1);

    jest.setSystemTime(Date.now() + 1);
    await ready().expect(503);
    expect(fanOuts()).toBe(2);
  });

  it('keeps no failure of the check itself beyond the interval', async () => {
    const service = app.get(ReadinessService);
    jest.spyOn(service as unknown as { run: () => Promise<unknown> }, 'run').mockRejectedValueOnce(new Error('boom'));

    await expect(service.check()).rejects.toThrow('boom');
    await new Promise((resolve) => setTimeout(resolve, READINESS_CACHE_MS + 10));
    await expect(service.check()).resolves.toMatchObject({ ok: true });
  });
});
