import { types } from 'cassandra-driver';
import { DeadLettersRepository } from './dead-letters.repository';
import { PagingCassandraClient } from './testing/paging-cassandra.client';

const row = (id: string, failedAt: string, fields: Record<string, unknown> = {}) => ({
  source: 'orders',
  failed_at: new Date(failedAt),
  id,
  topic: 'ingest.orders.dlq',
  partition: 1,
  offset: types.Long.fromNumber(42),
  reason: 'schema',
  reasons: '[{"field":"/amount","message":"must be number"}]',
  schema_hash: 'abc',
  payload: '{"amount":"ten"}',
  raw: null,
  event_id: id,
  received_at: new Date(failedAt),
  replayed_at: null,
  replayed_event_id: null,
  ...fields,
});

describe('DeadLettersRepository', () => {
  it("reads a page of a source's partition between two instants, newest first as the table clusters it", async () => {
    const cassandra = new PagingCassandraClient([row('e-2', '2026-01-02T00:00:00Z'), row('e-1', '2026-01-01T00:00:00Z')]);
    const repository = new DeadLettersRepository(cassandra.client);
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-02-01T00:00:00Z');

    const page = await repository.page('orders', from, to, 1);

    const [[query, params, options]] = cassandra.execute.mock.calls;
    expect(query).toMatch(/^SELECT source, failed_at, id, .* FROM pipeline\.dead_letters WHERE source = \? AND failed_at >= \? AND failed_at < \?$/);
    expect(params).toEqual(['orders', from, to]);
    expect(options).toEqual({ fetchSize: 1, pageState: undefined });
    expect(page.pageState).toBeDefined();
    expect(page.deadLetters).toEqual([
      {
        source: 'orders',
        failedAt: new Date('2026-01-02T00:00:00Z'),
        id: 'e-2',
        topic: 'ingest.orders.dlq',
        partition: 1,
        offset: 42,
        reason: 'schema',
        reasons: '[{"field":"/amount","message":"must be number"}]',
        schemaHash: 'abc',
        payload: '{"amount":"ten"}',
        raw: undefined,
        eventId: 'e-2',
        receivedAt: new Date('2026-01-02T00:00:00Z'),
        replayedAt: undefined,
        replayedEventId: undefined,
      },
    ]);
  });

  it('finds dead letters by id, filtering the partition, a hundred ids per query', async () => {
    const cassandra = new PagingCassandraClient([row('e-1', '2026-01-01T00:00:00Z')]);
    const repository = new DeadLettersRepository(cassandra.client);
    const ids = Array.from({ length: 150 }, (_, i) => `e-${i}`);

    await repository.byIds('orders', ids);

    expect(cassandra.execute).toHaveBeenCalledTimes(2);
    const [[query, first], [, second]] = cassandra.execute.mock.calls;
    expect(query).toMatch(/WHERE source = \? AND id IN \? ALLOW FILTERING$/);
    expect(first).toEqual(['orders', ids.slice(0, 100)]);
    expect(second).toEqual(['orders', ids.slice(100)]);
  });

  it('marks a dead letter replayed with a lightweight transaction that applies once, and only to an existing row', async () => {
    const cassandra = new PagingCassandraClient();
    const repository = new DeadLettersRepository(cassandra.client);
    const failedAt = new Date('2026-01-01T00:00:00Z');
    const at = new Date('2026-01-03T00:00:00Z');
    cassandra.answerOnce([{ '[applied]': true }]);
    cassandra.answerOnce([{ '[applied]': false, replayed_at: at, event_id: 'e-1' }]);

    const deadLetter = { source: 'orders', failedAt, id: 'e-1', reason: 'schema', eventId: 'e-1' };
    await expect(repository.markReplayed(deadLetter, at, 'e-1')).resolves.toBe(true);
    await expect(repository.markReplayed(deadLetter, at, 'e-1')).resolves.toBe(false);

    const [[query, params]] = cassandra.execute.mock.calls;
    expect(query).toBe(
      'UPDATE pipeline.dead_letters SET replayed_at = ?, replayed_event_id = ? WHERE source = ? AND failed_at = ? AND id = ? IF replayed_at = null AND event_id = ?',
    );
    expect(params).toEqual([at, 'e-1', 'orders', failedAt, 'e-1', 'e-1']);
  });
});
