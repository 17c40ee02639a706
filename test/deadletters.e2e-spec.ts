import { INestApplication } from '@nestjs/common';
import { AUTH, ConsumedMessage, eventually, readEvents, startApp } from './support/harness';
import { pipelineOf } from './support/pipeline';

const DLQ = 'ingest.orders.dlq';

interface DeadLetterItem {
  id: string;
  source: string;
  reason: string;
  failedAt: string;
  eventId?: string;
  receivedAt?: string;
  payload?: unknown;
  reasons?: { field: string; message: string }[];
  topic?: string;
  replayedAt?: string;
  replayedEventId?: string;
}

/**
 * Quarantine and replay on the real stack: orders (config/sources.yaml) quarantines an order that
 * fails its schema into ingest.orders.dlq, the stack's streaming job stores it in dead_letters, and
 * once the registry's schema accepts it (a compatible change over the API, undone afterwards), a replay stores it in events_by_bucket
 * exactly once. The stack's stream must read the dead-letter topic: its supervisor (the stack's API,
 * built from this checkout) restarts it with that topic when it lacks it.
 */
describe('quarantine and replay of invalid orders against the real Kafka, stream and Cassandra', () => {
  let app: INestApplication;
  let flow: ReturnType<typeof pipelineOf>;
  let wasDesired: string;
  const since = Date.now();
  const orderId = `dl-${since}`;
  const invalid = { order_id: orderId, amount: 'ten', currency: 'EUR' };
  let quarantinedId: string;
  let quarantinedAt: string;

  const deadLetter = async (api: ReturnType<typeof pipelineOf>, id: string): Promise<DeadLetterItem | undefined> => {
    const from = new Date(since - 60_000).toISOString();
    const res = await api.api().get(`/api/v1/dead-letters/orders?from=${from}&limit=1000`).set(AUTH).expect(200);
    return (res.body.items as DeadLetterItem[]).find((d) => d.id === id);
  };

  type Settings = Record<string, unknown> & { schema: { properties: Record<string, unknown> } };
  /** The fields of a source resource that are not settings (PUT takes the settings). */
  const RESOURCE_FIELDS = ['name', 'version', 'schemaVersion', 'createdAt', 'updatedAt', 'archivedAt'];
  /** The orders source's settings as GET /sources/orders answers them. */
  const ordersSettings = async (): Promise<Settings> => {
    const res = await flow.api().get('/api/v1/sources/orders').set(AUTH).expect(200);
    return Object.fromEntries(Object.entries(res.body as Record<string, unknown>).filter(([k]) => !RESOURCE_FIELDS.includes(k))) as Settings;
  };
  const putOrders = async (settings: Record<string, unknown>): Promise<void> => {
    const current = await flow.api().get('/api/v1/sources/orders').set(AUTH).expect(200);
    await flow.api().put('/api/v1/sources/orders').set(AUTH).set('If-Match', String(current.headers.etag)).send(settings).expect(200);
  };
  const widened = (schema: Settings['schema']) => ({ ...schema, properties: { ...schema.properties, amount: { type: ['number', 'string'] } } });

  beforeAll(async () => {
    app = await startApp();
    flow = pipelineOf(app.getHttpServer());
    wasDesired = (await flow.streaming()).desired;
    await flow.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
  }, 120_000);

  afterAll(async () => {
    if (wasDesired === 'stopped') await flow.api().post('/api/v1/streaming/stop').set(AUTH);
    await app?.close();
  }, 120_000);

  it('has the stream read the dead-letter topic of orders', async () => {
    const stream = await eventually(
      `the stream running and reading ${DLQ} (the stack's API must be built from this checkout to add it)`,
      async () => {
        const s = await flow.streaming();
        return /^running/.test(s.state) && s.reading?.includes(DLQ) ? s : undefined;
      },
      240_000,
      2000,
    );
    expect(stream.topics).toContain(DLQ);
  }, 250_000);

  it('quarantines an invalid order: 202 naming it, its envelope in the dead-letter topic, then listed in GET /dead-letters', async () => {
    const res = await flow
      .api()
      .post('/api/v1/ingest/orders')
      .set(AUTH)
      .send([{ order_id: `${orderId}-ok`, amount: 1, currency: 'EUR' }, invalid])
      .expect(202);
    const ids = res.body.eventIds as string[];
    expect(res.body).toEqual({
      accepted: 1,
      eventIds: [expect.any(String), expect.any(String)],
      quarantined: 1,
      quarantinedEvents: [{ index: 1, eventId: ids[1], reasons: [{ field: '/amount', message: 'must be number' }] }],
    });
    quarantinedId = ids[1];

    const sources = await flow.api().get('/api/v1/sources').set(AUTH).expect(200);
    const orders = sources.body.sources.find((s: { name: string }) => s.name === 'orders');
    expect(orders).toMatchObject({ onInvalid: 'quarantine', deadLetterTopic: DLQ, schemaHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const message = (await readEvents(DLQ, [quarantinedId])).get(quarantinedId)!;
    const envelope = message.value as ConsumedMessage['value'] & { reasons: unknown; schemaHash: string };
    expect(message.key).toBe(orderId);
    expect(envelope).toEqual({
      eventId: quarantinedId,
      source: 'orders',
      receivedAt: expect.any(String),
      key: orderId,
      reasons: [{ field: '/amount', message: 'must be number' }],
      schemaHash: orders.schemaHash,
      payload: invalid,
    });
    quarantinedAt = envelope.receivedAt;

    // The valid order of the same request is stored as usual.
    await flow.expectStored('orders', [ids[0]], since, { counts: false });
    const listed = await eventually('the quarantined order in GET /dead-letters/orders', () => deadLetter(flow, quarantinedId), 180_000, 1000);
    expect(listed).toMatchObject({
      source: 'orders',
      reason: 'schema',
      eventId: quarantinedId,
      receivedAt: quarantinedAt,
      failedAt: quarantinedAt,
      payload: invalid,
      reasons: [{ field: '/amount', message: 'must be number' }],
      schemaHash: orders.schemaHash,
      topic: DLQ,
    });
    expect(listed.replayedAt).toBeUndefined();
    expect(await flow.allRecords('orders', since - 60_000, Date.now() + 60_000)).not.toContain(quarantinedId);
  }, 400_000);

  it('replays nothing while the schema still refuses it, and says why', async () => {
    const res = await flow
      .api()
      .post('/api/v1/dead-letters/orders/replay')
      .set(AUTH)
      .send({ ids: [quarantinedId] })
      .expect(200);

    expect(res.body).toEqual({
      replayed: 0,
      eventIds: [],
      alreadyReplayed: 0,
      stillFailing: [{ id: quarantinedId, reasons: [{ field: '/amount', message: 'must be number' }] }],
    });
  });

  it('replays it once the registry accepts it: stored in GET /records exactly once, and a second replay replays nothing', async () => {
    // The registry's orders accepts a string amount for the length of this test (a compatible change), then is put back.
    const original = await ordersSettings();
    await putOrders({ ...original, schema: widened(original.schema) });
    const api = flow;
    try {
      const first = await api
        .api()
        .post('/api/v1/dead-letters/orders/replay')
        .set(AUTH)
        .send({ ids: [quarantinedId] })
        .expect(200);
      expect(first.body).toEqual({ replayed: 1, eventIds: [quarantinedId], alreadyReplayed: 0, stillFailing: [] });

      await api.expectStored('orders', [quarantinedId], since, { counts: false });
      const second = await api
        .api()
        .post('/api/v1/dead-letters/orders/replay')
        .set(AUTH)
        .send({ ids: [quarantinedId] })
        .expect(200);
      expect(second.body).toEqual({ replayed: 0, eventIds: [], alreadyReplayed: 1, stillFailing: [] });

      const marked = await deadLetter(api, quarantinedId);
      expect(marked).toMatchObject({ replayedEventId: quarantinedId, replayedAt: expect.any(String) });
      // Stored under its own id and receivedAt, with the payload as ingested; still once a while later.
      await new Promise((r) => setTimeout(r, 5000));
      const res = await api
        .api()
        .get(`/api/v1/records/orders?from=${new Date(since - 60_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}&limit=1000`)
        .set(AUTH)
        .expect(200);
      const stored = (res.body.items as { eventId: string; receivedAt: string; payload: unknown }[]).filter((r) => r.eventId === quarantinedId);
      expect(stored).toEqual([expect.objectContaining({ eventId: quarantinedId, receivedAt: quarantinedAt, payload: invalid })]);
    } finally {
      // Narrowing back is not backward-compatible: the original schema goes back under compatibility none, then its own mode.
      await putOrders({ ...original, compatibility: 'none' });
      await putOrders(original);
    }
  }, 400_000);

  it('answers 404 for an unknown source and for an unknown dead letter', async () => {
    await flow.api().get('/api/v1/dead-letters/nope').set(AUTH).expect(404);
    const res = await flow
      .api()
      .post('/api/v1/dead-letters/orders/replay')
      .set(AUTH)
      .send({ ids: ['no-such-dead-letter'] })
      .expect(404);
    expect(res.body.details).toEqual([{ id: 'no-such-dead-letter' }]);
  });
});
