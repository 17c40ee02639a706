import { types } from 'cassandra-driver';
import { PagingCassandraClient } from './testing/paging-cassandra.client';
import { ViewsRepository } from './views.repository';

const ID = '0193b0a4-5b7e-7c1a-9a51-6f0c2f4f5e11';
const at = (iso: string) => new Date(iso);
const definition = { name: 'revenue', source: 'orders', window: '1m', aggregates: [{ fn: 'count' }] };

describe('ViewsRepository', () => {
  it('creates a view with a lightweight transaction, its definition as JSON text; false when the name is taken', async () => {
    const cassandra = new PagingCassandraClient();
    const repository = new ViewsRepository(cassandra.client);
    const view = { name: 'revenue', id: ID, source: 'orders', definition, createdAt: at('2026-12-01T12:00:00Z'), createdBy: '3f9a0c1b2d4e' };

    cassandra.answerOnce([{ '[applied]': true }]);
    await expect(repository.create(view)).resolves.toBe(true);
    cassandra.answerOnce([{ '[applied]': false, name: 'revenue' }]);
    await expect(repository.create(view)).resolves.toBe(false);

    expect(cassandra.execute).toHaveBeenCalledWith(
      'INSERT INTO pipeline.views (name, id, source, definition, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS',
      ['revenue', ID, 'orders', JSON.stringify(definition), view.createdAt, '3f9a0c1b2d4e'],
    );
  });

  it('deletes IF EXISTS, answering whether there was a view', async () => {
    const cassandra = new PagingCassandraClient();
    const repository = new ViewsRepository(cassandra.client);

    cassandra.answerOnce([{ '[applied]': true }]);
    await expect(repository.delete('revenue')).resolves.toBe(true);
    cassandra.answerOnce([{ '[applied]': false }]);
    await expect(repository.delete('revenue')).resolves.toBe(false);
    expect(cassandra.execute).toHaveBeenCalledWith('DELETE FROM pipeline.views WHERE name = ? IF EXISTS', ['revenue']);
  });

  it('lists every view, page after page, its definition parsed and its id as text', async () => {
    const rows = Array.from({ length: 1500 }, (_, i) => ({
      name: `v${i}`,
      id: types.Uuid.fromString(ID),
      source: 'orders',
      definition: JSON.stringify({ ...definition, name: `v${i}` }),
      created_at: at('2026-12-01T12:00:00Z'),
      created_by: 'bootstrap:ab12',
    }));
    const cassandra = new PagingCassandraClient(rows);

    const views = await new ViewsRepository(cassandra.client).list();

    expect(views).toHaveLength(1500);
    expect(views[7]).toEqual({
      name: 'v7',
      id: ID,
      source: 'orders',
      definition: { ...definition, name: 'v7' },
      createdAt: at('2026-12-01T12:00:00Z'),
      createdBy: 'bootstrap:ab12',
    });
    expect(cassandra.execute.mock.calls.length).toBe(2);
  });

  it('reads the status rows of the views asked for, by id, leaving out unset columns', async () => {
    const cassandra = new PagingCassandraClient([
      {
        view_id: types.Uuid.fromString(ID),
        state: 'running',
        error: null,
        late_events: types.Long.fromNumber(3),
        last_epoch: types.Long.fromNumber(41),
        offsets_read: types.Long.fromNumber(1200),
        offsets_available: types.Long.fromNumber(1210),
        watermark: at('2026-12-01T11:59:00Z'),
        run_id: 'r1',
        updated_at: at('2026-12-01T12:00:01Z'),
      },
    ]);

    const statuses = await new ViewsRepository(cassandra.client).statuses([ID]);

    expect(statuses.get(ID)).toEqual({
      viewId: ID,
      state: 'running',
      lateEvents: 3,
      lastEpoch: 41,
      offsetsRead: 1200,
      offsetsAvailable: 1210,
      watermark: at('2026-12-01T11:59:00Z'),
      runId: 'r1',
      updatedAt: at('2026-12-01T12:00:01Z'),
    });
    expect(cassandra.execute.mock.calls[0][0]).toMatch(/FROM pipeline\.view_status WHERE view_id IN \?$/);
    expect(cassandra.execute.mock.calls[0][1]).toEqual([[ID]]);
  });

  it('asks for the statuses of many views 100 ids at a time, and for none of no view', async () => {
    const cassandra = new PagingCassandraClient();
    const repository = new ViewsRepository(cassandra.client);
    const ids = Array.from({ length: 250 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

    await repository.statuses(ids);
    await repository.statuses([]);

    expect(cassandra.execute.mock.calls.map(([, params]) => (params[0] as string[]).length)).toEqual([100, 100, 50]);
  });

  it("reads one page of a day's results, window_start in [from, to), with the driver's paging state", async () => {
    const cassandra = new PagingCassandraClient(
      Array.from({ length: 5 }, (_, i) => ({
        window_start: at(`2026-12-01T12:0${4 - i}:00Z`),
        window_end: at(`2026-12-01T12:0${5 - i}:00Z`),
        group_key: '["EUR"]',
        group_json: '{"/currency":"EUR"}',
        values_json: '{"count":2}',
        updated_at: null,
      })),
    );
    const repository = new ViewsRepository(cassandra.client);
    const from = at('2026-12-01T00:00:00Z');
    const to = at('2026-12-02T00:00:00Z');

    const first = await repository.resultsPage(ID, '2026-12-01', from, to, 3);
    const second = await repository.resultsPage(ID, '2026-12-01', from, to, 3, first.pageState);

    expect(first.rows.map((r) => r.windowStart.toISOString())).toEqual(['2026-12-01T12:04:00.000Z', '2026-12-01T12:03:00.000Z', '2026-12-01T12:02:00.000Z']);
    expect(first.rows[0]).toEqual({
      windowStart: at('2026-12-01T12:04:00Z'),
      windowEnd: at('2026-12-01T12:05:00Z'),
      groupKey: '["EUR"]',
      groupJson: '{"/currency":"EUR"}',
      valuesJson: '{"count":2}',
    });
    expect(second.rows).toHaveLength(2);
    expect(second.pageState).toBeUndefined();
    const [query, params, options] = cassandra.execute.mock.calls[0];
    expect(query).toBe(
      'SELECT window_start, window_end, group_key, group_json, values_json, updated_at FROM pipeline.view_results ' +
        'WHERE view_id = ? AND day = ? AND window_start >= ? AND window_start < ?',
    );
    expect(params).toEqual([ID, types.LocalDate.fromString('2026-12-01'), from, to]);
    expect(options).toEqual({ fetchSize: 3, pageState: undefined });
  });
});
