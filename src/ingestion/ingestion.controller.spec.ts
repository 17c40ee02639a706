import { INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { FakeKafkaProducer } from '../kafka/testing/fake-kafka.producer';
import { IngestionController } from './ingestion.controller';
import { ingestProviders, SIGNING_KEY, standardWebhookHeaders } from './testing/ingest-app';

const API_KEY = 'k'.repeat(16);
const SOURCES = `sources:
  hooks:
    signature: { scheme: standard-webhooks, secrets: ["\${HOOKS_SECRET}"] }
  clicks: { peakEventsPerSecond: 2000 }
  orders:
    bucket: 10m
    onInvalid: quarantine
    schema: { type: object, required: [amount], properties: { amount: { type: number } } }
`;

/** POST /ingest wired as the app wires it (the global API-key guard, the exception filter, no body parser), over a fake Kafka. */
async function ingestApp(kafka: FakeKafkaProducer): Promise<INestApplication> {
  @Module({
    controllers: [IngestionController],
    providers: ingestProviders(kafka, SOURCES, API_KEY),
  })
  class IngestProbeModule {}

  const moduleRef = await Test.createTestingModule({ imports: [IngestProbeModule] }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
  app.setGlobalPrefix('api/v1');
  await app.init();
  return app;
}

const signed = (body: string | Buffer, { id = 'msg_http_1', key = SIGNING_KEY } = {}) => standardWebhookHeaders(body, id, key);

describe('POST /api/v1/ingest/{source} over HTTP, for signed and unsigned sources', () => {
  let app: INestApplication;
  let kafka: FakeKafkaProducer;
  // superagent would JSON-encode a Buffer sent as application/json; serialize(asIs) sends its bytes as they are.
  const asIs = (bytes: string | Buffer): string => bytes as string;
  const post = (source: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    request(app.getHttpServer()).post(`/api/v1/ingest/${source}`).set('Content-Type', 'application/json').set(headers).serialize(asIs).send(body);

  beforeEach(async () => {
    kafka = new FakeKafkaProducer();
    app = await ingestApp(kafka);
  });
  afterEach(() => app.close());

  it('accepts a signed delivery without an API key, the signature checked on the bytes as sent', async () => {
    // Indented, with non-ASCII text and a trailing newline: any re-serialisation would break the signature.
    const body = '{\n  "customer": "Zoë Ŝmith",\n  "amount": 12.50\n}\n';

    const res = await post('hooks', body, signed(body)).expect(202);

    expect(res.body.accepted).toBe(1);
    expect(kafka.publish).toHaveBeenCalledTimes(1);
    expect(JSON.parse(kafka.publish.mock.calls[0][1][0].value).payload).toEqual({ customer: 'Zoë Ŝmith', amount: 12.5 });
  });

  it('accepts a gzip-compressed signed delivery, the signature checked on the compressed bytes as sent', async () => {
    const body = gzipSync('[{"n":1},{"n":2}]');

    const res = await post('hooks', body, { ...signed(body), 'Content-Encoding': 'gzip' }).expect(202);

    expect(res.body.accepted).toBe(2);
    expect(kafka.publish.mock.calls[0][1].map((m) => JSON.parse(m.value).payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('marks the answer to a redelivery Idempotent-Replayed, and the first answer not', async () => {
    const body = '{"n":1}';

    const first = await post('hooks', body, signed(body, { id: 'msg_twice' })).expect(202);
    const again = await post('hooks', body, signed(body, { id: 'msg_twice' })).expect(202);
    const keyed = await post('clicks', body, { 'X-API-Key': API_KEY, 'Idempotency-Key': 'k-1' }).expect(202);

    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(keyed.headers['idempotent-replayed']).toBeUndefined();
    expect(kafka.publish).toHaveBeenCalledTimes(2);
  });

  it('answers 401 in the one error shape to a bad signature, and publishes nothing', async () => {
    const res = await post('hooks', '{"n":1}', signed('{"n":1}', { key: Buffer.from('another key') })).expect(401);

    expect(res.body).toMatchObject({
      statusCode: 401,
      error: 'Unauthorized',
      message: expect.stringMatching(/^No signature in webhook-signature matches/),
      details: [{ source: 'hooks', scheme: 'standard-webhooks', problem: 'no_match' }],
    });
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('refuses, for a signed source, a request with a valid API key but no signature', async () => {
    const res = await post('hooks', '{"n":1}', { 'X-API-Key': API_KEY }).expect(401);

    expect(res.body.details).toEqual([{ source: 'hooks', scheme: 'standard-webhooks', problem: 'missing_header' }]);
    expect(res.body.message).toContain('an API key does not replace the signature');
  });

  it('still needs the API key for an unsigned source, signed or not', async () => {
    expect((await post('clicks', '{"n":1}').expect(401)).body.message).toMatch(/^Missing API key/);
    expect((await post('clicks', '{"n":1}', signed('{"n":1}')).expect(401)).body.message).toMatch(/^Missing API key/);
    await post('clicks', '{"n":1}', { 'X-API-Key': API_KEY }).expect(202);
  });

  it('answers 401, not 404, for an unknown source without a key', async () => {
    expect((await post('payments', '{"n":1}', signed('{"n":1}')).expect(401)).body.message).toMatch(/^Missing API key/);
    await post('payments', '{"n":1}', { 'X-API-Key': API_KEY }).expect(404);
  });

  it('refuses X-API-Key and a bearer token that carry different keys', async () => {
    const res = await post('clicks', '{"n":1}', { 'X-API-Key': API_KEY, Authorization: 'Bearer another-key-0123456789' }).expect(401);

    expect(res.body.message).toBe('X-API-Key and Authorization carry different keys');
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('answers 202 for a quarantining source with the quarantined events and why, after one publish to both topics', async () => {
    const res = await post('orders', '[{"amount":1},{"amount":"one"}]', { 'X-API-Key': API_KEY }).expect(202);

    expect(res.body).toEqual({
      accepted: 1,
      eventIds: [expect.any(String), expect.any(String)],
      quarantined: 1,
      quarantinedEvents: [{ index: 1, eventId: res.body.eventIds[1], reasons: [{ field: '/amount', message: 'must be number' }] }],
    });
    expect(kafka.publishAll).toHaveBeenCalledTimes(1);
    expect(kafka.publishAll.mock.calls[0][0].map((b) => b.topic)).toEqual(['ingest.orders', 'ingest.orders.dlq']);
  });

  it('documents the 503 of a full bound of bytes in flight beside those of Kafka and Cassandra, and keeps the other answers', () => {
    const doc = SwaggerModule.createDocument(app, new DocumentBuilder().build());
    const responses = doc.paths['/api/v1/ingest/{source}'].post!.responses as Record<string, { description: string }>;

    expect(Object.keys(responses).sort()).toEqual(['202', '400', '401', '404', '409', '410', '413', '415', '422', '429', '503']);
    expect(responses['503'].description).toMatch(/upstream names Kafka or Cassandra/);
    expect(responses['503'].description).toMatch(/INGEST_MAX_BYTES_IN_FLIGHT.*INGEST_ADMISSION_WAIT_MS.*the body was not read/);
    expect(responses['401'].description).toMatch(/^Missing or invalid API key/);
  });
});
