import { IdempotencyRepository } from './idempotency.repository';
import { PagingCassandraClient } from './testing/paging-cassandra.client';

function setup() {
  const cassandra = new PagingCassandraClient();
  return { cassandra, keys: new IdempotencyRepository(cassandra.client) };
}

const createdAt = new Date('2026-11-30T12:00:00.000Z');
const claim = { bodyHash: 'h1', owner: 'req-1', createdAt };

describe('IdempotencyRepository', () => {
  it('claims a free key with IF NOT EXISTS and the claim TTL', async () => {
    const { cassandra, keys } = setup();
    cassandra.answerOnce([{ '[applied]': true }]);

    await expect(keys.claim('users', 'k', claim, 30)).resolves.toBeUndefined();

    const [[query, params]] = cassandra.execute.mock.calls;
    expect(query).toBe(
      "INSERT INTO pipeline.idempotency_keys (source, key, body_hash, state, owner, created_at) VALUES (?, ?, ?, 'in_flight', ?, ?) IF NOT EXISTS USING TTL ?",
    );
    expect(params).toEqual(['users', 'k', 'h1', 'req-1', createdAt, 30]);
  });

  it('answers the claim that holds a key already, from the transaction', async () => {
    const { cassandra, keys } = setup();
    cassandra.answerOnce([{ '[applied]': false, body_hash: 'h0', state: 'failed', owner: 'req-0', created_at: createdAt }]);

    await expect(keys.claim('users', 'k', claim, 30)).resolves.toEqual({ bodyHash: 'h0', state: 'failed', owner: 'req-0', createdAt });
  });

  it('stores and reads answers in their own table with plain statements, never beside the transactions', async () => {
    const { cassandra, keys } = setup();
    cassandra.answerOnce([]);
    cassandra.answerOnce([{ owner: 'req-1', response: '{"accepted":1}' }]);

    await keys.answer('users', 'k', 'req-1', '{"accepted":1}', 86400);
    await expect(keys.answerOf('users', 'k')).resolves.toEqual({ owner: 'req-1', response: '{"accepted":1}' });

    const [[insert, insertParams], [select, selectParams]] = cassandra.execute.mock.calls;
    expect(insert).toBe('INSERT INTO pipeline.idempotency_answers (source, key, owner, response) VALUES (?, ?, ?, ?) USING TTL ?');
    expect(insertParams).toEqual(['users', 'k', 'req-1', '{"accepted":1}', 86400]);
    expect(select).toBe('SELECT owner, response FROM pipeline.idempotency_answers WHERE source = ? AND key = ?');
    expect(selectParams).toEqual(['users', 'k']);
  });

  it('marks a failure for the owner, rewriting every cell (a TTL is per cell), and lets a retry take it over from that owner only', async () => {
    const { cassandra, keys } = setup();
    cassandra.answerOnce([{ '[applied]': true }]);
    cassandra.answerOnce([{ '[applied]': false, owner: 'req-3' }]);

    await keys.fail('users', 'k', claim, 86400);
    await expect(keys.takeOver('users', 'k', { ...claim, owner: 'req-2' }, 'req-1', 86400)).resolves.toBe(false);

    const [[failQuery, failParams], [takeQuery, takeParams]] = cassandra.execute.mock.calls;
    expect(failQuery).toBe(
      "UPDATE pipeline.idempotency_keys USING TTL ? SET body_hash = ?, state = 'failed', owner = ?, created_at = ? WHERE source = ? AND key = ? IF owner = ?",
    );
    expect(failParams).toEqual([86400, 'h1', 'req-1', createdAt, 'users', 'k', 'req-1']);
    expect(takeQuery).toBe(
      "UPDATE pipeline.idempotency_keys USING TTL ? SET body_hash = ?, state = 'in_flight', owner = ?, created_at = ? WHERE source = ? AND key = ? IF owner = ?",
    );
    expect(takeParams).toEqual([86400, 'h1', 'req-2', createdAt, 'users', 'k', 'req-1']);
  });
});
