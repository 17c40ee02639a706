import { testConfig } from '../common/testing/config';
import { BatchHistoryRepository, BatchRecord } from './batch-history.repository';
import { PagingCassandraClient } from './testing/paging-cassandra.client';

const DAY_SECONDS = 86_400;

const ID = '019ad5c2-8f3e-7b21-9c4d-000000000004';
const idOf = (n: number) => `019ad5c2-8f3e-7b21-9c4d-${String(n).padStart(12, '0')}`;

/** A batches row as the driver returns it. */
const row = (n: number, fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: idOf(n),
  livy_id: n,
  job: 'daily_rollup',
  name: `daily_rollup-${idOf(n)}`,
  state: 'success',
  app_id: null,
  args: '["--day","2026-01-01"]',
  conf: null,
  submitted_at: new Date(Date.UTC(2026, 0, 2) + n * 1000),
  finished_at: null,
  ...fields,
});

const batch: BatchRecord = {
  id: ID,
  livyId: 4,
  job: 'daily_rollup',
  name: `daily_rollup-${ID}`,
  state: 'running',
  appId: 'application_1_0004',
  args: ['--day', '2026-01-01'],
  conf: { 'spark.executor.memory': '1g', 'spark.jars.packages': 'org.example:lib:1' },
  submittedAt: new Date('2026-01-02T00:00:00.000Z'),
};
const CONF_JSON = '{"spark.executor.memory":"1g","spark.jars.packages":"org.example:lib:1"}';

function setup(rows: Record<string, unknown>[] = [], env: Record<string, string> = {}) {
  const cassandra = new PagingCassandraClient(rows);
  return { cassandra, repository: new BatchHistoryRepository(cassandra.client, testConfig(env)) };
}

describe('BatchHistoryRepository.list', () => {
  it('returns every row of the history, not only the first page', async () => {
    const rows = Array.from({ length: 12_345 }, (_, i) => row(i));
    const { cassandra, repository } = setup(rows);

    const records = await repository.list();

    expect(records).toHaveLength(12_345);
    expect(records.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(cassandra.execute.mock.calls.length).toBeGreaterThan(1);
    expect(cassandra.execute.mock.calls.every(([query]) => query.includes('FROM pipeline.batches'))).toBe(true);
  });

  it('maps a row to a record, absent columns to undefined', async () => {
    const finishedAt = new Date('2026-01-02T00:05:00.000Z');
    const { repository } = setup([
      row(4, { app_id: 'application_1_0004', state: 'killed', finished_at: finishedAt }),
      row(5, { name: null, state: null, args: null }),
    ]);

    const [killed, bare] = await repository.list();

    expect(killed).toEqual({
      id: idOf(4),
      livyId: 4,
      job: 'daily_rollup',
      name: `daily_rollup-${idOf(4)}`,
      state: 'killed',
      appId: 'application_1_0004',
      args: ['--day', '2026-01-01'],
      submittedAt: new Date(Date.UTC(2026, 0, 2) + 4000),
      finishedAt,
    });
    expect(bare).toMatchObject({ id: idOf(5), name: undefined, state: undefined, appId: undefined, args: [], conf: undefined, finishedAt: undefined });
  });

  it('reads back the conf a batch was submitted with', async () => {
    const { repository } = setup([row(6, { conf: CONF_JSON })]);

    const [withConf] = await repository.list();

    expect(withConf.conf).toEqual(batch.conf);
  });
});

describe('BatchHistoryRepository.record', () => {
  it('writes the row with an UPDATE (no row marker, so the finish TTL later covers the whole row)', async () => {
    const { cassandra, repository } = setup();

    await repository.record(batch);

    const [[query, params]] = cassandra.execute.mock.calls;
    expect(query).toMatch(
      /^UPDATE pipeline\.batches SET livy_id = \?, job = \?, name = \?, state = \?, app_id = \?, args = \?, conf = \?, submitted_at = \?, finished_at = \? WHERE id = \?$/,
    );
    expect(params).toEqual([
      4,
      'daily_rollup',
      `daily_rollup-${ID}`,
      'running',
      'application_1_0004',
      '["--day","2026-01-01"]',
      CONF_JSON,
      batch.submittedAt,
      null,
      ID,
    ]);
  });
});

describe('BatchHistoryRepository.finish', () => {
  const at = new Date('2026-01-02T01:00:00.000Z');

  it('records the first finish in one lightweight transaction that rewrites every cell with the retention TTL (30 days by default)', async () => {
    const { cassandra, repository } = setup();

    await repository.finish(batch, 'success', at);

    expect(cassandra.execute).toHaveBeenCalledTimes(1);
    const [[query, params]] = cassandra.execute.mock.calls;
    expect(query).toMatch(
      /^UPDATE pipeline\.batches USING TTL \? SET livy_id = \?, job = \?, name = \?, state = \?, app_id = \?, args = \?, conf = \?, submitted_at = \?, finished_at = \? WHERE id = \? IF finished_at = null$/,
    );
    expect(params).toEqual([
      30 * DAY_SECONDS,
      4,
      'daily_rollup',
      `daily_rollup-${ID}`,
      'success',
      'application_1_0004',
      '["--day","2026-01-01"]',
      CONF_JSON,
      batch.submittedAt,
      at,
      ID,
    ]);
  });

  it('takes the TTL from BATCH_HISTORY_RETENTION_DAYS', async () => {
    const { cassandra, repository } = setup([], { BATCH_HISTORY_RETENTION_DAYS: '7' });

    await repository.finish(batch, 'lost', at);

    const [[, params]] = cassandra.execute.mock.calls;
    expect(params[0]).toBe(7 * DAY_SECONDS);
    expect(params[4]).toBe('lost');
  });
});
