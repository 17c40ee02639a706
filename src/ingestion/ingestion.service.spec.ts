import { createHash, createHmac } from 'node:crypto';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  UnprocessableEntityError,
  UnsupportedMediaTypeError,
  UpstreamUnavailableError,
} from '../common/errors/errors';
import { InMemoryIdempotencyRepository } from '../cassandra/testing/in-memory-idempotency.repository';
import { InMemoryApiKeysRepository } from '../cassandra/testing/in-memory-api-keys.repository';
import { InMemoryRateLimitUsageRepository } from '../cassandra/testing/in-memory-rate-limit-usage.repository';
import { KeyRing } from '../access/key-ring';
import { RateLimiter } from '../access/rate-limiter';
import { AppConfig } from '../common/config/app-config';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
import { FakeKafkaProducer } from '../kafka/testing/fake-kafka.producer';
import { MetricsService } from '../metrics/metrics.service';
import { metricValue } from '../metrics/testing/metric-value';
import { EventEnvelope } from '../common/envelope/envelope';
import { IdempotentRequests } from './idempotent-requests';
import { IngestionService, IngestRequest } from './ingestion.service';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const JSON_TYPE = 'application/json';

function setup(env: Record<string, string> = {}) {
  const config = testConfig({ SOURCES_FILE: join(__dirname, '../../config/sources.yaml'), ...env });
  return services(new SourcesRegistry(config), config);
}

/**
 * The service over the fakes: `ingestion` itself, and `service`, which answers the response body
 * alone (what most tests look at); `keys` is the idempotency table.
 */
function services(sources: SourcesRegistry, config: AppConfig) {
  const kafka = new FakeKafkaProducer();
  const metrics = new MetricsService();
  const keys = new InMemoryIdempotencyRepository();
  const limiter = new RateLimiter(new InMemoryRateLimitUsageRepository().repository, config, new KeyRing(new InMemoryApiKeysRepository().repository, config));
  const ingestion = new IngestionService(sources, kafka.producer, metrics, new IdempotentRequests(keys.repository, config), config, limiter);
  const service = { ingest: async (req: IngestRequest) => (await ingestion.ingest(req)).response };
  return { service, ingestion, kafka, metrics, keys };
}

/** The shop's orders source of config/sources.yaml, as a source that refuses invalid events. */
const REJECTING_ORDERS = `sources:
  orders:
    keyField: order_id
    onInvalid: reject
    schema:
      type: object
      required: [order_id, amount, currency]
      properties:
        order_id: { type: string, minLength: 1 }
        amount: { type: number, minimum: 0 }
        currency: { type: string, pattern: '^[A-Z]{3}$' }
`;

function setupWith(yaml: string) {
  return services(sourcesRegistry(yaml), testConfig());
}

/** A request body as the HTTP layer hands it over: a stream not read yet, which remembers whether anyone read it. */
function bodyOf(bytes: Buffer | string): Readable & { wasRead: () => boolean } {
  let read = false;
  const data = Buffer.from(bytes);
  const stream = new Readable({
    read() {
      read = true;
      this.push(data);
      this.push(null);
    },
  });
  return Object.assign(stream, { wasRead: () => read });
}

const jsonRequest = (source: string, events: unknown, extra: Partial<IngestRequest> = {}): IngestRequest => ({
  source,
  body: bodyOf(JSON.stringify(events)),
  contentType: JSON_TYPE,
  ...extra,
});

/** The messages handed to the single publish call, with their envelopes parsed. */
function published(kafka: FakeKafkaProducer) {
  expect(kafka.publish).toHaveBeenCalledTimes(1);
  const [topic, messages] = kafka.publish.mock.calls[0];
  return { topic, messages: messages.map((m) => ({ ...m, envelope: JSON.parse(m.value) as EventEnvelope })) };
}

describe('IngestionService.ingest', () => {
  it("splices a single object's text, and each NDJSON line, into its envelope as sent (the same JSON as the parsed payload)", async () => {
    const { service, kafka } = setup();
    const text = (source: string, body: string, contentType: string): IngestRequest => ({ source, body: bodyOf(body), contentType });
    const sent = '\n { "order_id" : "o-\\"1\\"",\n  "amount": 1.50, "currency": "EUR", "big": 12345678901234567890 }\n';

    const result = await service.ingest(text('orders', sent, JSON_TYPE));

    const [, [message]] = kafka.publish.mock.calls[0];
    const envelope = JSON.parse(message.value) as EventEnvelope;
    expect(message.value).toBe(
      `{"eventId":"${result.eventIds[0]}","source":"orders","receivedAt":"${envelope.receivedAt}","key":"o-\\"1\\"","payload":${sent.trim()}}`,
    );
    expect(envelope).toEqual({ eventId: result.eventIds[0], source: 'orders', receivedAt: expect.any(String), key: 'o-"1"', payload: JSON.parse(sent) });

    const lines = '{"order_id":"o-2","amount":2,"currency":"EUR"}\r\n\n {"order_id":"o-3", "amount":3,"currency":"EUR"}\n';
    await service.ingest(text('orders', lines, 'application/x-ndjson'));
    const [, ndjson] = kafka.publish.mock.calls[1];
    expect(ndjson.map((m) => (JSON.parse(m.value) as EventEnvelope).payload)).toEqual([
      { order_id: 'o-2', amount: 2, currency: 'EUR' },
      { order_id: 'o-3', amount: 3, currency: 'EUR' },
    ]);
    expect(ndjson[1].value).toContain('"payload":{"order_id":"o-3", "amount":3,"currency":"EUR"}}');
  });

  it('publishes one enveloped message per event to the source topic, keyed by the keyField', async () => {
    const { service, kafka } = setup();
    const users = [
      { name: 'Ada', email: 'ada@example.com' },
      { name: 'Grace', email: 'grace@example.com' },
    ];
    const before = Date.now();

    const result = await service.ingest(jsonRequest('users', users));

    const { topic, messages } = published(kafka);
    expect(topic).toBe('users_created');
    expect(messages).toHaveLength(2);
    messages.forEach((message, i) => {
      const { envelope } = message;
      expect(envelope).toEqual({
        eventId: result.eventIds[i],
        source: 'users',
        receivedAt: expect.any(String),
        key: users[i].email,
        payload: users[i],
      });
      expect(envelope.eventId).toMatch(UUID_V7);
      expect(new Date(envelope.receivedAt).toISOString()).toBe(envelope.receivedAt);
      expect(Date.parse(envelope.receivedAt)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(envelope.receivedAt)).toBeLessThanOrEqual(Date.now());
      expect(message.key).toBe(users[i].email);
      // A request without a trace (one reaching the service without the HTTP layer's) carries the source alone.
      expect(message.headers).toEqual({ 'pipeline-source': 'users' });
    });
  });

  it('answers the accepted count and the event ids in request order', async () => {
    const { service, kafka } = setup();

    const result = await service.ingest(jsonRequest('clicks', [{ n: 1 }, { n: 2 }, { n: 3 }]));

    const { messages } = published(kafka);
    expect(result.accepted).toBe(3);
    expect(result.eventIds).toEqual(messages.map((m) => m.envelope.eventId));
    expect(messages.map((m) => m.envelope.payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(new Set(result.eventIds).size).toBe(3);
    result.eventIds.forEach((id) => expect(id).toMatch(UUID_V7));
  });

  it('keys a message by its event id, and leaves key out of the envelope, when the source has no keyField', async () => {
    const { service, kafka } = setup();

    const { eventIds } = await service.ingest(jsonRequest('clicks', { page: '/home' }));

    const [message] = published(kafka).messages;
    expect(message.key).toBe(eventIds[0]);
    expect(message.envelope).not.toHaveProperty('key');
  });

  it('keys a message by its event id when the keyField is absent from the payload', async () => {
    const { service, kafka } = setup();

    const { eventIds } = await service.ingest(jsonRequest('users', { name: 'No Email' }));

    const [message] = published(kafka).messages;
    expect(message.key).toBe(eventIds[0]);
    expect(message.envelope).not.toHaveProperty('key');
  });

  it('reads NDJSON bodies', async () => {
    const { service, kafka } = setup();
    const body = bodyOf('{"order_id":"o-1","amount":5,"currency":"EUR"}\n{"order_id":"o-2","amount":7,"currency":"USD"}\n');

    const result = await service.ingest({ source: 'orders', body, contentType: 'application/x-ndjson' });

    const { topic, messages } = published(kafka);
    expect(result.accepted).toBe(2);
    expect(topic).toBe('ingest.orders');
    expect(messages.map((m) => m.key)).toEqual(['o-1', 'o-2']);
  });

  it('rejects a batch whose event 2 breaks the schema, naming the index and field, and publishes nothing', async () => {
    const { service, kafka } = setupWith(REJECTING_ORDERS);
    const orders = [
      { order_id: 'o-1', amount: 10, currency: 'EUR' },
      { order_id: 'o-2', amount: 20, currency: 'EUR' },
      { order_id: 'o-3', amount: -1, currency: 'EUR' },
    ];

    const error = await rejection(service.ingest(jsonRequest('orders', orders)));

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(/^event 2 does not match the schema of source "orders": \/amount must be >= 0/);
    expect(error.details).toEqual([{ index: 2, field: '/amount', message: 'must be >= 0' }]);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('names a missing required property as the failing field', async () => {
    const { service, kafka } = setupWith(REJECTING_ORDERS);

    const error = await rejection(service.ingest(jsonRequest('orders', { order_id: 'o-1', amount: 1 })));

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(/^the event does not match the schema of source "orders": \/currency/);
    expect(error.details).toEqual([{ index: 0, field: '/currency', message: "must have required property 'currency'" }]);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('rejects a body larger than the source limit with 413', async () => {
    const { service, kafka } = setup();
    const big = { blob: 'x'.repeat(262_144) };

    const error = await rejection(service.ingest(jsonRequest('clicks', big)));

    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toMatch(/source "clicks" accepts at most 262144/);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('accepts a body of exactly the source limit', async () => {
    const { service } = setup();
    const bytes = Buffer.from(JSON.stringify({ blob: 'x'.repeat(262_144 - '{"blob":""}'.length) }));
    expect(bytes.length).toBe(262_144);
    const body = bodyOf(bytes);

    await expect(service.ingest({ source: 'clicks', body, contentType: JSON_TYPE })).resolves.toMatchObject({ accepted: 1 });
  });

  it('rejects a batch with more events than INGEST_MAX_EVENTS with 413', async () => {
    const { service, kafka } = setup({ INGEST_MAX_EVENTS: '3' });

    await expect(service.ingest(jsonRequest('clicks', [{}, {}, {}]))).resolves.toMatchObject({ accepted: 3 });
    const error = await rejection(service.ingest(jsonRequest('clicks', [{}, {}, {}, {}])));

    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toBe('The batch holds 4 events; at most 3 per request');
    expect(kafka.publish).toHaveBeenCalledTimes(1);
  });

  it('answers the same event ids when the same Idempotency-Key is sent twice', async () => {
    const { service } = setup();
    const request = () => jsonRequest('clicks', [{ n: 1 }, { n: 2 }], { idempotencyKey: 'retry-123' });

    const first = await service.ingest(request());
    const second = await service.ingest(request());

    expect(second.eventIds).toEqual(first.eventIds);
    expect(new Set(first.eventIds).size).toBe(2);
  });

  it('derives different event ids from different Idempotency-Keys', async () => {
    const { service } = setup();

    const a = await service.ingest(jsonRequest('clicks', [{ n: 1 }], { idempotencyKey: 'key-a' }));
    const b = await service.ingest(jsonRequest('clicks', [{ n: 1 }], { idempotencyKey: 'key-b' }));

    expect(a.eventIds[0]).not.toBe(b.eventIds[0]);
  });

  it('uses the derived ids as the envelope event ids', async () => {
    const { service, kafka } = setup();

    const { eventIds } = await service.ingest(jsonRequest('clicks', [{ n: 1 }], { idempotencyKey: 'key-a' }));

    expect(published(kafka).messages[0].envelope.eventId).toBe(eventIds[0]);
  });

  it.each([
    ['with a space', 'has space'],
    ['that is empty', ''],
    ['longer than 255 characters', 'x'.repeat(256)],
    ['with non-ASCII characters', 'naïve'],
  ])('rejects an Idempotency-Key %s with 400', async (_case, idempotencyKey) => {
    const { service, kafka } = setup();

    const error = await rejection(service.ingest(jsonRequest('clicks', { n: 1 }, { idempotencyKey })));

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toBe('Idempotency-Key must be 1 to 255 printable ASCII characters without spaces');
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('propagates Kafka being unavailable instead of reporting events accepted', async () => {
    const { service, kafka } = setup();
    const unavailable = new UpstreamUnavailableError('Kafka', 'Kafka is unavailable: connection refused');
    kafka.publish.mockRejectedValueOnce(unavailable);

    await expect(service.ingest(jsonRequest('clicks', [{ n: 1 }]))).rejects.toBe(unavailable);
  });

  it('answers 404 for an unknown source and 415 for an unsupported content type', async () => {
    const { service, kafka } = setup();

    await expect(service.ingest(jsonRequest('payments', {}))).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.ingest(jsonRequest('clicks', {}, { contentType: 'text/plain' }))).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
    expect(kafka.publish).not.toHaveBeenCalled();
  });
});

describe('IngestionService.ingest, record headers', () => {
  const TRACE = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentId: '00f067aa0ba902b7', spanId: 'a0b1c2d3e4f50617', flags: '01' };
  const COPYING = `sources:
  orders:
    headers: [X-Shop-Id, User-Agent]
    schema: { type: object }
`;

  it('publishes every event of the request with the trace, the idempotency key and the headers the source copies', async () => {
    const { service, kafka } = setupWith(COPYING);

    await service.ingest(
      jsonRequest('orders', [{ n: 1 }, { n: 2 }], {
        idempotencyKey: 'order-batch-1',
        trace: TRACE,
        headers: { 'x-shop-id': 'shop-42', 'user-agent': 'curl/8', 'x-other': 'not copied' },
      }),
    );

    const { messages } = published(kafka);
    expect(messages.map((m) => m.headers)).toEqual(
      [0, 1].map(() => ({
        'x-shop-id': 'shop-42',
        'user-agent': 'curl/8',
        'pipeline-source': 'orders',
        'idempotency-key': 'order-batch-1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-a0b1c2d3e4f50617-01',
      })),
    );
  });

  it('refuses a copied header that is not UTF-8 with 400 naming it, before anything is published, counted as bad_header', async () => {
    const { service, kafka, metrics } = setupWith(COPYING);
    const notUtf8 = Buffer.from([0x73, 0xe9]).toString('latin1');

    await expect(service.ingest(jsonRequest('orders', [{ n: 1 }], { headers: { 'x-shop-id': notUtf8 } }))).rejects.toThrow(
      new BadRequestError("Header x-shop-id is not UTF-8 text: a header copied into the event's record headers must be"),
    );

    expect(kafka.publish).not.toHaveBeenCalled();
    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'orders', reason: 'bad_header' })).toBe(1);
  });
});

describe('IngestionService.ingest, idempotency keys', () => {
  const keyed = (events: unknown, idempotencyKey = 'order-42', extra: Partial<IngestRequest> = {}) =>
    jsonRequest('clicks', events, { idempotencyKey, ...extra });

  it('answers a retry with the same key and body with the first answer, marked replayed, and publishes once', async () => {
    const { ingestion, kafka, metrics } = setup();

    const first = await ingestion.ingest(keyed([{ n: 1 }, { n: 2 }]));
    const retry = await ingestion.ingest(keyed([{ n: 1 }, { n: 2 }]));

    expect(first.replayed).toBe(false);
    expect(retry).toEqual({ response: first.response, replayed: true });
    expect(kafka.publish).toHaveBeenCalledTimes(1);
    expect(await metricValue(metrics, 'pipeline_events_accepted_total', { source: 'clicks' })).toBe(2);
    expect(await metricValue(metrics, 'pipeline_events_deduplicated_total', { source: 'clicks' })).toBe(2);
  });

  it('treats the same events sent compressed as the same request', async () => {
    const { ingestion, kafka } = setup();
    const text = '[{"n":1}]';

    const first = await ingestion.ingest(keyed([{ n: 1 }], 'k'));
    const zipped = await ingestion.ingest(keyed(null, 'k', { body: bodyOf(gzipSync(text)), contentEncoding: 'gzip' }));

    expect(zipped).toEqual({ response: first.response, replayed: true });
    expect(kafka.publish).toHaveBeenCalledTimes(1);
  });

  it('refuses the same key with another body with 422 naming the key, and publishes only the first', async () => {
    const { service, kafka, metrics } = setup();
    await service.ingest(keyed({ amount: 1 }));

    const error = await rejection(service.ingest(keyed({ amount: 2 })));

    expect(error).toBeInstanceOf(UnprocessableEntityError);
    expect(error.statusCode).toBe(422);
    expect(error.message).toMatch(
      /^Idempotency-Key "order-42" was already used for a different request body to source "clicks" \(first seen \d{4}-\d\d-\d\dT.*Z\); send a new key for a new request, or the same body to retry$/,
    );
    expect(error.details).toEqual([{ field: 'Idempotency-Key', message: 'reused with a different body' }]);
    expect(kafka.publish).toHaveBeenCalledTimes(1);
    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'clicks', reason: 'idempotency_key_reused' })).toBe(1);
  });

  it('answers 409 with Retry-After to the same key while the first request is still being published', async () => {
    const { ingestion, kafka, metrics } = setup();
    let acknowledge!: () => void;
    kafka.publish.mockImplementationOnce(() => new Promise<void>((done) => (acknowledge = done)));

    const first = ingestion.ingest(keyed({ n: 1 }));
    await new Promise((r) => setImmediate(r));
    const error = await rejection(ingestion.ingest(keyed({ n: 1 })));
    acknowledge();
    const answered = await first;
    const after = await ingestion.ingest(keyed({ n: 1 }));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(
      /^A request with Idempotency-Key "order-42" to source "clicks" is still being processed \(first seen .*\); retry in a moment$/,
    );
    expect(error.headers['Retry-After']).toBe('1');
    expect(error.details).toEqual([{ field: 'Idempotency-Key', message: 'still being processed' }]);
    expect(after).toEqual({ response: answered.response, replayed: true });
    expect(kafka.publish).toHaveBeenCalledTimes(1);
    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'clicks', reason: 'idempotency_key_in_flight' })).toBe(1);
  });

  it('publishes the retry of a request Kafka failed with the same ids and receivedAt, so the stream keeps one copy', async () => {
    const { ingestion, kafka, keys } = setup();
    kafka.publish.mockRejectedValueOnce(new UpstreamUnavailableError('Kafka', 'Kafka did not acknowledge the events within 5000 ms'));

    await expect(ingestion.ingest(keyed([{ n: 1 }, { n: 2 }]))).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(keys.entry('clicks', 'order-42')).toMatchObject({ state: 'failed' });
    await new Promise((r) => setTimeout(r, 5));
    const retry = await ingestion.ingest(keyed([{ n: 1 }, { n: 2 }]));

    expect(retry.replayed).toBe(false);
    expect(kafka.publish).toHaveBeenCalledTimes(2);
    const [failed, published] = kafka.publish.mock.calls.map(([, messages]) => messages.map((m) => JSON.parse(m.value) as EventEnvelope));
    expect(published.map((e) => [e.eventId, e.receivedAt])).toEqual(failed.map((e) => [e.eventId, e.receivedAt]));
    expect(retry.response.eventIds).toEqual(published.map((e) => e.eventId));
    expect(keys.entry('clicks', 'order-42')).toMatchObject({ state: 'in_flight', response: JSON.stringify(retry.response) });
  });

  it('publishes another body under the key of a failed request as a new request', async () => {
    const { ingestion, kafka } = setup();
    kafka.publish.mockRejectedValueOnce(new UpstreamUnavailableError('Kafka', 'Kafka is unavailable: connection refused'));
    await rejection(ingestion.ingest(keyed({ n: 1 })));
    await new Promise((r) => setTimeout(r, 5));

    await ingestion.ingest(keyed({ n: 2 }));

    const [failed, published] = kafka.publish.mock.calls.map(([, messages]) => JSON.parse(messages[0].value) as EventEnvelope);
    expect(published.eventId).not.toBe(failed.eventId);
    expect(published.receivedAt > failed.receivedAt).toBe(true);
  });

  it('answers 409 to a retry of a failed request that another retry took over first', async () => {
    const { ingestion, kafka, keys } = setup();
    kafka.publish.mockRejectedValueOnce(new UpstreamUnavailableError('Kafka', 'Kafka is unavailable: connection refused'));
    await rejection(ingestion.ingest(keyed({ n: 1 })));
    keys.takeOver.mockResolvedValueOnce(false);

    const error = await rejection(ingestion.ingest(keyed({ n: 1 })));

    expect(error).toBeInstanceOf(ConflictError);
    expect(kafka.publish).toHaveBeenCalledTimes(1);
  });

  it('keeps the claim and the answer IDEMPOTENCY_TTL_SECONDS', async () => {
    const { service, keys } = setup({ IDEMPOTENCY_TTL_SECONDS: '3600' });

    const response = await service.ingest(keyed({ n: 1 }));

    expect(keys.claim).toHaveBeenCalledWith(
      'clicks',
      'order-42',
      { bodyHash: expect.any(String), owner: expect.any(String), createdAt: expect.any(Date) },
      3600,
    );
    expect(keys.answer).toHaveBeenCalledWith('clicks', 'order-42', keys.claim.mock.calls[0][2].owner, JSON.stringify(response), 3600);
  });

  describe('a request that died holding its key (claimed, never answered)', () => {
    const events = [{ n: 1 }];
    const hash = IdempotentRequests.bodyHash(Buffer.from(JSON.stringify(events)));
    const plant = (keys: InMemoryIdempotencyRepository, ageSeconds: number) =>
      keys.claim('clicks', 'order-42', { bodyHash: hash, owner: 'died', createdAt: new Date(Date.now() - ageSeconds * 1000) }, 86400);

    it('holds it for twice the publish deadline: 409 until then', async () => {
      const { service, keys, kafka } = setup({ KAFKA_PUBLISH_TIMEOUT_MS: '20000' });
      await plant(keys, 39);

      await expect(service.ingest(keyed(events))).rejects.toBeInstanceOf(ConflictError);
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it('is taken over after that by a retry, which publishes with the first receivedAt', async () => {
      const { ingestion, keys, kafka } = setup({ KAFKA_PUBLISH_TIMEOUT_MS: '20000' });
      await plant(keys, 41);

      const retry = await ingestion.ingest(keyed(events));

      expect(retry.replayed).toBe(false);
      const [envelope] = kafka.publish.mock.calls[0][1].map((m) => JSON.parse(m.value) as EventEnvelope);
      expect(Date.now() - Date.parse(envelope.receivedAt)).toBeGreaterThanOrEqual(41000);
      expect(keys.entry('clicks', 'order-42')).toMatchObject({ state: 'in_flight', response: JSON.stringify(retry.response) });
    });
  });

  it('answers 503 naming Cassandra when the keys cannot be read, and publishes nothing', async () => {
    const { service, kafka, keys, metrics } = setup();
    keys.claim.mockRejectedValueOnce(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: no host answered'));

    const error = await rejection(service.ingest(keyed({ n: 1 })));

    expect(error).toMatchObject({ statusCode: 503, upstream: 'Cassandra' });
    expect(kafka.publish).not.toHaveBeenCalled();
    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'clicks', reason: 'cassandra_unavailable' })).toBe(1);
  });

  it('still answers 202 when the answer cannot be stored after Kafka acknowledged', async () => {
    const { service, kafka, keys } = setup();
    keys.answer.mockRejectedValueOnce(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: timeout'));

    await expect(service.ingest(keyed({ n: 1 }))).resolves.toMatchObject({ accepted: 1 });
    expect(kafka.publish).toHaveBeenCalledTimes(1);
  });

  it('never reads the keys for a request without a key, nor for one refused before publishing', async () => {
    const { service, keys } = setup();

    await service.ingest(jsonRequest('clicks', { n: 1 }));
    await rejection(service.ingest(jsonRequest('users', { email: 'not an address' }, { idempotencyKey: 'bad-user' })));

    expect(keys.claim).not.toHaveBeenCalled();
  });
});

describe('IngestionService.ingest, compressed bodies', () => {
  const orders = [
    { order_id: 'o-1', amount: 10, currency: 'EUR' },
    { order_id: 'o-2', amount: 4.5, currency: 'USD' },
  ];
  const compressed = (bytes: Buffer, contentEncoding: string, extra: Partial<IngestRequest> = {}): IngestRequest => ({
    source: 'orders',
    body: bodyOf(bytes),
    contentType: JSON_TYPE,
    contentEncoding,
    ...extra,
  });

  it.each([
    ['gzip', 'gzip', gzipSync],
    ['zlib deflate', 'deflate', deflateSync],
    ['bare deflate', 'deflate', deflateRawSync],
    ['identity', 'identity', (b: Buffer) => b],
  ] as const)('publishes the events of a %s body', async (_case, encoding, compress) => {
    const { service, kafka } = setup();

    const result = await service.ingest(compressed(compress(Buffer.from(JSON.stringify(orders))), encoding));

    expect(result.accepted).toBe(2);
    expect(published(kafka).messages.map((m) => m.envelope.payload)).toEqual(orders);
  });

  it('decompresses NDJSON too', async () => {
    const { service, kafka } = setup();
    const ndjson = Buffer.from(orders.map((o) => JSON.stringify(o)).join('\n'));

    await service.ingest(compressed(gzipSync(ndjson), 'gzip', { contentType: 'application/x-ndjson' }));

    expect(published(kafka).messages.map((m) => m.key)).toEqual(['o-1', 'o-2']);
  });

  it.each(['br', 'zstd', 'compress', 'gzip, gzip'])('answers 415 for Content-Encoding %s without reading the body', async (encoding) => {
    const { service, kafka } = setup();
    const request = compressed(gzipSync(JSON.stringify(orders)), encoding);

    const error = await rejection(service.ingest(request));

    expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(error.message).toMatch(new RegExp(`^Content-Encoding "${encoding}" .*: send the body compressed with gzip or deflate`));
    expect(error.headers['Accept-Encoding']).toBe('gzip, deflate');
    expect((request.body as ReturnType<typeof bodyOf>).wasRead()).toBe(false);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('applies the source limit to the decompressed size: a gzip bomb is refused with 413', async () => {
    const { service, kafka } = setup();
    const bomb = gzipSync(Buffer.from(`{"blob":"${'x'.repeat(16 * 1024 * 1024)}"}`));
    expect(bomb.length).toBeLessThan(262_144);

    const error = await rejection(service.ingest({ source: 'clicks', body: bodyOf(bomb), contentType: JSON_TYPE, contentEncoding: 'gzip' }));

    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toMatch(/^The body decompresses to more than 262144 bytes: source "clicks" accepts at most 262144 once decompressed/);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('applies the source limit to the compressed bytes read as well', async () => {
    const { service } = setup();
    const incompressible = gzipSync(Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)), { level: 0 });

    const error = await rejection(service.ingest({ source: 'clicks', body: bodyOf(incompressible), contentType: JSON_TYPE, contentEncoding: 'gzip' }));

    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.message).toMatch(/^The body is larger than 262144 bytes/);
  });

  it('answers 400 naming the encoding for corrupt gzip, and for plain JSON sent as gzip', async () => {
    const { service, kafka } = setup();
    const corrupt = gzipSync(JSON.stringify(orders));
    corrupt[corrupt.length - 8] ^= 0x01; // a bit of the trailer's CRC-32

    const crc = await rejection(service.ingest(compressed(corrupt, 'gzip')));
    const plain = await rejection(service.ingest(compressed(Buffer.from(JSON.stringify(orders)), 'gzip')));

    for (const error of [crc, plain]) {
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.message).toMatch(/^The body is not valid gzip data \(Content-Encoding: gzip\): /);
    }
    expect(kafka.publish).not.toHaveBeenCalled();
  });
});

describe('IngestionService.ingest, text that is not UTF-8', () => {
  const withBytes = (before: string, bad: number[], after = '') => Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]);

  it.each([
    ['at the first byte', withBytes('', [0xff], '{"page":"/"}'), 0],
    ['inside a string, after multi-byte characters', withBytes('{"page":"/café/€/', [0xc3, 0x28], '"}'), 20],
    ['in event 2 of a batch', withBytes('[{"n":1},{"n":2},{"name":"', [0xed, 0xa0, 0x80], '"}]'), 26],
    ['cut off by the end of the body', withBytes('{"page":"/"}', [0xf0, 0x9f, 0x98]), 12],
  ])('refuses invalid UTF-8 %s with 400 naming the byte offset, and publishes nothing', async (_case, bytes, offset) => {
    const { service, kafka } = setup();

    const error = await rejection(service.ingest({ source: 'clicks', body: bodyOf(bytes), contentType: JSON_TYPE }));

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(new RegExp(`^The body is not valid UTF-8 at byte offset ${offset}: .*; send the text encoded as UTF-8$`));
    expect(error.details).toEqual([{ offset, message: expect.stringMatching(/^not valid UTF-8: /) }]);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('counts the offset in the decompressed body of a gzip request', async () => {
    const { service } = setup();
    const bytes = withBytes('{"page":"', [0x80], '"}');

    const error = await rejection(service.ingest({ source: 'clicks', body: bodyOf(gzipSync(bytes)), contentType: JSON_TYPE, contentEncoding: 'gzip' }));

    expect(error.details).toEqual([{ offset: 9, message: 'not valid UTF-8: invalid byte sequence 0x80' }]);
  });

  it('publishes characters as sent, never replaced by U+FFFD', async () => {
    const { service, kafka } = setup();
    const page = '/Zoë/€/😀/漢字';

    await service.ingest(jsonRequest('clicks', { page }));

    expect(published(kafka).messages[0].envelope.payload).toEqual({ page });
  });

  it('accepts and drops a UTF-8 byte order mark at the start of the body', async () => {
    const { service, kafka } = setup();
    const body = bodyOf(withBytes('', [0xef, 0xbb, 0xbf], '{"page":"/"}'));

    await expect(service.ingest({ source: 'clicks', body, contentType: JSON_TYPE })).resolves.toMatchObject({ accepted: 1 });
    expect(published(kafka).messages[0].envelope.payload).toEqual({ page: '/' });
  });
});

describe('IngestionService.ingest, values the pipeline cannot carry', () => {
  const textRequest = (source: string, text: string, contentType = JSON_TYPE): IngestRequest => ({ source, body: bodyOf(text), contentType });
  const order = (n: number, amount = '1') => `{"order_id":"o-${n}","amount":${amount},"currency":"EUR"}`;

  it('refuses 1e400 in a nested field of event 3 of a batch with 400 naming the event and the field, instead of storing null', async () => {
    const { service, kafka } = setup();
    const batch = `[${order(0)},${order(1)},${order(2)},{"order_id":"o-3","amount":1,"currency":"EUR","items":[{"sku":"a","price":1e400}]}]`;

    const error = await rejection(service.ingest(textRequest('orders', batch)));

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(/^event 3 has a number too large for a double at \/items\/0\/price: send numbers within ±1.7976931348623157e308/);
    expect(error.details).toEqual([{ index: 3, field: '/items/0/price', message: expect.stringMatching(/^is a number too large for a double/) }]);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('refuses -1e400 in NDJSON, naming the event', async () => {
    const { service, kafka } = setup();
    const ndjson = `${order(0)}\n${order(1)}\n\n${order(2, '-1e400')}\n`;

    const error = await rejection(service.ingest(textRequest('orders', ndjson, 'application/x-ndjson')));

    expect(error.message).toMatch(/^event 2 has a number too large for a double at \/amount: /);
    expect(error.details).toEqual([{ index: 2, field: '/amount', message: expect.stringMatching(/^is a number too large for a double/) }]);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('publishes the largest finite double as sent', async () => {
    const { service, kafka } = setup();

    await service.ingest(textRequest('orders', order(0, '1.7976931348623157e308')));

    expect(published(kafka).messages[0].envelope.payload.amount).toBe(Number.MAX_VALUE);
  });

  it('accepts an event nested exactly INGEST_MAX_DEPTH deep and refuses one level more', async () => {
    const { service, kafka } = setup({ INGEST_MAX_DEPTH: '10' });
    const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

    await expect(service.ingest(textRequest('clicks', nested(10)))).resolves.toMatchObject({ accepted: 1 });
    const error = await rejection(service.ingest(textRequest('clicks', `[{},${nested(11)}]`)));

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toBe(
      `event 1 nests objects and arrays deeper than 10 levels, at /a${'/a'.repeat(9)}: flatten it (at most 10 levels, the event itself being one)`,
    );
    expect(kafka.publish).toHaveBeenCalledTimes(1);
  });

  it('refuses a valid event 100,000 levels deep with 400, not a stack overflow in JSON.stringify or the schema', async () => {
    const { service, kafka } = setup();
    const deepObjects = `{"name":"Ada","extra":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`;
    const deepArrays = `{"page":"/","a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;

    const users = await rejection(service.ingest(textRequest('users', deepObjects)));
    const clicks = await rejection(service.ingest(textRequest('clicks', deepArrays)));

    expect(users).toBeInstanceOf(BadRequestError);
    expect(users.message).toMatch(/^the event nests objects and arrays deeper than 64 levels, at \/extra(\/a){63}: /);
    expect(clicks).toBeInstanceOf(BadRequestError);
    expect(clicks.details).toEqual([{ index: 0, field: `/a${'/0'.repeat(63)}`, message: 'is nested deeper than 64 levels' }]);
    expect(kafka.publish).not.toHaveBeenCalled();
  });
});

describe('IngestionService.ingest, before the body is read', () => {
  it('refuses an unknown source before the content type, and neither reads the body', async () => {
    const { service } = setup();
    const unknown = jsonRequest('payments', {}, { contentType: 'text/plain' });
    const wrongType = jsonRequest('orders', {}, { contentType: 'text/plain' });

    await expect(service.ingest(unknown)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.ingest(wrongType)).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
    expect((unknown.body as ReturnType<typeof bodyOf>).wasRead()).toBe(false);
    expect((wrongType.body as ReturnType<typeof bodyOf>).wasRead()).toBe(false);
  });

  it('reads the body of an accepted request', async () => {
    const { service } = setup();
    const request = jsonRequest('orders', { order_id: 'o-1', amount: 1, currency: 'EUR' });

    await service.ingest(request);

    expect((request.body as ReturnType<typeof bodyOf>).wasRead()).toBe(true);
  });
});

describe('IngestionService.ingest, a quarantining source (orders in config/sources.yaml)', () => {
  const good = (n: number) => ({ order_id: `o-${n}`, amount: n, currency: 'EUR' });
  const bad = { order_id: 'o-bad', amount: 'ten', currency: 'euro' };

  /** The single publishAll call, its batches' envelopes parsed. */
  function publishedTogether(kafka: FakeKafkaProducer) {
    expect(kafka.publish).not.toHaveBeenCalled();
    expect(kafka.publishAll).toHaveBeenCalledTimes(1);
    return kafka.publishAll.mock.calls[0][0].map(({ topic, messages }) => ({
      topic,
      messages: messages.map((m) => ({ key: m.key, envelope: JSON.parse(m.value) as Record<string, unknown> })),
    }));
  }

  it('accepts the request: the valid events to the topic, the invalid one to the dead-letter topic, in one publish', async () => {
    const { service, kafka } = setup();
    const registry = new SourcesRegistry(testConfig({ SOURCES_FILE: join(__dirname, '../../config/sources.yaml') }));

    const result = await service.ingest(jsonRequest('orders', [good(1), bad, good(2)]));

    expect(result).toEqual({
      accepted: 2,
      eventIds: [expect.stringMatching(UUID_V7), expect.stringMatching(UUID_V7), expect.stringMatching(UUID_V7)],
      quarantined: 1,
      quarantinedEvents: [
        {
          index: 1,
          eventId: result.eventIds[1],
          reasons: [
            { field: '/amount', message: 'must be number' },
            { field: '/currency', message: 'must match pattern "^[A-Z]{3}$"' },
          ],
        },
      ],
    });
    const [events, deadLetters] = publishedTogether(kafka);
    expect(events.topic).toBe('ingest.orders');
    expect(events.messages.map((m) => [m.key, m.envelope.eventId, m.envelope.payload])).toEqual([
      ['o-1', result.eventIds[0], good(1)],
      ['o-2', result.eventIds[2], good(2)],
    ]);
    expect(deadLetters.topic).toBe('ingest.orders.dlq');
    expect(deadLetters.messages).toHaveLength(1);
    const [{ key, envelope }] = deadLetters.messages;
    expect(key).toBe('o-bad');
    expect(envelope).toEqual({
      eventId: result.eventIds[1],
      source: 'orders',
      receivedAt: events.messages[0].envelope.receivedAt,
      key: 'o-bad',
      reasons: result.quarantinedEvents![0].reasons,
      schemaHash: registry.get('orders').schemaHash,
      payload: bad,
    });
    expect(Object.keys(envelope)).toEqual(['eventId', 'source', 'receivedAt', 'key', 'reasons', 'schemaHash', 'payload']);
  });

  it('publishes only to the dead-letter topic when every event fails, and answers 202 with none accepted', async () => {
    const { service, kafka } = setup();

    const result = await service.ingest(jsonRequest('orders', { amount: -1 }));

    expect(result).toMatchObject({ accepted: 0, quarantined: 1, quarantinedEvents: [{ index: 0, eventId: result.eventIds[0] }] });
    expect(result.quarantinedEvents![0].reasons.map((r) => r.field)).toEqual(['/order_id', '/currency', '/amount']);
    const batches = publishedTogether(kafka);
    expect(batches.map((b) => [b.topic, b.messages.length])).toEqual([['ingest.orders.dlq', 1]]);
    // Keyed by its event id, as the event would have been without a keyField value.
    expect(batches[0].messages[0].key).toBe(result.eventIds[0]);
  });

  it('publishes a request without an invalid event to the topic alone, answering quarantined 0', async () => {
    const { service, kafka } = setup();

    const result = await service.ingest(jsonRequest('orders', [good(1)]));

    expect(result).toEqual({ accepted: 1, eventIds: [expect.any(String)], quarantined: 0, quarantinedEvents: [] });
    expect(published(kafka).topic).toBe('ingest.orders');
    expect(kafka.publishAll).not.toHaveBeenCalled();
  });

  it('answers 503 and reports nothing accepted or quarantined when Kafka did not acknowledge both topics', async () => {
    const { service, kafka, metrics } = setup();
    kafka.publishAll.mockRejectedValueOnce(new UpstreamUnavailableError('Kafka', 'Kafka did not acknowledge the events within 5000 ms'));

    await expect(service.ingest(jsonRequest('orders', [good(1), bad]))).rejects.toBeInstanceOf(UpstreamUnavailableError);

    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'orders', reason: 'kafka_unavailable' })).toBe(2);
    expect(await metricValue(metrics, 'pipeline_events_accepted_total', { source: 'orders' })).toBe(0);
    expect(await metricValue(metrics, 'pipeline_events_quarantined_total', { source: 'orders' })).toBe(0);
  });

  it('counts the accepted and the quarantined events, and none as rejected', async () => {
    const { service, metrics } = setup();

    await service.ingest(jsonRequest('orders', [good(1), bad, good(2), bad]));

    expect(await metricValue(metrics, 'pipeline_events_accepted_total', { source: 'orders' })).toBe(2);
    expect(await metricValue(metrics, 'pipeline_events_quarantined_total', { source: 'orders' })).toBe(2);
    expect(await metricValue(metrics, 'pipeline_events_rejected_total')).toBe(0);
  });

  it.each<[string, string, string]>([
    ['a body that is not JSON', '[{"order_id":', 'bad_json'],
    ['an event that is not an object', '[{"order_id":"o-1","amount":1,"currency":"EUR"}, 7]', 'bad_json'],
    ['a number out of range', '{"order_id":"o-1","amount":1e400,"currency":"EUR"}', 'bad_number'],
    ['an event nested too deep', `{"order_id":"o-1","amount":1,"currency":"EUR","items":${'['.repeat(70)}${']'.repeat(70)}}`, 'too_deep'],
  ])('still refuses %s with 400: only schema failures are quarantined', async (_case, body, reason) => {
    const { service, kafka, metrics } = setup();

    await expect(service.ingest({ source: 'orders', body: bodyOf(body), contentType: JSON_TYPE })).rejects.toBeInstanceOf(BadRequestError);

    expect(kafka.publish).not.toHaveBeenCalled();
    expect(kafka.publishAll).not.toHaveBeenCalled();
    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'orders', reason })).toBeGreaterThan(0);
  });

  it('answers for a rejecting source as before, without the quarantine fields', async () => {
    const { service } = setup();

    expect(await service.ingest(jsonRequest('users', { email: 'ada@example.com' }))).toEqual({ accepted: 1, eventIds: [expect.any(String)] });
    await expect(service.ingest(jsonRequest('users', { email: 'nope' }))).rejects.toBeInstanceOf(BadRequestError);
  });
});

describe('IngestionService.ingest, counted', () => {
  const accepted = (metrics: MetricsService, source: string) => metricValue(metrics, 'pipeline_events_accepted_total', { source });
  const rejected = (metrics: MetricsService, labels: Record<string, string> = {}) => metricValue(metrics, 'pipeline_events_rejected_total', labels);

  it('counts the events Kafka acknowledged, per source, and nothing as rejected', async () => {
    const { service, metrics } = setup();

    await service.ingest(jsonRequest('clicks', [{ n: 1 }, { n: 2 }, { n: 3 }]));
    await service.ingest(jsonRequest('clicks', { n: 4 }));
    await service.ingest(jsonRequest('users', { email: 'ada@example.com' }));

    expect(await accepted(metrics, 'clicks')).toBe(4);
    expect(await accepted(metrics, 'users')).toBe(1);
    expect(await rejected(metrics)).toBe(0);
  });

  const users = [{ email: 'ada@example.com' }, { email: 'not an address' }, { name: 42 }];
  it.each<[string, () => IngestRequest, string, string, number]>([
    ['an unknown source, under a fixed source label', () => jsonRequest('payments-2026', {}), 'unknown', 'unknown_source', 1],
    ['an unsupported content type', () => jsonRequest('clicks', {}, { contentType: 'text/csv' }), 'clicks', 'unsupported_media_type', 1],
    ['a body over the source limit', () => jsonRequest('clicks', { blob: 'x'.repeat(262_144) }), 'clicks', 'too_large', 1],
    [
      'a body that cannot be read',
      () => ({ source: 'clicks', body: bodyOf('{}'), contentLength: '5', contentType: JSON_TYPE }),
      'clicks',
      'unreadable_body',
      1,
    ],
    ['an unsupported Content-Encoding', () => jsonRequest('clicks', {}, { contentEncoding: 'br' }), 'clicks', 'unsupported_media_type', 1],
    ['a corrupt gzip body', () => jsonRequest('clicks', [{}, {}], { contentEncoding: 'gzip' }), 'clicks', 'bad_encoding', 1],
    [
      'a gzip body over the limit once decompressed',
      () => ({ source: 'clicks', body: bodyOf(gzipSync(Buffer.alloc(300_000, 0x20))), contentType: JSON_TYPE, contentEncoding: 'gzip' }),
      'clicks',
      'too_large',
      1,
    ],
    ['a body that is not UTF-8', () => ({ source: 'clicks', body: bodyOf(Buffer.from([0x5b, 0xff, 0x5d])), contentType: JSON_TYPE }), 'clicks', 'bad_utf8', 1],
    ['an invalid Idempotency-Key', () => jsonRequest('clicks', [{}, {}], { idempotencyKey: 'has space' }), 'clicks', 'bad_idempotency_key', 1],
    ['a body that is not JSON', () => ({ source: 'clicks', body: bodyOf('{"n": '), contentType: JSON_TYPE }), 'clicks', 'bad_json', 1],
    ['an event that is not an object', () => jsonRequest('clicks', [{}, 42]), 'clicks', 'bad_json', 1],
    [
      'a batch with a number out of range, as its events',
      () => ({ source: 'clicks', body: bodyOf('[{},{"n":1e400}]'), contentType: JSON_TYPE }),
      'clicks',
      'bad_number',
      2,
    ],
    [
      'a batch nested too deep, as its events',
      () => ({ source: 'clicks', body: bodyOf(`[{},{},{"a":${'['.repeat(70)}${']'.repeat(70)}}]`), contentType: JSON_TYPE }),
      'clicks',
      'too_deep',
      3,
    ],
    ['a batch over INGEST_MAX_EVENTS, as its events', () => jsonRequest('clicks', [{}, {}, {}, {}, {}]), 'clicks', 'too_large', 5],
    ['a schema violation, as every event of the batch', () => jsonRequest('users', users), 'users', 'schema', 3],
  ])('counts %s as rejected', async (_case, request, source, reason, events) => {
    const { service, metrics } = setup({ INGEST_MAX_EVENTS: '4' });

    await expect(service.ingest(request())).rejects.toThrow();

    expect(await rejected(metrics, { source, reason })).toBe(events);
    expect(await rejected(metrics)).toBe(events);
    expect(await accepted(metrics, source)).toBe(0);
  });

  it('counts the events of a batch Kafka did not acknowledge as kafka_unavailable', async () => {
    const { service, kafka, metrics } = setup();
    kafka.publish.mockRejectedValueOnce(new UpstreamUnavailableError('Kafka', 'Kafka did not acknowledge the events within 5000 ms'));

    await expect(service.ingest(jsonRequest('clicks', [{ n: 1 }, { n: 2 }]))).rejects.toBeInstanceOf(UpstreamUnavailableError);

    expect(await rejected(metrics, { source: 'clicks', reason: 'kafka_unavailable' })).toBe(2);
    expect(await accepted(metrics, 'clicks')).toBe(0);
  });
});

describe('IngestionService.ingest, signed sources', () => {
  const KEY = Buffer.from('a signing key of the test sender');
  const STRIPE_SECRET = 'whsec_stripe_test_secret';
  const GITHUB_SECRET = 'github test secret';
  const ENV = { HOOKS_SECRET: `whsec_${KEY.toString('base64')}`, STRIPE_SECRET, GITHUB_SECRET };
  const REGISTRY = `sources:
  hooks:
    signature: { scheme: standard-webhooks, secrets: ["\${HOOKS_SECRET}"] }
  payments:
    signature: { scheme: stripe, secrets: ["\${STRIPE_SECRET}"] }
  repos:
    signature: { scheme: github, secrets: ["\${GITHUB_SECRET}"] }
  clicks: {}
`;

  function signedSetup() {
    return services(sourcesRegistry(REGISTRY, ENV), testConfig());
  }

  const now = () => Math.floor(Date.now() / 1000);
  const hmac = (key: Buffer | string, content: string) => createHmac('sha256', key).update(content);
  /** A Standard Webhooks delivery of `body` (text, or bytes as sent), signed with KEY (or the given key) at `timestamp`. */
  function standardDelivery(body: string | Buffer, { id = 'msg_2x9Qk1', timestamp = now(), key = KEY } = {}): IngestRequest {
    const signature = hmac(key, `${id}.${timestamp}.`).update(body).digest('base64');
    return {
      source: 'hooks',
      body: bodyOf(body),
      contentType: JSON_TYPE,
      headers: { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` },
    };
  }

  it('publishes a delivery whose signature matches, without any API key', async () => {
    const { service, kafka } = signedSetup();

    const result = await service.ingest(standardDelivery('{"type":"invoice.paid","amount":12}'));

    const { topic, messages } = published(kafka);
    expect(topic).toBe('ingest.hooks');
    expect(result.accepted).toBe(1);
    expect(messages[0].envelope).toMatchObject({ source: 'hooks', payload: { type: 'invoice.paid', amount: 12 } });
  });

  it('answers a redelivery with the same webhook-id with the first answer, and publishes it once', async () => {
    const { ingestion, kafka, keys } = signedSetup();

    const first = await ingestion.ingest(standardDelivery('[{"n":1},{"n":2}]', { id: 'msg_retried' }));
    const again = await ingestion.ingest(standardDelivery('[{"n":1},{"n":2}]', { id: 'msg_retried', timestamp: now() - 60 }));
    const other = await ingestion.ingest(standardDelivery('[{"n":1},{"n":2}]', { id: 'msg_other' }));

    expect(again).toEqual({ response: first.response, replayed: true });
    expect(other.replayed).toBe(false);
    expect(other.response.eventIds).not.toEqual(first.response.eventIds);
    expect(kafka.publish).toHaveBeenCalledTimes(2);
    expect(keys.entry('hooks', 'msg_retried')).toMatchObject({ response: JSON.stringify(first.response) });
  });

  it('deduplicates by the signed webhook-id, never by an Idempotency-Key header the signature does not cover', async () => {
    const { service, keys } = signedSetup();

    await service.ingest({ ...standardDelivery('{"n":1}', { id: 'msg_with_key' }), idempotencyKey: 'caller-key' });

    expect(keys.entry('hooks', 'msg_with_key')).toMatchObject({ response: expect.any(String) });
    expect(keys.entry('hooks', 'caller-key')).toBeUndefined();
  });

  it('answers a captured delivery sent again with a fresh Idempotency-Key with the first answer, and publishes it once', async () => {
    const { ingestion, kafka } = signedSetup();
    const captured = standardDelivery('{"type":"invoice.paid","amount":12}', { id: 'msg_captured' });

    const first = await ingestion.ingest(captured);
    const replays = await Promise.all(
      ['fresh-key-1', 'fresh-key-2', 'has space'].map((idempotencyKey) =>
        ingestion.ingest({ ...captured, body: bodyOf('{"type":"invoice.paid","amount":12}'), idempotencyKey }),
      ),
    );

    for (const replay of replays) expect(replay).toEqual({ response: first.response, replayed: true });
    expect(kafka.publish).toHaveBeenCalledTimes(1);
  });

  it.each<[string, () => IngestRequest, string, RegExp]>([
    [
      'signed with another secret',
      () => standardDelivery('{"n":1}', { key: Buffer.from('not the secret') }),
      'no_match',
      /^No signature in webhook-signature matches/,
    ],
    [
      'whose body changed after signing',
      () => ({ ...standardDelivery('{"n":1}'), body: bodyOf('{"n":2}') }),
      'no_match',
      /^No signature in webhook-signature matches/,
    ],
    [
      'signed ten minutes ago',
      () => standardDelivery('{"n":1}', { timestamp: now() - 600 }),
      'timestamp_too_old',
      /^webhook-timestamp is 6\d\d s old; deliveries older than 300 s are refused/,
    ],
    [
      'dated ten minutes ahead',
      () => standardDelivery('{"n":1}', { timestamp: now() + 600 }),
      'timestamp_in_future',
      /^webhook-timestamp is \d+ s in the future/,
    ],
    [
      'without signature headers, even with an API key',
      () => ({ source: 'hooks', body: bodyOf('{"n":1}'), contentType: JSON_TYPE, headers: { 'x-api-key': 'k'.repeat(16) } }),
      'missing_header',
      /^Missing headers webhook-id, webhook-timestamp, webhook-signature: this source accepts only deliveries signed with standard-webhooks; an API key does not replace the signature$/,
    ],
  ])('refuses a delivery %s with 401, and publishes nothing', async (_case, request, problem, message) => {
    const { service, kafka, metrics } = signedSetup();

    const error = await rejection(service.ingest(request()));

    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error.statusCode).toBe(401);
    expect(error.message).toMatch(message);
    expect(error.details).toEqual([{ source: 'hooks', scheme: 'standard-webhooks', problem }]);
    expect(kafka.publish).not.toHaveBeenCalled();
    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'hooks', reason: 'bad_signature' })).toBe(1);
  });

  it('checks the signature before parsing: a forged body is refused as unsigned, not as bad JSON', async () => {
    const { service, kafka } = signedSetup();
    const forged = { ...standardDelivery('{"n":1}'), body: bodyOf('{"n": ') };

    await expect(service.ingest(forged)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(service.ingest(standardDelivery('{"n": '))).rejects.toBeInstanceOf(BadRequestError);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it("publishes a Stripe event, its idempotency key the event's id in the body", async () => {
    const { service, kafka, keys } = signedSetup();
    const text = '{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"charge.succeeded"}';
    const t = now();
    const signature = hmac(STRIPE_SECRET, `${t}.${text}`).digest('hex');

    const result = await service.ingest({
      source: 'payments',
      body: bodyOf(text),
      contentType: JSON_TYPE,
      headers: { 'stripe-signature': `t=${t},v1=${signature}` },
    });

    expect(published(kafka).topic).toBe('ingest.payments');
    expect(keys.entry('payments', 'evt_1NG8Du2eZvKYlo2CUI79vXWy')).toMatchObject({ response: JSON.stringify(result) });
  });

  it('deduplicates a GitHub delivery by its signed body: a changed X-GitHub-Delivery or Idempotency-Key does not make a replay new', async () => {
    const { ingestion, kafka, keys } = signedSetup();
    const text = '{"action":"opened","number":7}';
    const signature = hmac(GITHUB_SECRET, text).digest('hex');
    const delivery = (id: string, idempotencyKey?: string): IngestRequest => ({
      source: 'repos',
      body: bodyOf(text),
      contentType: JSON_TYPE,
      headers: { 'x-hub-signature-256': `sha256=${signature}`, 'x-github-delivery': id },
      idempotencyKey,
    });

    const first = await ingestion.ingest(delivery('5f1b7e20-cc78-11e3-81ab-4c9367dc0958'));
    const replay = await ingestion.ingest(delivery('00000000-0000-0000-0000-000000000000', 'fresh-key'));

    expect(replay).toEqual({ response: first.response, replayed: true });
    expect(kafka.publish).toHaveBeenCalledTimes(1);
    expect(keys.entry('repos', `sha256=${createHash('sha256').update(text).digest('base64url')}`)).toMatchObject({ response: JSON.stringify(first.response) });
    expect(keys.entry('repos', '5f1b7e20-cc78-11e3-81ab-4c9367dc0958')).toBeUndefined();
  });

  it('deduplicates a Stripe delivery without an event id by its signed timestamp and body', async () => {
    const { ingestion, kafka, keys } = signedSetup();
    const text = '[{"object":"event"},{"object":"event"}]';
    const t = now();
    const delivery = (at: number): IngestRequest => ({
      source: 'payments',
      body: bodyOf(text),
      contentType: JSON_TYPE,
      headers: { 'stripe-signature': `t=${at},v1=${hmac(STRIPE_SECRET, `${at}.${text}`).digest('hex')}` },
      idempotencyKey: `fresh-${at}`,
    });

    const first = await ingestion.ingest(delivery(t));
    const replay = await ingestion.ingest(delivery(t));
    const resent = await ingestion.ingest(delivery(t - 1));

    expect(replay).toEqual({ response: first.response, replayed: true });
    expect(resent.replayed).toBe(false);
    expect(kafka.publish).toHaveBeenCalledTimes(2);
    expect(keys.entry('payments', `t=${t},sha256=${createHash('sha256').update(text).digest('base64url')}`)).toBeDefined();
  });

  describe('compressed', () => {
    const events = '[{"n":1},{"n":2}]';

    it.each([
      ['gzip', gzipSync],
      ['deflate', deflateSync],
    ] as const)('verifies a %s delivery over its bytes as sent, then publishes its events', async (encoding, compress) => {
      const { service, kafka } = signedSetup();

      const result = await service.ingest({ ...standardDelivery(compress(events)), contentEncoding: encoding });

      expect(result.accepted).toBe(2);
      expect(published(kafka).messages.map((m) => m.envelope.payload)).toEqual([{ n: 1 }, { n: 2 }]);
    });

    it('refuses a compressed delivery signed over its decompressed JSON with 401', async () => {
      const { service, kafka } = signedSetup();
      const request = { ...standardDelivery(events), body: bodyOf(gzipSync(events)), contentEncoding: 'gzip' };

      const error = await rejection(service.ingest(request));

      expect(error).toBeInstanceOf(UnauthorizedError);
      expect(error.details).toEqual([{ source: 'hooks', scheme: 'standard-webhooks', problem: 'no_match' }]);
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it('checks the signature before decompressing: an unsigned bomb or corrupt data is a 401, not a 413 or 400', async () => {
      const { service, kafka, metrics } = signedSetup();
      const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20));
      const corrupt = Buffer.from('not gzip at all');
      const forged = (bytes: Buffer) => ({ ...standardDelivery('{"n":1}'), body: bodyOf(bytes), contentEncoding: 'gzip' });

      await expect(service.ingest(forged(bomb))).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(service.ingest(forged(corrupt))).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(service.ingest({ ...standardDelivery(bomb), contentEncoding: 'gzip' })).rejects.toBeInstanceOf(PayloadTooLargeError);
      await expect(service.ingest({ ...standardDelivery(corrupt), contentEncoding: 'gzip' })).rejects.toBeInstanceOf(BadRequestError);
      expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'hooks', reason: 'bad_signature' })).toBe(2);
      expect(kafka.publish).not.toHaveBeenCalled();
    });

    it('answers 415 for an unsupported Content-Encoding before the body is read or verified', async () => {
      const { service } = signedSetup();
      const request = { ...standardDelivery(gzipSync(events)), contentEncoding: 'br' };

      await expect(service.ingest(request)).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
      expect((request.body as ReturnType<typeof bodyOf>).wasRead()).toBe(false);
    });
  });

  it('leaves an unsigned source as it was: signature headers are neither needed nor read', async () => {
    const { service, kafka } = signedSetup();

    await service.ingest(jsonRequest('clicks', { n: 1 }));
    await service.ingest(jsonRequest('clicks', { n: 2 }, { headers: { 'webhook-signature': 'v1,garbage' } }));

    expect(kafka.publish).toHaveBeenCalledTimes(2);
  });
});

describe('IngestionService.ingest, bytes in flight (INGEST_MAX_BYTES_IN_FLIGHT)', () => {
  const SOURCES = `sources:
  clicks: { maxBodyBytes: 4096 }
  strict:
    schema: { type: object, required: [n], properties: { n: { type: number } } }
`;
  /** A bound of 1024 bytes, and a short wait for room. */
  function bounded(env: Record<string, string> = {}) {
    const made = services(sourcesRegistry(SOURCES), testConfig({ INGEST_MAX_BYTES_IN_FLIGHT: '1024', INGEST_ADMISSION_WAIT_MS: '50', ...env }));
    return { ...made, inFlight: () => metricValue(made.metrics, 'pipeline_ingest_bytes_in_flight') };
  }

  /** A request whose body is `text`, with its Content-Length, as an HTTP client sends it. */
  const sized = (source: string, text: string | Buffer, extra: Partial<IngestRequest> = {}): IngestRequest => ({
    source,
    body: bodyOf(text),
    contentLength: String(Buffer.byteLength(text)),
    contentType: JSON_TYPE,
    ...extra,
  });
  /** A batch whose JSON is exactly `bytes` long. */
  const batchOf = (bytes: number) => {
    const text = `[{"pad":""}]`;
    return `[{"pad":"${'x'.repeat(bytes - text.length)}"}]`;
  };

  /** Holds the next publish until the test acknowledges (or fails) it. */
  function holdKafka(kafka: FakeKafkaProducer) {
    const held = { ack: () => undefined as void, fail: (_err: Error) => undefined as void };
    const publishing = new Promise<void>((started) =>
      kafka.publish.mockImplementationOnce(() => {
        started();
        return new Promise<void>((resolve, reject) => Object.assign(held, { ack: resolve, fail: reject }));
      }),
    );
    return { publishing, ack: () => held.ack(), fail: (err: Error) => held.fail(err) };
  }

  /** Lets the stream events and promise callbacks of what just happened run. */
  const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

  it("holds a body's Content-Length from before the body is read until Kafka acknowledged its events, then gives it back", async () => {
    const { ingestion, kafka, inFlight } = bounded();
    const body = new PassThrough();
    const text = batchOf(600);
    const kafkaHeld = holdKafka(kafka);

    const answer = ingestion.ingest({ source: 'clicks', body, contentLength: String(text.length), contentType: JSON_TYPE });
    await settled();
    expect(await inFlight()).toBe(600);

    body.end(text);
    await kafkaHeld.publishing;
    expect(await inFlight()).toBe(600);
    kafkaHeld.ack();
    await answer;

    expect(await inFlight()).toBe(0);
  });

  it("counts a body of unknown size (chunked) for the source's limit while it is read, then for its size", async () => {
    const { ingestion, kafka, inFlight } = bounded();
    const body = new PassThrough();
    const kafkaHeld = holdKafka(kafka);

    const answer = ingestion.ingest({ source: 'clicks', body, contentType: JSON_TYPE });
    await settled();
    expect(await inFlight()).toBe(4096);

    body.end(batchOf(300));
    await kafkaHeld.publishing;
    expect(await inFlight()).toBe(300);
    kafkaHeld.ack();
    await answer;
    expect(await inFlight()).toBe(0);
  });

  it("counts a compressed body for the source's limit until it is inflated, then for its inflated size", async () => {
    const { ingestion, kafka, inFlight } = bounded();
    const zipped = gzipSync(batchOf(2000));
    const kafkaHeld = holdKafka(kafka);

    const answer = ingestion.ingest(sized('clicks', zipped, { contentEncoding: 'gzip' }));
    await kafkaHeld.publishing;
    expect(zipped.length).toBeLessThan(100);
    expect(await inFlight()).toBe(2000);
    kafkaHeld.ack();
    await answer;
    expect(await inFlight()).toBe(0);
  });

  const cutShort = (): IngestRequest => {
    const body = new PassThrough();
    body.write('[{"n":1},');
    setImmediate(() => body.destroy(new Error('aborted')));
    return { source: 'clicks', body, contentLength: '100', contentType: JSON_TYPE };
  };
  it.each<[string, (kafka: FakeKafkaProducer) => IngestRequest, number | 'replayed' | 'accepted']>([
    ['accepted', () => sized('clicks', '[{"n":1}]'), 'accepted'],
    ['accepted, chunked', () => jsonRequest('clicks', [{ n: 1 }]), 'accepted'],
    ['accepted, compressed', () => sized('clicks', gzipSync('{"n":1}'), { contentEncoding: 'gzip' }), 'accepted'],
    ['400, not JSON', () => sized('clicks', '{"n":'), 400],
    ['400, a schema violation', () => sized('strict', '{"n":"one"}'), 400],
    ['400, shorter than its Content-Length', () => sized('clicks', '{"n":1}', { contentLength: '50' }), 400],
    ['400, corrupt compressed data', () => sized('clicks', 'not gzip', { contentEncoding: 'gzip' }), 400],
    ['400, the client left while sending', cutShort, 400],
    ['413, over the limit as read (chunked)', () => jsonRequest('clicks', [{ pad: 'x'.repeat(5000) }]), 413],
    ['413, over the limit by its Content-Length', () => sized('clicks', batchOf(5000)), 413],
    ['413, inflated over the limit', () => sized('clicks', gzipSync(batchOf(8000)), { contentEncoding: 'gzip' }), 413],
    [
      '503, Kafka did not acknowledge',
      (kafka) => {
        kafka.publish.mockRejectedValueOnce(new UpstreamUnavailableError('Kafka', 'Kafka is unavailable'));
        return sized('clicks', '{"n":1}');
      },
      503,
    ],
    [
      '500, anything else',
      (kafka) => {
        kafka.publish.mockRejectedValueOnce(new Error('a bug'));
        return sized('clicks', '{"n":1}');
      },
      500,
    ],
  ])('gives the bytes back exactly once: %s', async (_case, request, expected) => {
    const { ingestion, kafka, inFlight } = bounded();

    const answer = ingestion.ingest(request(kafka));
    if (expected === 'accepted') await expect(answer).resolves.toMatchObject({ replayed: false });
    else expect((await rejection(answer)).statusCode ?? 500).toBe(expected);

    expect(await inFlight()).toBe(0);
    // Nothing leaked and nothing given back twice: the whole bound is there for the next request.
    await expect(ingestion.ingest(sized('clicks', batchOf(1024)))).resolves.toMatchObject({ replayed: false });
    expect(await inFlight()).toBe(0);
  });

  it('gives the bytes back for a retry answered with the stored answer, and for a key still being published (409)', async () => {
    const { ingestion, kafka, inFlight } = bounded();
    const keyed = () => sized('clicks', '{"n":1}', { idempotencyKey: 'k-1' });
    const kafkaHeld = holdKafka(kafka);

    const first = ingestion.ingest(keyed());
    await kafkaHeld.publishing;
    expect((await rejection(ingestion.ingest(keyed()))).statusCode).toBe(409);
    expect(await inFlight()).toBe(7);
    kafkaHeld.ack();
    await first;
    await expect(ingestion.ingest(keyed())).resolves.toMatchObject({ replayed: true });

    expect(await inFlight()).toBe(0);
  });

  it('refuses with 503 and Retry-After, its body unread, a request that found no room within INGEST_ADMISSION_WAIT_MS', async () => {
    const { ingestion, kafka, metrics, inFlight } = bounded();
    const kafkaHeld = holdKafka(kafka);
    const first = ingestion.ingest(sized('clicks', batchOf(1000)));
    await kafkaHeld.publishing;
    const late = sized('clicks', batchOf(100));

    const err = await rejection(ingestion.ingest(late));

    expect(err.statusCode).toBe(503);
    expect(err.headers['Retry-After']).toBe('1');
    expect(err.upstream).toBeUndefined();
    expect(err.message).toMatch(/^Ingest is at its bound of 1024 bytes in flight \(INGEST_MAX_BYTES_IN_FLIGHT\) on this API process: .*counted as 100 bytes/);
    expect((late.body as ReturnType<typeof bodyOf>).wasRead()).toBe(false);
    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'clicks', reason: 'bytes_in_flight' })).toBe(1);
    expect(await inFlight()).toBe(1000);
    kafkaHeld.ack();
    await first;
    expect(kafka.publish).toHaveBeenCalledTimes(1);
    expect(await inFlight()).toBe(0);
  });

  it('lets a waiting request in, and only then reads its body, once the one ahead of it is answered', async () => {
    const { ingestion, kafka, inFlight } = bounded({ INGEST_ADMISSION_WAIT_MS: '10000' });
    const kafkaHeld = holdKafka(kafka);
    const first = ingestion.ingest(sized('clicks', batchOf(1000)));
    await kafkaHeld.publishing;
    const next = sized('clicks', batchOf(100));

    const answer = ingestion.ingest(next);
    await settled();
    expect((next.body as ReturnType<typeof bodyOf>).wasRead()).toBe(false);
    kafkaHeld.ack();
    await first;

    await expect(answer).resolves.toMatchObject({ replayed: false, response: { accepted: 1 } });
    expect(kafka.publish).toHaveBeenCalledTimes(2);
    expect(await inFlight()).toBe(0);
  });

  it("refuses a Content-Length over the source's limit at once with 413, without waiting for room", async () => {
    const { ingestion, kafka } = bounded({ INGEST_ADMISSION_WAIT_MS: '10000' });
    const kafkaHeld = holdKafka(kafka);
    const first = ingestion.ingest(sized('clicks', batchOf(1000)));
    await kafkaHeld.publishing;
    const started = performance.now();

    expect((await rejection(ingestion.ingest(sized('clicks', batchOf(5000))))).statusCode).toBe(413);

    expect(performance.now() - started).toBeLessThan(1000);
    kafkaHeld.ack();
    await first;
  });

  it('lets a body larger than the whole bound in when nothing else is in flight', async () => {
    const { ingestion, kafka, inFlight } = bounded();
    const kafkaHeld = holdKafka(kafka);

    const answer = ingestion.ingest(sized('clicks', batchOf(3000)));
    await kafkaHeld.publishing;
    expect(await inFlight()).toBe(3000);
    kafkaHeld.ack();

    await expect(answer).resolves.toMatchObject({ response: { accepted: 1 } });
    expect(await inFlight()).toBe(0);
  });

  it('drops a waiting request whose client left, as a body cut short, holding nothing', async () => {
    const { ingestion, kafka, metrics, inFlight } = bounded({ INGEST_ADMISSION_WAIT_MS: '10000' });
    const kafkaHeld = holdKafka(kafka);
    const first = ingestion.ingest(sized('clicks', batchOf(1000)));
    await kafkaHeld.publishing;
    const body = new PassThrough();

    const answer = ingestion.ingest({ source: 'clicks', body, contentLength: '100', contentType: JSON_TYPE });
    await settled();
    body.destroy();

    expect(await rejection(answer)).toBeInstanceOf(BadRequestError);
    expect(await metricValue(metrics, 'pipeline_events_rejected_total', { source: 'clicks', reason: 'unreadable_body' })).toBe(1);
    expect(await inFlight()).toBe(1000);
    kafkaHeld.ack();
    await first;
    expect(await inFlight()).toBe(0);
  });
});
