import { Logger } from '@nestjs/common';
import { DeadLetter } from '../../cassandra/dead-letters.repository';
import { InMemoryDeadLettersRepository } from '../../cassandra/testing/in-memory-dead-letters.repository';
import { SourcesRegistry } from '../../catalogs/sources.registry';
import { sourcesRegistry } from '../../catalogs/testing/catalogs';
import { BadRequestError, NotFoundError, UpstreamUnavailableError } from '../../common/errors/errors';
import { testConfig } from '../../common/testing/config';
import { rejection } from '../../common/testing/rejection';
import { encodePageToken, pageTokenKey, sealPageToken } from '../../common/paging/page-token';
import { FakeKafkaProducer } from '../../kafka/testing/fake-kafka.producer';
import { MetricsService } from '../../metrics/metrics.service';
import { metricValue } from '../../metrics/testing/metric-value';
import { DeadLettersService, ReplayedEnvelope } from './dead-letters.service';

/** orders as shipped: amount must be a number. */
const STRICT = `sources:
  orders:
    keyField: order_id
    onInvalid: quarantine
    schema:
      type: object
      required: [order_id, amount]
      properties: { order_id: { type: string }, amount: { type: number } }
  clicks: {}
`;
/** The fix: amount may be a number or a numeric string. */
const FIXED = STRICT.replace('amount: { type: number }', () => "amount: { type: [number, string], pattern: '^[0-9]+$' }");

const id = (n: number) => `0190a5e4-7c1b-7def-8000-${String(n).padStart(12, '0')}`;
const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute));

/** A quarantined order as the stream stores it: failed at its receivedAt, under its event id. */
function quarantined(n: number, payload: Record<string, unknown>, fields: Partial<DeadLetter> = {}): DeadLetter {
  return {
    source: 'orders',
    failedAt: at(n),
    id: id(n),
    topic: 'ingest.orders.dlq',
    partition: 0,
    offset: n,
    reason: 'schema',
    reasons: JSON.stringify([{ field: '/amount', message: 'must be number' }]),
    schemaHash: 'hash-of-the-strict-schema',
    payload: JSON.stringify(payload),
    eventId: id(n),
    receivedAt: at(n),
    ...fields,
  };
}

/** A Kafka record of the orders topic the stream could not read. */
const unreadable = (offset: number, minute: number): DeadLetter => ({
  source: 'orders',
  failedAt: at(minute),
  id: `ingest.orders:1:${offset}`,
  topic: 'ingest.orders',
  partition: 1,
  offset,
  reason: 'invalid_json',
  raw: '{"eventId":',
});

/** The key that seals page tokens under testConfig()'s API keys. */
const KEY = pageTokenKey(testConfig().records.pageTokenSecret());

function setup(yaml = STRICT, env: Record<string, string> = {}) {
  const repository = new InMemoryDeadLettersRepository();
  const kafka = new FakeKafkaProducer();
  const metrics = new MetricsService();
  const config = testConfig(env);
  const build = (registry: SourcesRegistry) => new DeadLettersService(repository.repository, registry, kafka.producer, metrics, config);
  return { service: build(sourcesRegistry(yaml)), build, repository, kafka, metrics };
}

/** Every message handed to publish, its envelope parsed, in order. */
const publishedEnvelopes = (kafka: FakeKafkaProducer) =>
  kafka.publish.mock.calls.flatMap(([topic, messages]) => messages.map((m) => ({ topic, key: m.key, envelope: JSON.parse(m.value) as ReplayedEnvelope })));

beforeAll(() => jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined));

describe('DeadLettersService.list', () => {
  it("lists a source's dead letters newest first: quarantined events with their reasons and payload, unreadable records with their raw value", async () => {
    const { service, repository } = setup();
    repository.insert(quarantined(1, { order_id: 'o-1', amount: 'ten' }), unreadable(7, 2));

    const page = await service.list('orders', { limit: 100 });

    expect(page).toEqual({
      items: [
        {
          id: 'ingest.orders:1:7',
          source: 'orders',
          failedAt: '2026-01-01T12:02:00.000Z',
          reason: 'invalid_json',
          raw: '{"eventId":',
          topic: 'ingest.orders',
          partition: 1,
          offset: 7,
        },
        {
          id: id(1),
          source: 'orders',
          failedAt: '2026-01-01T12:01:00.000Z',
          reason: 'schema',
          reasons: [{ field: '/amount', message: 'must be number' }],
          eventId: id(1),
          receivedAt: '2026-01-01T12:01:00.000Z',
          payload: { order_id: 'o-1', amount: 'ten' },
          schemaHash: 'hash-of-the-strict-schema',
          topic: 'ingest.orders.dlq',
          partition: 0,
          offset: 1,
        },
      ],
    });
  });

  it('pages with an opaque token: every dead letter once, newest first, the last page without a token', async () => {
    const { service, repository } = setup();
    for (let n = 1; n <= 5; n++) repository.insert(quarantined(n, { order_id: `o-${n}` }));

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await service.list('orders', { limit: 2, pageToken: token });
      seen.push(...page.items.map((d) => d.id));
      token = page.nextPageToken;
      pages++;
    } while (token);

    expect(seen).toEqual([5, 4, 3, 2, 1].map(id));
    expect(pages).toBe(3);
  });

  it('bounds failedAt by from (inclusive) and to (exclusive)', async () => {
    const { service, repository } = setup();
    for (let n = 1; n <= 5; n++) repository.insert(quarantined(n, { order_id: `o-${n}` }));

    const page = await service.list('orders', { limit: 100, from: at(2).toISOString(), to: at(4).toISOString() });

    expect(page.items.map((d) => d.id)).toEqual([id(3), id(2)]);
  });

  it.each([
    ['a token of another source', async (s: DeadLettersService) => (await s.list('orders', { limit: 1 })).nextPageToken!, 'clicks', /different query/],
    ['a garbage token', async () => 'garbage', 'orders', /pageToken is not valid/],
    [
      'a GET /records token',
      async () => encodePageToken({ source: 'orders', from: 0, to: 1, day: '2026-01-01', bucket: Date.parse('2026-01-01') }, KEY),
      'orders',
      /pageToken is not valid/,
    ],
    [
      'a token sealed with another key',
      async () => sealPageToken({ v: 1, k: 'dead-letters', s: 'orders', f: 0, t: 1, p: 'AAAA' }, pageTokenKey('another-secret-0123456789')),
      'orders',
      /pageToken is not valid/,
    ],
  ])('refuses %s with 400', async (_case, tokenOf, source, message) => {
    const { service, repository } = setup();
    repository.insert(quarantined(1, {}), quarantined(2, {}));

    const err = await rejection(service.list(source, { limit: 1, pageToken: await tokenOf(service) }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toMatch(message);
  });

  it('refuses a bad or empty range with 400, and an unknown source with 404', async () => {
    const { service } = setup();

    expect((await rejection(service.list('orders', { limit: 1, from: 'yesterday' }))).message).toMatch(/^from must be a real calendar date/);
    expect((await rejection(service.list('orders', { limit: 1, from: at(2).toISOString(), to: at(1).toISOString() }))).message).toBe(
      'from must be earlier than to',
    );
    expect(await rejection(service.list('payments', { limit: 1 }))).toBeInstanceOf(NotFoundError);
  });
});

describe('DeadLettersService.replay', () => {
  const bad = { order_id: 'o-1', amount: '10' };

  it('replays nothing while the event still fails the schema: it is listed in stillFailing with the current reasons', async () => {
    const { service, repository, kafka } = setup();
    repository.insert(quarantined(1, bad));

    const result = await service.replay('orders', { ids: [id(1)] });

    expect(result).toEqual({
      replayed: 0,
      eventIds: [],
      alreadyReplayed: 0,
      stillFailing: [{ id: id(1), reasons: [{ field: '/amount', message: 'must be number' }] }],
    });
    expect(kafka.publish).not.toHaveBeenCalled();
    expect(repository.row('orders', id(1))!.replayedAt).toBeUndefined();
  });

  it("once the schema accepts it, publishes it to the source's topic under its own event id and receivedAt, then marks it replayed", async () => {
    const { build, repository, kafka, metrics } = setup();
    repository.insert(quarantined(1, bad));
    const service = build(sourcesRegistry(FIXED));

    const result = await service.replay('orders', { ids: [id(1)] });

    expect(result).toEqual({ replayed: 1, eventIds: [id(1)], alreadyReplayed: 0, stillFailing: [] });
    const [message] = publishedEnvelopes(kafka);
    expect(message).toEqual({
      topic: 'ingest.orders',
      key: 'o-1',
      envelope: { eventId: id(1), source: 'orders', receivedAt: at(1).toISOString(), key: 'o-1', replayedAt: expect.any(String), payload: bad },
    });
    const row = repository.row('orders', id(1))!;
    expect(row.replayedEventId).toBe(id(1));
    expect(row.replayedAt!.toISOString()).toBe(message.envelope.replayedAt);
    expect(await metricValue(metrics, 'pipeline_events_replayed_total', { source: 'orders' })).toBe(1);
  });

  it('replays nothing the second time: the dead letter counts as already replayed', async () => {
    const { build, repository, kafka } = setup();
    repository.insert(quarantined(1, bad));
    const service = build(sourcesRegistry(FIXED));
    await service.replay('orders', { ids: [id(1)] });

    const again = await service.replay('orders', { ids: [id(1)] });
    const all = await service.replay('orders', { all: true });

    expect(again).toEqual({ replayed: 0, eventIds: [], alreadyReplayed: 1, stillFailing: [] });
    expect(all).toEqual({ replayed: 0, eventIds: [], alreadyReplayed: 1, stillFailing: [] });
    expect(kafka.publish).toHaveBeenCalledTimes(1);
  });

  it('keeps a dead letter the stream writes again (a replayed micro-batch) replayed', async () => {
    const { build, repository } = setup();
    repository.insert(quarantined(1, bad));
    const service = build(sourcesRegistry(FIXED));
    await service.replay('orders', { ids: [id(1)] });

    repository.insert(quarantined(1, bad));

    expect((await service.replay('orders', { ids: [id(1)] })).alreadyReplayed).toBe(1);
  });

  it('answers 404 naming the unknown ids, and replays nothing of the request', async () => {
    const { build, repository, kafka } = setup();
    repository.insert(quarantined(1, bad));
    const service = build(sourcesRegistry(FIXED));

    const err = await rejection(service.replay('orders', { ids: [id(1), 'nope'] }));

    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('No dead letter of source "orders" has the id(s) nope; nothing was replayed');
    expect(err.details).toEqual([{ id: 'nope' }]);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('lists a record that holds no event in stillFailing: there is nothing to replay', async () => {
    const { service, repository, kafka } = setup();
    repository.insert(unreadable(7, 2));

    const result = await service.replay('orders', { all: true });

    expect(result.stillFailing).toEqual([
      { id: 'ingest.orders:1:7', reasons: [{ field: '/', message: expect.stringMatching(/^holds no event to replay: .*\(invalid_json\)/) }] },
    ]);
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('replays all, or those that failed in [from, to), oldest first, each under its key', async () => {
    const { build, repository, kafka } = setup();
    for (let n = 1; n <= 4; n++) repository.insert(quarantined(n, { order_id: `o-${n}`, amount: `${n}` }));
    repository.insert(quarantined(5, { order_id: 'o-5', amount: 'five' }));
    const service = build(sourcesRegistry(FIXED));

    const range = await service.replay('orders', { from: at(2).toISOString(), to: at(4).toISOString() });
    const rest = await service.replay('orders', { all: true });

    expect(range).toEqual({ replayed: 2, eventIds: [id(2), id(3)], alreadyReplayed: 0, stillFailing: [] });
    expect(rest.eventIds).toEqual([id(1), id(4)]);
    expect(rest.alreadyReplayed).toBe(2);
    expect(rest.stillFailing).toEqual([{ id: id(5), reasons: [expect.objectContaining({ field: '/amount' })] }]);
    expect(publishedEnvelopes(kafka).map((m) => m.key)).toEqual(['o-2', 'o-3', 'o-1', 'o-4']);
  });

  it.each<[string, object]>([
    ['nothing', {}],
    ['all: false', { all: false }],
    ['ids and all', { ids: [id(1)], all: true }],
    ['ids and a range', { ids: [id(1)], from: at(0).toISOString() }],
    ['a range and all', { to: at(9).toISOString(), all: true }],
  ])('refuses a body that selects %s with 400 saying the three ways', async (_case, body) => {
    const { service, kafka } = setup();

    const err = await rejection(service.replay('orders', body));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toMatch(/^Say which dead letters to replay, in one way: \{"ids": \[\.\.\.\]\}, \{"from": \.\.\., "to": \.\.\.\}, or \{"all": true\}$/);
    expect(err.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'all' })]));
    expect(kafka.publish).not.toHaveBeenCalled();
  });

  it('answers 404 for an unknown source', async () => {
    const { service } = setup();
    expect(await rejection(service.replay('payments', { all: true }))).toBeInstanceOf(NotFoundError);
  });

  it('refuses a selection of more than INGEST_MAX_EVENTS dead letters not replayed yet, publishing nothing', async () => {
    const { build, repository, kafka } = setup(STRICT, { INGEST_MAX_EVENTS: '3' });
    for (let n = 1; n <= 4; n++) repository.insert(quarantined(n, { order_id: `o-${n}`, amount: '1' }));
    const service = build(sourcesRegistry(FIXED));

    const err = await rejection(service.replay('orders', { all: true }));

    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toMatch(/more than 3 dead letters not replayed yet: narrow it with from and to/);
    expect(kafka.publish).not.toHaveBeenCalled();
    await expect(service.replay('orders', { to: at(4).toISOString() })).resolves.toMatchObject({ replayed: 3 });
  });

  it('publishes a large selection in several requests, marking each chunk once Kafka acknowledged it', async () => {
    const { build, repository, kafka } = setup();
    for (let n = 1; n <= 600; n++) repository.insert(quarantined(n, { order_id: `o-${n}`, amount: '1' }));
    const service = build(sourcesRegistry(FIXED));

    const result = await service.replay('orders', { all: true });

    expect(result.replayed).toBe(600);
    expect(kafka.publish.mock.calls.map(([, messages]) => messages.length)).toEqual([500, 100]);
    expect(result.eventIds).toEqual(Array.from({ length: 600 }, (_, i) => id(i + 1)));
  });

  it('answers 503 when Kafka does not acknowledge, marks nothing, and the retry replays them', async () => {
    const { build, repository, kafka } = setup();
    repository.insert(quarantined(1, bad));
    const service = build(sourcesRegistry(FIXED));
    kafka.publish.mockRejectedValueOnce(new UpstreamUnavailableError('Kafka', 'Kafka did not acknowledge the events within 5000 ms'));

    expect(await rejection(service.replay('orders', { ids: [id(1)] }))).toBeInstanceOf(UpstreamUnavailableError);
    expect(repository.row('orders', id(1))!.replayedAt).toBeUndefined();

    await expect(service.replay('orders', { ids: [id(1)] })).resolves.toMatchObject({ replayed: 1, eventIds: [id(1)] });
  });

  it('publishes the same event again after a failure between publish and mark: same id, same receivedAt, so the stream stores it once', async () => {
    const { build, repository, kafka } = setup();
    repository.insert(quarantined(1, bad));
    const service = build(sourcesRegistry(FIXED));
    repository.markReplayed.mockRejectedValueOnce(new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: no host answered'));

    expect(await rejection(service.replay('orders', { ids: [id(1)] }))).toBeInstanceOf(UpstreamUnavailableError);
    const retried = await service.replay('orders', { ids: [id(1)] });

    expect(retried).toMatchObject({ replayed: 1, eventIds: [id(1)] });
    const [first, second] = publishedEnvelopes(kafka);
    expect(second.envelope.eventId).toBe(first.envelope.eventId);
    expect(second.envelope.receivedAt).toBe(first.envelope.receivedAt);
    expect(second.key).toBe(first.key);
  });

  it('counts a dead letter another replay marked meanwhile as already replayed, not as replayed by this one', async () => {
    const { build, repository } = setup();
    repository.insert(quarantined(1, bad), quarantined(2, { order_id: 'o-2', amount: '2' }));
    const service = build(sourcesRegistry(FIXED));
    // The other replay's transaction applied first for dead letter 1.
    repository.markReplayed.mockImplementationOnce(async () => false);

    const result = await service.replay('orders', { all: true });

    expect(result).toEqual({ replayed: 1, eventIds: [id(2)], alreadyReplayed: 1, stillFailing: [] });
  });
});
