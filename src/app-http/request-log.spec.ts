import { INestApplication, Module, RequestMethod } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { LoggerModule } from 'nestjs-pino';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { requestContext } from '../common/http/request-context';
import { validationPipe } from '../common/http/validation.pipe';
import { pinoHttpOptions } from '../common/logging/logger.module';
import { testConfig } from '../common/testing/config';
import { send } from '../common/testing/hot-parity';
import { ingestRoute } from '../ingestion/ingest.route';
import { IngestionController } from '../ingestion/ingestion.controller';
import { IngestionService } from '../ingestion/ingestion.service';
import { ingestProviders } from '../ingestion/testing/ingest-app';
import { FakeKafkaProducer } from '../kafka/testing/fake-kafka.producer';
import { serveHotRoutes } from './hot-routes';

const KEY = 'k'.repeat(16);

describe('the request log line', () => {
  let app: INestApplication;
  let port: number;
  let kafka: FakeKafkaProducer;
  const lines: Record<string, unknown>[] = [];

  beforeEach(async () => {
    lines.length = 0;
    kafka = new FakeKafkaProducer();
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')));
        done();
      },
    });
    @Module({
      imports: [
        LoggerModule.forRoot({
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
          pinoHttp: [pinoHttpOptions(testConfig({ LOG_LEVEL: 'info' })), capture],
        }),
      ],
      controllers: [IngestionController],
      providers: [...ingestProviders(kafka, 'sources:\n  clicks: {}\n', KEY), { provide: APP_PIPE, useValue: validationPipe() }],
    })
    class LoggedIngestModule {}
    const moduleRef = await Test.createTestingModule({ imports: [LoggedIngestModule] }).compile();
    app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
    serveHotRoutes(app, 'api/v1', [ingestRoute(app.get(IngestionService))]);
    app.use(requestContext);
    app.setGlobalPrefix('api/v1');
    await app.listen(0, '127.0.0.1');
    port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
  });
  afterEach(async () => {
    (app.getHttpServer() as Server).closeAllConnections();
    await app.close();
  });

  /** The request log lines of one request sent to the hot route and, with a trailing slash, through Express. */
  async function logged(headers: Record<string, string>): Promise<Record<string, unknown>[]> {
    for (const path of ['/api/v1/ingest/clicks', '/api/v1/ingest/clicks/']) {
      await send(port, 'POST', path, { 'Content-Type': 'application/json', 'X-Request-Id': 'req-log', ...headers }, '{"n":1}');
    }
    // pino-http writes its line once the response finished, which the client may see first.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return lines.filter((line) => line.msg === 'request completed');
  }

  const LEVELS: Record<string, number> = { info: 30, warn: 40, error: 50 };
  const shape = (status: number, level: string, path: string, extra: object = {}) => ({
    level: LEVELS[level],
    req: { id: 'req-log', method: 'POST', url: path },
    res: { statusCode: status },
    responseTime: expect.any(Number),
    msg: 'request completed',
    ...extra,
  });

  it.each([
    ['202 at info', { 'X-API-Key': KEY }, 202, 'info'],
    ['401 at warn', {}, 401, 'warn'],
  ])('%s, the same shape on the hot route and through Express', async (_case, headers, status, level) => {
    const [hot, nest, ...more] = await logged(headers);

    expect(more).toEqual([]);
    expect(hot).toEqual(expect.objectContaining(shape(status, level, '/api/v1/ingest/clicks')));
    expect(nest).toEqual(expect.objectContaining(shape(status, level, '/api/v1/ingest/clicks/')));
    expect(
      Object.keys(hot)
        .filter((k) => k !== 'url')
        .sort(),
    ).toEqual(Object.keys(nest).sort());
  });

  it("503 of a dependency's outage: once, at warn, naming the dependency, with no made-up error", async () => {
    kafka.publish.mockRejectedValue(new UpstreamUnavailableError('Kafka', 'Kafka is unavailable'));

    const [hot, nest, ...more] = await logged({ 'X-API-Key': KEY });

    expect(more).toEqual([]);
    expect(hot).toEqual(expect.objectContaining(shape(503, 'warn', '/api/v1/ingest/clicks', { upstream: 'Kafka' })));
    expect(nest).toEqual(expect.objectContaining(shape(503, 'warn', '/api/v1/ingest/clicks/', { upstream: 'Kafka' })));
    expect(nest.err).toBeUndefined();
    expect(lines.filter((line) => line.level === LEVELS.error)).toEqual([]);
  });
});
