import { INestApplication, Module } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { serveHotRoutes } from '../app-http/hot-routes';
import { requestContext } from '../common/http/request-context';
import { hotAndNest, observed, send as sendRequest } from '../common/testing/hot-parity';
import { securityHeaders } from '../common/http/security-headers';
import { validationPipe } from '../common/http/validation.pipe';
import { FakeKafkaProducer } from '../kafka/testing/fake-kafka.producer';
import { httpMetrics, UNMATCHED } from '../metrics/http-metrics.middleware';
import { MeteredExpressAdapter } from '../metrics/metered-express.adapter';
import { MetricsService } from '../metrics/metrics.service';
import { metricValue } from '../metrics/testing/metric-value';
import { ingestRoute } from './ingest.route';
import { IngestionController } from './ingestion.controller';
import { IngestionService } from './ingestion.service';
import { ingestProviders, SIGNING_KEY, standardWebhookHeaders } from './testing/ingest-app';
import { InMemoryApiKeysRepository } from '../cassandra/testing/in-memory-api-keys.repository';
import { storedKey } from '../access/testing/access';

const KEY = 'k'.repeat(16);
const SOURCES = `sources:
  hooks:
    signature: { scheme: standard-webhooks, secrets: ["\${HOOKS_SECRET}"] }
  clicks: {}
  small:
    maxBodyBytes: 16
  limited:
    rateLimit: { requestsPerSecond: 1, burst: 1 }
  metered:
    rateLimit: { eventsPerSecond: 2, burst: 2 }
`;
const ROUTE = '/api/v1/ingest/:source';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The ingest route as apps/api/bootstrap.ts wires it: the hot route ahead of Express, then the
 * request id and metrics middleware, the controller behind the global guard and exception filter.
 * A last middleware of the test records what reached Express, so a test can tell who answered.
 */
async function ingestApp(
  kafka: FakeKafkaProducer,
  keys: InMemoryApiKeysRepository,
  env: Record<string, string> = {},
): Promise<{ app: INestApplication; port: number; reachedExpress: string[] }> {
  @Module({
    controllers: [IngestionController],
    providers: [...ingestProviders(kafka, SOURCES, KEY, keys, env), { provide: APP_PIPE, useValue: validationPipe() }],
  })
  class IngestRouteProbeModule {}

  const moduleRef = await Test.createTestingModule({ imports: [IngestRouteProbeModule] }).compile();
  const app = moduleRef.createNestApplication(new MeteredExpressAdapter(), { bodyParser: false, logger: false });
  serveHotRoutes(app, 'api/v1', [ingestRoute(app.get(IngestionService))]);
  const reachedExpress: string[] = [];
  app.use(requestContext);
  app.use(securityHeaders);
  app.use(httpMetrics(app.get(MetricsService)));
  app.use((req: { method: string; originalUrl: string }, _res: unknown, next: () => void) => {
    reachedExpress.push(`${req.method} ${req.originalUrl}`);
    next();
  });
  const express = app.getHttpAdapter().getInstance();
  express.disable('x-powered-by');
  express.disable('etag');
  app.setGlobalPrefix('api/v1');
  await app.listen(0, '127.0.0.1');
  const port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
  return { app, port, reachedExpress };
}

/** Standard-webhooks headers signing `body` with the sender's key (or another). */
const signed = (body: string | Buffer, { id = 'msg_1', key = SIGNING_KEY } = {}) => standardWebhookHeaders(body, id, key);

describe('POST /api/v1/ingest/{source} served ahead of Express', () => {
  let app: INestApplication;
  let port: number;
  let reachedExpress: string[];
  let kafka: FakeKafkaProducer;
  let ingest: jest.SpyInstance;
  /** Scoped keys: one that may ingest into clicks, one into every source, one that may only read. */
  const keys = new InMemoryApiKeysRepository();
  const scoped: Record<'clicks' | 'anySource' | 'reader', string> = { clicks: '', anySource: '', reader: '' };

  beforeAll(async () => {
    scoped.clicks = (await storedKey(keys, 'clicks sender', ['ingest:clicks'])).key;
    scoped.anySource = (await storedKey(keys, 'any sender', ['ingest:*'])).key;
    scoped.reader = (await storedKey(keys, 'reader', ['read:*', 'operate'])).key;
  });

  const send = (method: string, path: string, headers: Record<string, string> = {}, body: string | Buffer = '') =>
    sendRequest(port, method, path, headers, body);
  const post = (source: string, headers: Record<string, string> = {}, body: string | Buffer = '{"n":1}') =>
    send('POST', `/api/v1/ingest/${source}`, { 'Content-Type': 'application/json', ...headers }, body);

  /** The same request to the lean route and, through Express, to the controller (see hotAndNest). */
  const leanAndNest = (source: string, headers: Record<string, string> = {}, body: string | Buffer = '{"n":1}') =>
    hotAndNest(port, reachedExpress, 'POST', `/api/v1/ingest/${source}`, { 'Content-Type': 'application/json', ...headers }, body);

  const requests = (labels: Record<string, string>) => metricValue(app.get(MetricsService), 'http_requests_total', labels);

  /**
   * Announces a 1 MB body but sends only its first 16 kB: an answer can only come from a server that
   * did not wait for the body. Resolves to the status, the Connection header and whether the server closed the socket.
   */
  const refusedUnread = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; connection?: string; closed: boolean }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(1024 * 1024), ...headers },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => {
          const socket = req.socket;
          const closed = socket === null || socket.destroyed || !socket.writable;
          resolve({ status: res.statusCode!, connection: res.headers.connection, closed: closed || res.headers.connection === 'close' });
        });
      });
      req.on('error', reject);
      req.write(Buffer.alloc(16 * 1024, 0x20));
    });

  beforeEach(async () => {
    kafka = new FakeKafkaProducer();
    ({ app, port, reachedExpress } = await ingestApp(kafka, keys));
    ingest = jest.spyOn(app.get(IngestionService), 'ingest');
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    // A request a failed test left waiting must not hold up the close.
    (app.getHttpServer() as Server).closeAllConnections();
    await app.close();
  });

  describe('answers what the controller answers', () => {
    it('202: the body, Content-Type, Content-Length and the echoed X-Request-Id, after one publish each', async () => {
      const [lean, nest] = await leanAndNest('clicks', { 'X-API-Key': KEY, 'X-Request-Id': 'req-202' }, '[{"n":1},{"n":2}]');

      expect(lean.status).toBe(202);
      expect(lean.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(lean.headers['x-request-id']).toBe('req-202');
      expect(lean.headers['content-length']).toBe(String(Buffer.byteLength(lean.text)));
      expect(lean.headers['idempotent-replayed']).toBeUndefined();
      expect(lean.body).toEqual({ accepted: 2, eventIds: [expect.any(String), expect.any(String)] });
      expect(observed(lean)).toEqual(observed(nest));
      expect(kafka.publish).toHaveBeenCalledTimes(2);
      expect(kafka.publish.mock.calls[0][1].map((m) => JSON.parse(m.value).payload)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(kafka.publish.mock.calls[0][0]).toBe('ingest.clicks');
    });

    it('202 for the key as a bearer token, and for the same key in both headers', async () => {
      for (const headers of [{ Authorization: `Bearer ${KEY}` }, { 'X-API-Key': KEY, Authorization: `bearer ${KEY}` }] as Record<string, string>[]) {
        const [lean, nest] = await leanAndNest('clicks', { ...headers, 'X-Request-Id': 'req-bearer' });

        expect(lean.status).toBe(202);
        expect(observed(lean)).toEqual(observed(nest));
      }
    });

    it('gives a request without a sane X-Request-Id an id of its own, in the header', async () => {
      for (const given of [{}, { 'X-Request-Id': 'not a sane id' }, { 'X-Request-Id': 'r'.repeat(129) }] as Record<string, string>[]) {
        const [lean, nest] = await leanAndNest('clicks', { 'X-API-Key': KEY, ...given }, '{');
        const ids = [lean.headers['x-request-id'], nest.headers['x-request-id']];

        expect(lean.status).toBe(400);
        expect(ids).toEqual([expect.stringMatching(UUID), expect.stringMatching(UUID)]);
        expect(ids[0]).not.toBe(ids[1]);
        expect([lean.body?.requestId, nest.body?.requestId]).toEqual(ids);
      }
    });

    it('replays an answered Idempotency-Key with Idempotent-Replayed: true, whichever route answered first', async () => {
      const headers = { 'X-API-Key': KEY, 'Idempotency-Key': 'key-1', 'X-Request-Id': 'req-replay' };

      const first = await post('clicks', headers);
      const [lean, nest] = await leanAndNest('clicks', headers);

      expect(first.status).toBe(202);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(lean.status).toBe(202);
      expect(lean.headers['idempotent-replayed']).toBe('true');
      expect(lean.body).toEqual(first.body);
      expect(nest.body).toEqual(first.body);
      expect(observed(lean)).toEqual(observed(nest));
      expect(kafka.publish).toHaveBeenCalledTimes(1);
    });

    it.each([
      ['no key', {}, /^Missing API key/],
      ['a wrong key', { 'X-API-Key': 'wrong-key-0123456789' }, /^Invalid API key$/],
      ['a wrong bearer token', { Authorization: 'Bearer wrong-key-0123456789' }, /^Invalid API key$/],
      [
        'X-API-Key and a bearer token that differ',
        { 'X-API-Key': KEY, Authorization: 'Bearer wrong-key-0123456789' },
        /^X-API-Key and Authorization carry different keys$/,
      ],
      [
        'X-API-Key beside an Authorization that is no bearer token',
        { 'X-API-Key': KEY, Authorization: `Basic ${KEY}` },
        /^Authorization must be "Bearer <key>"/,
      ],
    ])('401 for %s, publishing nothing', async (_case, credentials, message) => {
      const [lean, nest] = await leanAndNest('clicks', { ...credentials, 'X-Request-Id': 'req-401' });

      expect(lean.status).toBe(401);
      expect(lean.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(message), requestId: 'req-401' });
      expect(observed(lean)).toEqual(observed(nest));
      expect(ingest).not.toHaveBeenCalled();
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it('202 for a scoped key holding ingest on the source (or on every source)', async () => {
      for (const key of [scoped.clicks, scoped.anySource]) {
        const [lean, nest] = await leanAndNest('clicks', { 'X-API-Key': key, 'X-Request-Id': 'req-scoped' });

        expect(lean.status).toBe(202);
        expect(observed(lean)).toEqual(observed(nest));
      }
      // Two keys, each sent to the hot route and to the controller.
      expect(kafka.publish).toHaveBeenCalledTimes(4);
    });

    it.each([
      ['a key for another source', 'small', () => scoped.clicks, 'ingest:small'],
      ['a key that may only read and operate', 'clicks', () => scoped.reader, 'ingest:clicks'],
    ])('403 naming the scope for %s, publishing nothing', async (_case, source, key, scope) => {
      const [lean, nest] = await leanAndNest(source, { Authorization: `Bearer ${key()}`, 'X-Request-Id': 'req-403' });

      expect(lean.status).toBe(403);
      expect(lean.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: `This key does not hold the scope this route requires: ${scope}`,
        details: [{ field: 'scope', message: `requires ${scope}` }],
        requestId: 'req-403',
      });
      expect(observed(lean)).toEqual(observed(nest));
      expect(ingest).not.toHaveBeenCalled();
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it('202 for a signed delivery without an API key, the signature checked on the bytes as sent', async () => {
      const body = gzipSync('{"customer": "Zoë"}\n');
      const headers = { 'Content-Encoding': 'gzip', 'X-Request-Id': 'req-signed' };

      const lean = await post('hooks', { ...headers, ...signed(body, { id: 'msg_lean' }) }, body);
      const nest = await post('hooks/', { ...headers, ...signed(body, { id: 'msg_nest' }) }, body);

      expect(lean.status).toBe(202);
      expect(observed(lean)).toEqual(observed(nest));
      expect(reachedExpress).toEqual(['POST /api/v1/ingest/hooks/']);
      expect(JSON.parse(kafka.publish.mock.calls[0][1][0].value).payload).toEqual({ customer: 'Zoë' });
    });

    it.each([
      // Refused before the body is read (SignaturePrecheck): the service is not called.
      ['without a signature, an API key does not replace it', { 'X-API-Key': KEY }, 'missing_header', 0],
      ['with a bad signature and no key', signed('{"n":1}', { key: Buffer.from('another key') }), 'no_match', 2],
    ])('401 from the signature check for a signed source %s', async (_case, headers, problem, ingested) => {
      const [lean, nest] = await leanAndNest('hooks', { ...headers, 'X-Request-Id': 'req-sig' });

      expect(lean.status).toBe(401);
      expect(lean.body).toMatchObject({ statusCode: 401, requestId: 'req-sig', details: [{ source: 'hooks', scheme: 'standard-webhooks', problem }] });
      expect(observed(lean)).toEqual(observed(nest));
      expect(ingest).toHaveBeenCalledTimes(ingested);
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it('carries nosniff and no-store on every answer, as the Express path does', async () => {
      const [lean, nest] = await leanAndNest('clicks', { 'X-API-Key': KEY });

      for (const answer of [lean, nest]) {
        expect(answer.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
      }
    });

    it('401 for a signed source sent keys that disagree, before the signature is looked at', async () => {
      const headers = { ...signed('{"n":1}'), 'X-API-Key': KEY, Authorization: 'Bearer another-key-0123456789', 'X-Request-Id': 'req-keys' };

      const [lean, nest] = await leanAndNest('hooks', headers);

      expect(lean.status).toBe(401);
      expect(lean.body?.message).toBe('X-API-Key and Authorization carry different keys');
      expect(observed(lean)).toEqual(observed(nest));
      expect(ingest).not.toHaveBeenCalled();
    });

    it('401, not 404, for an unknown source without a key; 404 with one', async () => {
      const [noKey, noKeyNest] = await leanAndNest('payments', { ...signed('{"n":1}'), 'X-Request-Id': 'req-unknown' });
      const [lean, nest] = await leanAndNest('orders', { 'X-API-Key': KEY, 'X-Request-Id': 'req-unknown' });

      expect(noKey.status).toBe(401);
      expect(noKey.body?.message).toMatch(/^Missing API key/);
      expect(observed(noKey)).toEqual(observed(noKeyNest));
      expect(lean.status).toBe(404);
      expect(lean.body).toEqual({ statusCode: 404, error: 'Not Found', message: expect.stringContaining('orders'), requestId: 'req-unknown' });
      expect(observed(lean)).toEqual(observed(nest));
    });

    it.each([
      ['400 for a body that is not JSON', {}, '{"n":', 400, {}],
      ['400 with details for a bad NDJSON line', { 'Content-Type': 'application/x-ndjson' }, '{"n":1}\n{"n":\n', 400, { details: [{ line: 2 }] }],
      ['400 for an empty body', {}, '', 400, {}],
      ['400 for a bad Idempotency-Key', { 'Idempotency-Key': 'has spaces' }, '{"n":1}', 400, {}],
      ['400 for a corrupt gzip body', { 'Content-Encoding': 'gzip' }, 'not gzip', 400, {}],
      ['415 for a content type it does not read', { 'Content-Type': 'text/plain' }, '{"n":1}', 415, {}],
      ['415 for a content encoding it does not undo', { 'Content-Encoding': 'br' }, '{"n":1}', 415, {}],
    ])('%s, in the one error shape', async (_case, headers, body, status, extra) => {
      const [lean, nest] = await leanAndNest('clicks', { 'X-API-Key': KEY, 'X-Request-Id': 'req-err', ...headers }, body);

      expect(lean.status).toBe(status);
      expect(lean.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(lean.body).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String), requestId: 'req-err', ...extra });
      expect(observed(lean)).toEqual(observed(nest));
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it("415 for an encoding names the ones it takes in Accept-Encoding, as the controller's answer does", async () => {
      const [lean, nest] = await leanAndNest('clicks', { 'X-API-Key': KEY, 'Content-Encoding': 'br' });

      expect(lean.headers['accept-encoding']).toBe('gzip, deflate');
      expect(nest.headers['accept-encoding']).toBe('gzip, deflate');
    });

    it("413 for a body over the source's limit", async () => {
      const [lean, nest] = await leanAndNest('small', { 'X-API-Key': KEY, 'X-Request-Id': 'req-413' }, `[${'{"n":1},'.repeat(4)}{"n":1}]`);

      expect(lean.status).toBe(413);
      expect(lean.body).toEqual({
        statusCode: 413,
        error: 'Payload Too Large',
        message: expect.stringMatching(/^The body is larger than 16 bytes/),
        requestId: 'req-413',
      });
      expect(observed(lean)).toEqual(observed(nest));
    });

    it("429 past the source's requestsPerSecond, whichever key sends, with Retry-After and the RateLimit fields", async () => {
      // The bucket holds one request and refills in a second, longer than the requests below take.
      expect((await post('limited', { 'X-API-Key': KEY })).status).toBe(202);
      kafka.publish.mockClear();

      const [lean, nest] = await leanAndNest('limited', { 'X-API-Key': scoped.anySource, 'X-Request-Id': 'req-429' });

      expect(lean.status).toBe(429);
      expect(lean.headers['retry-after']).toBe('1');
      expect(lean.headers['ratelimit-policy']).toBe('"source";q=1;w=1');
      expect(lean.headers['ratelimit']).toBe('"source";r=0;t=1');
      expect(lean.body).toEqual({
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'source limited may send 1 requests per second: retry in 1 s',
        details: [{ field: 'rateLimit.requestsPerSecond', message: '1 requests per second', limit: 1, retryAfterSeconds: 1 }],
        requestId: 'req-429',
      });
      expect(observed(lean)).toEqual(observed(nest));
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it("429 once a batch took the source's events, before the next body is read, nothing published", async () => {
      // Three events in a bucket of two: it passes on a full bucket and leaves it owing one.
      expect((await post('metered', { 'X-API-Key': KEY }, '[{"n":1},{"n":2},{"n":3}]')).status).toBe(202);
      kafka.publish.mockClear();

      const [lean, nest] = await leanAndNest('metered', { 'X-API-Key': KEY, 'X-Request-Id': 'req-429-events' }, '[{"n":1}]');

      expect(lean.status).toBe(429);
      expect(lean.headers['ratelimit-policy']).toBe('"source-events";q=2;w=1');
      expect(lean.headers['ratelimit']).toBe(`"source-events";r=0;t=${lean.headers['retry-after']}`);
      expect(lean.body?.details).toEqual([expect.objectContaining({ field: 'rateLimit.eventsPerSecond', limit: 2 })]);
      expect(observed(lean)).toEqual(observed(nest));
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it('422 for an answered Idempotency-Key sent with another body', async () => {
      const headers = { 'X-API-Key': KEY, 'Idempotency-Key': 'key-422', 'X-Request-Id': 'req-422' };
      expect((await post('clicks', headers, '{"n":1}')).status).toBe(202);

      const [lean, nest] = await leanAndNest('clicks', headers, '{"n":2}');

      expect(lean.status).toBe(422);
      expect(observed(lean)).toEqual(observed(nest));
    });

    it('409 with Retry-After for a key whose first request is still being published', async () => {
      let release: () => void = () => undefined;
      const publishing = new Promise<void>((started) =>
        kafka.publish.mockImplementationOnce(() => {
          started();
          return new Promise<void>((resolve) => (release = resolve));
        }),
      );
      const headers = { 'X-API-Key': KEY, 'Idempotency-Key': 'key-409', 'X-Request-Id': 'req-409' };
      const first = post('clicks', headers);
      await publishing;

      try {
        const [lean, nest] = await leanAndNest('clicks', headers);

        expect(lean.status).toBe(409);
        expect(lean.headers['retry-after']).toEqual(expect.any(String));
        expect(observed(lean)).toEqual(observed(nest));
      } finally {
        release();
      }
      expect((await first).status).toBe(202);
    });

    it('503 naming Kafka when it does not acknowledge, counted as an upstream error', async () => {
      kafka.publish.mockRejectedValue(new UpstreamUnavailableError('Kafka', 'Kafka is unavailable'));

      const [lean, nest] = await leanAndNest('clicks', { 'X-API-Key': KEY, 'X-Request-Id': 'req-503' });

      expect(lean.status).toBe(503);
      expect(lean.body).toMatchObject({ statusCode: 503, upstream: 'Kafka', requestId: 'req-503' });
      expect(observed(lean)).toEqual(observed(nest));
      expect(await metricValue(app.get(MetricsService), 'pipeline_upstream_errors_total', { upstream: 'kafka', status: '503' })).toBe(2);
    });
  });

  describe('leaves every other request to Express', () => {
    it.each([
      ['GET', '/api/v1/ingest/clicks'],
      ['PUT', '/api/v1/ingest/clicks'],
      ['HEAD', '/api/v1/ingest/clicks'],
    ])('%s %s: 405 with Allow: POST', async (method, path) => {
      const res = await send(method, path, { 'X-API-Key': KEY, 'X-Request-Id': 'req-405' });

      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('POST');
      if (method !== 'HEAD')
        expect(res.body).toEqual({
          statusCode: 405,
          error: 'Method Not Allowed',
          message: `${method} is not allowed on ${path}; it answers POST`,
          requestId: 'req-405',
        });
      expect(reachedExpress).toEqual([`${method} ${path}`]);
      expect(ingest).not.toHaveBeenCalled();
    });

    it.each(['/api/v1/ingest', '/api/v1/ingest/clicks/more', '/api/v1/nowhere', '/api/v2/ingest/clicks', '/ingest/clicks'])('POST %s: 404', async (path) => {
      const res = await send('POST', path, { 'X-API-Key': KEY, 'X-Request-Id': 'req-404' });

      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', requestId: 'req-404' });
      expect(reachedExpress).toEqual([`POST ${path}`]);
      expect(ingest).not.toHaveBeenCalled();
    });

    it('takes a query string; leaves another letter case, which Express also matches, to the controller', async () => {
      const upper = await send('POST', '/API/v1/Ingest/clicks', { 'X-API-Key': KEY, 'Content-Type': 'application/json' }, '{"n":1}');
      const query = await post('clicks?via=lean', { 'X-API-Key': KEY });

      expect(upper.status).toBe(202);
      expect(query.status).toBe(202);
      expect(reachedExpress).toEqual(['POST /API/v1/Ingest/clicks']);
      expect(ingest.mock.calls.map(([req]) => req.source)).toEqual(['clicks', 'clicks']);
    });
  });

  describe('the source name', () => {
    it('is given to the service decoded, as Express decodes the parameter', async () => {
      const [lean, nest] = await leanAndNest('cl%69cks', { 'X-API-Key': KEY, 'X-Request-Id': 'req-decoded' });
      const [slash, slashNest] = await leanAndNest('a%2Fb', { 'X-API-Key': KEY, 'X-Request-Id': 'req-decoded' });

      expect(lean.status).toBe(202);
      expect(observed(lean)).toEqual(observed(nest));
      expect(slash.status).toBe(404);
      expect(observed(slash)).toEqual(observed(slashNest));
      expect(ingest.mock.calls.map(([req]) => req.source)).toEqual(['clicks', 'clicks', 'a/b', 'a/b']);
    });

    it('decoded before it is asked whether the source is signed', async () => {
      const body = '{"n":1}';

      const res = await post('h%6Foks', signed(body), body);

      expect(res.status).toBe(202);
      expect(reachedExpress).toEqual([]);
      expect(ingest.mock.calls[0][0].source).toBe('hooks');
    });

    it('that does not decode is left to Express, which refuses it before the guard', async () => {
      const res = await post('%E0%A4%A', { 'X-Request-Id': 'req-undecodable' });

      expect(res.status).toBe(400);
      expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: "Failed to decode param '%E0%A4%A'", requestId: 'req-undecodable' });
      expect(reachedExpress).toEqual(['POST /api/v1/ingest/%E0%A4%A']);
      expect(ingest).not.toHaveBeenCalled();
    });
  });

  describe('refuses before reading the body', () => {
    it.each([
      ['an unsigned source without an API key', 'clicks', {}],
      ['an unsigned source with a wrong API key', 'clicks', { 'X-API-Key': 'x'.repeat(16) }],
      ['a signed source without its signature headers', 'hooks', {}],
    ])('401 with Connection: close for %s, on the hot route and through Express', async (_case, source, headers) => {
      for (const path of [`/api/v1/ingest/${source}`, `/api/v1/ingest/${source}/`]) {
        await expect(refusedUnread(path, headers)).resolves.toEqual({ status: 401, connection: 'close', closed: true });
      }
      expect(ingest).not.toHaveBeenCalled();
    });

    it('counts a signed delivery refused for missing headers as a bad signature', async () => {
      await post('hooks', {});

      expect(await metricValue(app.get(MetricsService), 'pipeline_events_rejected_total', { source: 'hooks', reason: 'bad_signature' })).toBe(1);
    });
  });

  describe('past INGEST_MAX_BYTES_IN_FLIGHT', () => {
    /** A batch whose JSON is exactly `bytes` long. */
    const batchOf = (bytes: number) => `[{"pad":"${'x'.repeat(bytes - '[{"pad":""}]'.length)}"}]`;
    const inFlight = () => metricValue(app.get(MetricsService), 'pipeline_ingest_bytes_in_flight');

    /** Sends a request of 1000 bytes, of a bound of 1024, and holds it in flight until the test lets Kafka acknowledge it. */
    async function holdOne(): Promise<{ ack: () => void; answer: Promise<{ status: number }> }> {
      let ack: () => void = () => undefined;
      const publishing = new Promise<void>((started) =>
        kafka.publish.mockImplementationOnce(() => {
          started();
          return new Promise<void>((resolve) => (ack = resolve));
        }),
      );
      const answer = post('clicks', { 'X-API-Key': KEY }, batchOf(1000));
      await publishing;
      return { ack: () => ack(), answer };
    }

    beforeEach(async () => {
      await app.close();
      ({ app, port, reachedExpress } = await ingestApp(kafka, keys, { INGEST_MAX_BYTES_IN_FLIGHT: '1024', INGEST_ADMISSION_WAIT_MS: '100' }));
    });

    it('503 with Retry-After and Connection: close, the body unread, once no room came in time, on the hot route and through Express', async () => {
      const held = await holdOne();

      try {
        for (const path of ['/api/v1/ingest/clicks', '/api/v1/ingest/clicks/']) {
          await expect(refusedUnread(path, { 'X-API-Key': KEY })).resolves.toEqual({ status: 503, connection: 'close', closed: true });
        }
        expect(await inFlight()).toBe(1000);
        expect(await metricValue(app.get(MetricsService), 'pipeline_events_rejected_total', { source: 'clicks', reason: 'bytes_in_flight' })).toBe(2);
      } finally {
        held.ack();
      }
      expect((await held.answer).status).toBe(202);
      expect(kafka.publish).toHaveBeenCalledTimes(1);
      expect(await inFlight()).toBe(0);
    });

    it('answers the 503 as the controller does, in the one error shape and without upstream', async () => {
      const held = await holdOne();

      try {
        const [lean, nest] = await leanAndNest('clicks', { 'X-API-Key': KEY, 'X-Request-Id': 'req-bound' }, batchOf(100));

        expect(lean.status).toBe(503);
        expect(lean.headers['retry-after']).toBe('1');
        expect(lean.body).toEqual({
          statusCode: 503,
          error: 'Service Unavailable',
          message: expect.stringMatching(/^Ingest is at its bound of 1024 bytes in flight \(INGEST_MAX_BYTES_IN_FLIGHT\) on this API process: /),
          requestId: 'req-bound',
        });
        expect(observed(lean)).toEqual(observed(nest));
      } finally {
        held.ack();
      }
      await held.answer;
    });

    it('lets a waiting request in once the one ahead is answered; a client gone while waiting holds nothing', async () => {
      const held = await holdOne();
      const rejected = (reason: string) => metricValue(app.get(MetricsService), 'pipeline_events_rejected_total', { reason });
      const headers = { 'X-API-Key': KEY, 'Content-Type': 'application/json', 'Content-Length': '500' };
      const gone = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/ingest/clicks', headers });
      gone.on('error', () => undefined);
      gone.flushHeaders();
      await new Promise((resolve) => setTimeout(resolve, 20));
      gone.destroy();
      const waiting = post('clicks', { 'X-API-Key': KEY }, batchOf(100));
      await new Promise((resolve) => setTimeout(resolve, 20));

      // Dropped from the line as it left, while the first request still holds its bytes.
      expect(await rejected('unreadable_body')).toBe(1);
      expect(await inFlight()).toBe(1000);
      held.ack();

      expect((await waiting).status).toBe(202);
      expect((await held.answer).status).toBe(202);
      expect(await inFlight()).toBe(0);
      expect(await rejected('bytes_in_flight')).toBe(0);
    });
  });

  describe('http_requests_total', () => {
    it('counts each request the lean route answered once, under the route pattern, as the controller is counted', async () => {
      await post('clicks', { 'X-API-Key': KEY });
      await post('clicks');
      await post('clicks/', { 'X-API-Key': KEY });

      expect(await requests({ route: ROUTE, method: 'POST', status: '202' })).toBe(2);
      expect(await requests({ route: ROUTE, method: 'POST', status: '401' })).toBe(1);
      expect(await requests({})).toBe(3);
      expect(await metricValue(app.get(MetricsService), 'http_request_duration_seconds_count', { route: ROUTE })).toBe(3);
      expect(reachedExpress).toEqual(['POST /api/v1/ingest/clicks/']);
    });

    it('counts what Express answered as before', async () => {
      await send('GET', '/api/v1/ingest/clicks', { 'X-API-Key': KEY });
      await send('POST', '/api/v1/nowhere', { 'X-API-Key': KEY });

      expect(await requests({ route: UNMATCHED, method: 'GET', status: '405' })).toBe(1);
      expect(await requests({ route: UNMATCHED, method: 'POST', status: '404' })).toBe(1);
      expect(await requests({})).toBe(2);
    });
  });
});
