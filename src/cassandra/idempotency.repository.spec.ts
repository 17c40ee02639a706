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

  it('answers the entry that holds a key already, from the transaction', async () => {
    const { cassandra, keys } = setup();
    cassandra.answerOnce([{ '[applied]': false, body_hash: 'h0', state: 'done', response: '{"accepted":1}', owner: 'req-0', created_at: createdAt }]);

    await expect(keys.claim('users', 'k', claim, 30)).resolves.toEqual({
      bodyHash: 'h0',
      state: 'done',
      response: '{"accepted":1}',
      owner: 'req-0',
      createdAt,
    });
  });

  it('stores the answer rewriting every cell with the kept TTL (a TTL is per cell), only for the owner', async () => {
    const { cassandra, keys } = setup();
    cassandra.answerOnce([{ '[applied]': true }]);

    await expect(keys.complete('users', 'k', { ...claim, response: '{"accepted":1}' }, 86400)).resolves.toBe(true);

    const [[query, params]] = cassandra.execute.mock.calls;
    expect(query).toBe(
      "UPDATE pipeline.idempotency_keys USING TTL ? SET body_hash = ?, state = 'done', response = ?, owner = ?, created_at = ? WHERE source = ? AND key = ? IF owner = ?",
    );
    expect(params).toEqual([86400, 'h1', '{"accepted":1}', 'req-1', createdAt, 'users', 'k', 'req-1']);
  });

  it('marks a failure for the owner, and lets a retry take it over only from that failure', async () => {
    const { cassandra, keys } = setup();
    cassandra.answerOnce([{ '[applied]': true }]);
    cassandra.answerOnce([{ '[applied]': false, state: 'in_flight' }]);

    await keys.fail('users', 'k', claim, 86400);
    await expect(keys.takeOver('users', 'k', { ...claim, owner: 'req-2' }, 'req-1', 30)).resolves.toBe(false);

    const [[failQuery, failParams], [takeQuery, takeParams]] = cassandra.execute.mock.calls;
    expect(failQuery).toBe(
      "UPDATE pipeline.idempotency_keys USING TTL ? SET body_hash = ?, state = 'failed', owner = ?, created_at = ? WHERE source = ? AND key = ? IF owner = ?",
    );
    expect(failParams).toEqual([86400, 'h1', 'req-1', createdAt, 'users', 'k', 'req-1']);
    expect(takeQuery).toBe(
      "UPDATE pipeline.idempotency_keys USING TTL ? SET body_hash = ?, state = 'in_flight', owner = ?, created_at = ? WHERE source = ? AND key = ? IF state = 'failed' AND owner = ?",
    );
    expect(takeParams).toEqual([30, 'h1', 'req-2', createdAt, 'users', 'k', 'req-1']);
  });
});
