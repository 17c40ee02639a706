import { types } from 'cassandra-driver';
import { EventsRepository } from './events.repository';
import { PagingCassandraClient } from './testing/paging-cassandra.client';

const at = (iso: string) => new Date(iso);
const uuid = '0190a5e4-7c1b-7def-8000-000000000001';

describe('EventsRepository', () => {
  it("lists the buckets of a source's day up to a start, newest first, following every page of the index", async () => {
    const index = Array.from({ length: 2500 }, (_, i) => ({ bucket: new Date(Date.parse('2026-01-02T23:59:59Z') - i * 30_000), bucket_seconds: 30 }));
    const cassandra = new PagingCassandraClient(index);
    const repository = new EventsRepository(cassandra.client);

    const buckets = await repository.bucketsOf('clicks', '2026-01-02', at('2026-01-02T23:59:59.999Z'));

    expect(buckets).toHaveLength(2500);
    expect(buckets[0]).toEqual({ start: at('2026-01-02T23:59:59Z'), seconds: 30 });
    const [query, params] = cassandra.execute.mock.calls[0];
    expect(query).toBe('SELECT bucket, bucket_seconds FROM pipeline.event_buckets WHERE source = ? AND day = ? AND bucket <= ?');
    expect(params).toEqual(['clicks', types.LocalDate.fromString('2026-01-02'), at('2026-01-02T23:59:59.999Z')]);
    expect(cassandra.execute).toHaveBeenCalledTimes(3);
  });

  it('reads one page of a bucket partition within [from, to), with the fetch size and paging state given', async () => {
    const cassandra = new PagingCassandraClient([
      {
        event_id: types.Uuid.fromString(uuid),
        received_at: at('2026-01-02T10:00:01Z'),
        key: 'k',
        payload: Buffer.from('{"a":1}'),
        processed_at: at('2026-01-02T10:00:02Z'),
        schema_version: 2,
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        headers: { 'pipeline-source': 'users' },
      },
      // A row written before migrations 11 and 16, or of a source without a schema: no schema version.
      { event_id: types.Uuid.fromString(uuid), received_at: at('2026-01-02T10:00:00Z'), key: null, payload: null, processed_at: null, schema_version: null },
    ]);
    const repository = new EventsRepository(cassandra.client);

    const first = await repository.eventsPage('users', at('2026-01-02T10:00:00Z'), at('2026-01-02T00:00:00Z'), at('2026-01-03T00:00:00Z'), 1);
    const second = await repository.eventsPage('users', at('2026-01-02T10:00:00Z'), at('2026-01-02T00:00:00Z'), at('2026-01-03T00:00:00Z'), 1, first.pageState);

    expect(first.events).toEqual([
      {
        eventId: uuid,
        source: 'users',
        receivedAt: at('2026-01-02T10:00:01Z'),
        key: 'k',
        payload: Buffer.from('{"a":1}'),
        processedAt: at('2026-01-02T10:00:02Z'),
        schemaVersion: 2,
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        headers: { 'pipeline-source': 'users' },
      },
    ]);
    expect(second.events[0].schemaVersion).toBeUndefined();
    expect(second.events[0].traceId).toBeUndefined();
    expect(second.events[0].headers).toBeUndefined();
    expect(second).toEqual({
      events: [{ eventId: uuid, source: 'users', receivedAt: at('2026-01-02T10:00:00Z'), key: undefined, payload: Buffer.alloc(0), processedAt: undefined }],
      pageState: undefined,
    });
    const [query, params, options] = cassandra.execute.mock.calls[1];
    expect(query).toBe(
      'SELECT event_id, received_at, key, textAsBlob(payload) AS payload, processed_at, schema_version, trace_id, headers FROM pipeline.events_by_bucket WHERE source = ? AND bucket = ? AND received_at >= ? AND received_at < ?',
    );
    expect(params).toEqual(['users', at('2026-01-02T10:00:00Z'), at('2026-01-02T00:00:00Z'), at('2026-01-03T00:00:00Z')]);
    expect(options).toEqual({ fetchSize: 1, pageState: first.pageState });
  });

  describe('newestIn', () => {
    it("reads the newest row of the day's newest bucket, and not the older buckets that cannot hold a newer one", async () => {
      const cassandra = new PagingCassandraClient();
      const repository = new EventsRepository(cassandra.client);
      cassandra.answerOnce([
        { bucket: at('2026-01-02T10:00:00Z'), bucket_seconds: 600 },
        { bucket: at('2026-01-02T09:50:00Z'), bucket_seconds: 600 },
        { bucket: at('2026-01-02T09:40:00Z'), bucket_seconds: 600 },
      ]);
      cassandra.answerOnce([{ received_at: at('2026-01-02T10:03:00Z') }]);

      await expect(repository.newestIn('users', '2026-01-02')).resolves.toEqual(at('2026-01-02T10:03:00Z'));

      expect(cassandra.execute.mock.calls.map(([q, p]) => [q, p])).toEqual([
        ['SELECT bucket, bucket_seconds FROM pipeline.event_buckets WHERE source = ? AND day = ? LIMIT 3', ['users', types.LocalDate.fromString('2026-01-02')]],
        ['SELECT received_at FROM pipeline.events_by_bucket WHERE source = ? AND bucket = ? LIMIT 1', ['users', at('2026-01-02T10:00:00Z')]],
      ]);
    });

    it('also reads an older bucket of a larger size that may hold a newer row (the bucket size changed that day)', async () => {
      const cassandra = new PagingCassandraClient();
      const repository = new EventsRepository(cassandra.client);
      cassandra.answerOnce([
        { bucket: at('2026-01-02T10:20:00Z'), bucket_seconds: 600 },
        { bucket: at('2026-01-02T10:00:00Z'), bucket_seconds: 3600 },
      ]);
      cassandra.answerOnce([{ received_at: at('2026-01-02T10:21:00Z') }]);
      cassandra.answerOnce([{ received_at: at('2026-01-02T10:50:00Z') }]);

      await expect(repository.newestIn('users', '2026-01-02')).resolves.toEqual(at('2026-01-02T10:50:00Z'));
    });

    it('answers nothing for a day without buckets, or whose buckets hold no row yet', async () => {
      const cassandra = new PagingCassandraClient();
      const repository = new EventsRepository(cassandra.client);
      cassandra.answerOnce([]);
      await expect(repository.newestIn('users', '2026-01-02')).resolves.toBeUndefined();

      cassandra.answerOnce([{ bucket: at('2026-01-02T10:00:00Z'), bucket_seconds: 3600 }]);
      cassandra.answerOnce([]);
      await expect(repository.newestIn('users', '2026-01-02')).resolves.toBeUndefined();
    });
  });
});
