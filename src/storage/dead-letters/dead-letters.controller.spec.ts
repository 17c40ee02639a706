import { INestApplication, Logger, MiddlewareConsumer, Module, NestModule, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { DeadLettersRepository } from '../../cassandra/dead-letters.repository';
import { InMemoryDeadLettersRepository } from '../../cassandra/testing/in-memory-dead-letters.repository';
import { SourcesRegistry } from '../../catalogs/sources.registry';
import { sourcesRegistry } from '../../catalogs/testing/catalogs';
import { accessProviders } from '../../access/testing/access';
import { APP_CONFIG } from '../../common/config/app-config';
import { AllExceptionsFilter } from '../../app-http/all-exceptions.filter';
import { JsonBodyMiddleware } from '../../common/http/json-body.middleware';
import { testConfig } from '../../common/testing/config';
import { listen } from '../../common/testing/http-server';
import { KafkaProducer } from '../../kafka/kafka.producer';
import { FakeKafkaProducer } from '../../kafka/testing/fake-kafka.producer';
import { MetricsService } from '../../metrics/metrics.service';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersService } from './dead-letters.service';

const API_KEY = 'k'.repeat(16);
const SOURCES = `sources:
  orders:
    onInvalid: quarantine
    schema: { type: object, properties: { amount: { type: [number, string] } } }
`;
const ID = '0190a5e4-7c1b-7def-8000-000000000001';

/** The dead-letter routes wired as the app wires them: API-key guard, JSON body middleware, the global ValidationPipe, the exception filter. */
async function deadLettersApp(repository: InMemoryDeadLettersRepository, kafka: FakeKafkaProducer): Promise<INestApplication> {
  @Module({
    controllers: [DeadLettersController],
    providers: [
      DeadLettersService,
      MetricsService,
      { provide: DeadLettersRepository, useValue: repository.repository },
      { provide: KafkaProducer, useValue: kafka.producer },
      { provide: SourcesRegistry, useValue: sourcesRegistry(SOURCES) },
      { provide: APP_CONFIG, useValue: testConfig({ API_KEYS: API_KEY }) },
      ...accessProviders(),
      { provide: APP_FILTER, useClass: AllExceptionsFilter },
      { provide: APP_PIPE, useValue: new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }) },
    ],
  })
  class DeadLettersProbeModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer.apply(JsonBodyMiddleware).forRoutes(DeadLettersController);
    }
  }

  const moduleRef = await Test.createTestingModule({ imports: [DeadLettersProbeModule] }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
  app.setGlobalPrefix('api/v1');
  await app.init();
  return app;
}

describe('GET /dead-letters/{source} and POST /dead-letters/{source}/replay over HTTP', () => {
  let app: INestApplication;
  let repository: InMemoryDeadLettersRepository;
  let kafka: FakeKafkaProducer;
  const api = () => request(app.getHttpServer());

  beforeAll(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));

  beforeEach(async () => {
    repository = new InMemoryDeadLettersRepository();
    kafka = new FakeKafkaProducer();
    repository.insert({
      source: 'orders',
      failedAt: new Date('2026-01-01T12:00:00Z'),
      id: ID,
      reason: 'schema',
      reasons: '[{"field":"/amount","message":"must be number"}]',
      payload: '{"amount":"10"}',
      eventId: ID,
      receivedAt: new Date('2026-01-01T12:00:00Z'),
    });
    app = await deadLettersApp(repository, kafka);
  });
  afterEach(() => app.close());

  it('lists the dead letters of a source, and answers 400 for a bad limit and 404 for an unknown source', async () => {
    const res = await api().get('/api/v1/dead-letters/orders?limit=10').set('X-API-Key', API_KEY).expect(200);

    expect(res.body.items).toEqual([expect.objectContaining({ id: ID, reason: 'schema', payload: { amount: '10' } })]);
    await api().get('/api/v1/dead-letters/orders?limit=0').set('X-API-Key', API_KEY).expect(400);
    await api().get('/api/v1/dead-letters/payments').set('X-API-Key', API_KEY).expect(404);
    await api().get('/api/v1/dead-letters/orders').expect(401);
  });

  it('replays with 200 and the outcome, then replays nothing', async () => {
    const first = await api()
      .post('/api/v1/dead-letters/orders/replay')
      .set('X-API-Key', API_KEY)
      .send({ ids: [ID] })
      .expect(200);
    const second = await api().post('/api/v1/dead-letters/orders/replay').set('X-API-Key', API_KEY).send({ all: true }).expect(200);

    expect(first.body).toEqual({ replayed: 1, eventIds: [ID], alreadyReplayed: 0, stillFailing: [] });
    expect(second.body).toEqual({ replayed: 0, eventIds: [], alreadyReplayed: 1, stillFailing: [] });
    expect(kafka.publish).toHaveBeenCalledTimes(1);
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown property', { all: true, dryRun: true }, /property dryRun should not exist/],
    ['ids that is not a list', { ids: ID }, /ids must be an array/],
    ['an empty list of ids', { ids: [] }, /ids should not be empty/],
    ['a repeated id', { ids: [ID, ID] }, /ids's elements must be unique/],
    ['all that is not a boolean', { all: 'yes' }, /all must be a boolean/],
    ['no selection at all', {}, /Say which dead letters to replay/],
  ])('refuses %s with 400, replaying nothing', async (_case, body, message) => {
    const res = await api()
      .post('/api/v1/dead-letters/orders/replay')
      .set('X-API-Key', API_KEY)
      .send(body as object)
      .expect(400);

    expect(res.body.message).toMatch(message);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('refuses a body that is not JSON with 415, and an empty one with 400', async () => {
    await api().post('/api/v1/dead-letters/orders/replay').set('X-API-Key', API_KEY).set('Content-Type', 'text/plain').send('all').expect(415);
    const res = await api().post('/api/v1/dead-letters/orders/replay').set('X-API-Key', API_KEY).expect(400);
    expect(res.body.message).toMatch(/Say which dead letters to replay/);
  });

  describe('before the body is read', () => {
    /** Announces a 1 MB body and sends 16 kB of it: only a server that did not wait for the body can answer. */
    const unreadReplay = (headers: Record<string, string>) =>
      new Promise<{ status: number; connection?: string; body: { statusCode: number; message: string } }>((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/v1/dead-letters/orders/replay',
          headers: { 'Content-Type': 'application/json', 'Content-Length': String(1024 * 1024), ...headers },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.write(Buffer.alloc(16 * 1024, 0x20));
      });
    let port: number;
    beforeEach(async () => (port = await listen(app.getHttpServer())));
    afterEach(() => app.getHttpServer().closeAllConnections());

    it.each([
      ['no API key', {}, /^Missing API key/],
      ['a wrong API key', { 'X-API-Key': 'x'.repeat(16) }, /^Invalid API key/],
    ])('answers a 1 MB body with %s 401 in the one error shape, Connection: close, without reading it', async (_case, headers, message) => {
      const answer = await unreadReplay(headers);

      expect(answer).toMatchObject({ status: 401, connection: 'close', body: { statusCode: 401, message: expect.stringMatching(message) } });
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it('answers ~4 kB of nested arrays 400 naming the depth, not 500', async () => {
      const deep = `{"ids":${'['.repeat(2000)}${']'.repeat(2000)}}`;
      const res = await api()
        .post('/api/v1/dead-letters/orders/replay')
        .set('X-API-Key', API_KEY)
        .set('Content-Type', 'application/json')
        .send(deep)
        .expect(400);

      expect(res.body.message).toMatch(/^The body nests objects and arrays deeper than 64 levels, in "ids"/);
    });
  });
});
