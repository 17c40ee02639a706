import { SchedulesRepository } from './schedules.repository';
import { PagingCassandraClient } from './testing/paging-cassandra.client';

const COUNT = 12_345;
const CREATED = Date.UTC(2026, 0, 1);

/** A schedules row as the driver returns it; Cassandra hands rows out in token order, not creation order. */
const row = (n: number): Record<string, unknown> => ({
  id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
  name: `schedule-${n}`,
  cron: '*/5 * * * *',
  timezone: 'UTC',
  enabled: n % 2 === 0,
  target_kind: 'job',
  target_name: 'daily_rollup',
  target_params: JSON.stringify({ sources: ['users'] }),
  created_at: new Date(CREATED + n * 60_000),
  updated_at: new Date(CREATED + n * 60_000),
});

describe('SchedulesRepository.list', () => {
  it('returns every schedule, not only the first page, oldest first', async () => {
    // A fixed shuffle of 0..COUNT-1 (7919 is prime, so n * 7919 mod COUNT visits every n once).
    const cassandra = new PagingCassandraClient(Array.from({ length: COUNT }, (_, i) => row((i * 7919) % COUNT)));
    const repository = new SchedulesRepository(cassandra.client);

    const schedules = await repository.list();

    expect(schedules).toHaveLength(COUNT);
    expect(schedules.map((s) => s.name)).toEqual(Array.from({ length: COUNT }, (_, n) => `schedule-${n}`));
    expect(cassandra.execute.mock.calls.length).toBeGreaterThan(1);
    expect(cassandra.execute.mock.calls.every(([query]) => query === 'SELECT * FROM pipeline.schedules')).toBe(true);
  });

  it('maps a row to a schedule', async () => {
    const cassandra = new PagingCassandraClient([row(3)]);

    await expect(new SchedulesRepository(cassandra.client).list()).resolves.toEqual([
      {
        id: '00000000-0000-4000-8000-000000000003',
        name: 'schedule-3',
        cron: '*/5 * * * *',
        timezone: 'UTC',
        enabled: false,
        target: { kind: 'job', name: 'daily_rollup', params: { sources: ['users'] } },
        createdAt: new Date(CREATED + 180_000),
        updatedAt: new Date(CREATED + 180_000),
      },
    ]);
  });
});
