import { LeasesRepository } from './leases.repository';
import { PagingCassandraClient } from './testing/paging-cassandra.client';

function setup() {
  const cassandra = new PagingCassandraClient();
  return { cassandra, leases: new LeasesRepository(cassandra.client) };
}

describe('LeasesRepository', () => {
  it('takes a free lease with IF NOT EXISTS and a TTL', async () => {
    const { cassandra, leases } = setup();
    cassandra.answerOnce([{ '[applied]': true }]);

    await expect(leases.acquire('supervisor:events_stream', 'a', 15)).resolves.toBe(true);

    const [[query, params]] = cassandra.execute.mock.calls;
    expect(query).toBe('INSERT INTO pipeline.leases (name, holder, acquired_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?');
    expect(params).toEqual(['supervisor:events_stream', 'a', expect.any(Date), 15]);
  });

  it('renews by writing the holder again with the new TTL (a TTL is per cell), only for the holder', async () => {
    const { cassandra, leases } = setup();
    cassandra.answerOnce([{ '[applied]': true }]);

    await expect(leases.renew('supervisor:events_stream', 'a', 15)).resolves.toBe(true);

    const [[query, params]] = cassandra.execute.mock.calls;
    expect(query).toBe('UPDATE pipeline.leases USING TTL ? SET holder = ?, acquired_at = ? WHERE name = ? IF holder = ?');
    expect(params).toEqual([15, 'a', expect.any(Date), 'supervisor:events_stream', 'a']);
  });

  it('holds: renews when held, else tries to take it', async () => {
    const { cassandra, leases } = setup();
    cassandra.answerOnce([{ '[applied]': false }]);
    cassandra.answerOnce([{ '[applied]': true }]);

    await expect(leases.hold('x', 'b', 10)).resolves.toBe(true);

    expect(cassandra.execute.mock.calls.map(([q]) => q.split(' ')[0])).toEqual(['UPDATE', 'INSERT']);
  });

  it('answers false when another holder has the lease', async () => {
    const { cassandra, leases } = setup();
    cassandra.answerOnce([{ '[applied]': false }]);
    cassandra.answerOnce([{ '[applied]': false, holder: 'a' }]);

    await expect(leases.hold('x', 'b', 10)).resolves.toBe(false);
  });
});
