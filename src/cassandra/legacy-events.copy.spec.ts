import { types } from 'cassandra-driver';
import { copyLegacyEvents } from './legacy-events.copy';
import { MigrationContext, runDataStep } from './migration.context';
import { MIGRATIONS } from './schema.migrations';

const uuid = (n: number) => types.Uuid.fromString(`0190a5e4-7c1b-7def-8000-${String(n).padStart(12, '0')}`);

/** A legacy row of events_by_source, as the driver reads it. */
const legacy = (n: number, source: string, receivedAt: string, extra: Record<string, unknown> = {}) => ({
  source,
  day: types.LocalDate.fromString(receivedAt.slice(0, 10)),
  received_at: new Date(receivedAt),
  event_id: uuid(n),
  key: null,
  payload: `{"n":${n}}`,
  processed_at: new Date(Date.parse(receivedAt) + 500),
  ...extra,
});

/**
 * The driver under the copy: the SELECT of events_by_source reads `rows` a page at a time (the
 * paging state is the offset), every INSERT is kept as a row of its table (an upsert by primary key).
 */
function fakeDriver(rows: Record<string, unknown>[], sizes: Record<string, number>, failures: { insert?: number } = {}) {
  const tables = { events_by_bucket: new Map<string, unknown[]>(), event_buckets: new Map<string, unknown[]>() };
  const writes: string[] = [];
  const logs: string[] = [];
  const execute = jest.fn(async (query: string, params: unknown[] = [], options: { fetchSize?: number; pageState?: string } = {}) => {
    if (query.startsWith('SELECT')) {
      expect(query).toBe('SELECT source, day, received_at, event_id, key, payload, processed_at FROM pipeline.events_by_source');
      const from = Number(options.pageState ?? 0);
      const to = from + (options.fetchSize ?? 5000);
      return { rows: rows.slice(from, to) as types.Row[], pageState: to < rows.length ? String(to) : undefined };
    }
    if (failures.insert !== undefined && failures.insert-- > 0) throw new Error('write timeout');
    const table = /INSERT INTO pipeline\.(\w+) /.exec(query)![1] as keyof typeof tables;
    writes.push(table);
    // primary keys: (source, bucket, received_at, event_id) and (source, day, bucket)
    const key = table === 'events_by_bucket' ? [params[0], params[1], params[2], params[3]] : [params[0], params[1], params[2]];
    tables[table].set(JSON.stringify(key), params);
    return { rows: [] };
  });
  const ctx: MigrationContext = {
    keyspace: 'pipeline',
    execute,
    bucketSecondsOf: (source) => sizes[source],
    log: (message) => logs.push(message),
  };
  return { ctx, execute, tables, writes, logs };
}

const iso = (d: unknown) => (d as Date).toISOString();

describe('copyLegacyEvents (migration 8)', () => {
  const rows = [
    legacy(1, 'users', '2026-01-01T10:15:00.000Z', { key: 'ada@example.com' }),
    legacy(2, 'users', '2026-01-01T10:59:59.999Z'),
    legacy(3, 'users', '2026-01-01T11:00:00.000Z'),
    legacy(4, 'clicks', '2026-01-01T23:59:45.000Z'),
    legacy(5, 'clicks', '2026-01-02T00:00:05.000Z'),
    legacy(6, 'clicks', '2026-01-02T00:00:29.999Z'),
    legacy(7, 'retired', '2026-01-03T08:30:00.000Z', { processed_at: null }),
  ];

  it("copies every row into the bucket of its source's size, keeping its columns, and indexes each bucket once", async () => {
    const driver = fakeDriver(rows, { users: 3600, clicks: 30 });

    await copyLegacyEvents(driver.ctx, { pageRows: 3 });

    const events = [...driver.tables.events_by_bucket.values()];
    expect(events.map((e) => [e[0], iso(e[1]), iso(e[2]), String(e[3])])).toEqual(
      rows.map((r) => [r.source, expect.any(String), iso(r.received_at), String(r.event_id)]),
    );
    expect(events.map((e) => iso(e[1]))).toEqual([
      '2026-01-01T10:00:00.000Z',
      '2026-01-01T10:00:00.000Z',
      '2026-01-01T11:00:00.000Z',
      '2026-01-01T23:59:30.000Z',
      '2026-01-02T00:00:00.000Z',
      '2026-01-02T00:00:00.000Z',
      '2026-01-03T08:00:00.000Z', // a source no longer configured: 1 h
    ]);
    expect(events[0].slice(4)).toEqual(['ada@example.com', '{"n":1}', new Date('2026-01-01T10:15:00.500Z')]);
    // nothing becomes a tombstone: a missing key or processed_at stays unset
    expect(events[1][4]).toBe(types.unset);
    expect(events[6][6]).toBe(types.unset);

    const index = [...driver.tables.event_buckets.values()].map(([source, day, bucket, seconds]) => [source, String(day), iso(bucket), seconds]);
    expect(index).toEqual([
      ['users', '2026-01-01', '2026-01-01T10:00:00.000Z', 3600],
      ['users', '2026-01-01', '2026-01-01T11:00:00.000Z', 3600],
      ['clicks', '2026-01-01', '2026-01-01T23:59:30.000Z', 30],
      ['clicks', '2026-01-02', '2026-01-02T00:00:00.000Z', 30],
      ['retired', '2026-01-03', '2026-01-03T08:00:00.000Z', 3600],
    ]);
    // one index write per bucket, even when its rows span pages
    expect(driver.writes.filter((t) => t === 'event_buckets')).toHaveLength(5);
    expect(driver.logs[driver.logs.length - 1]).toBe('copied 7 rows of events_by_source into 5 buckets of events_by_bucket');
  });

  it('reads the legacy table a page at a time, following the paging state to the end', async () => {
    const driver = fakeDriver(rows, { users: 3600, clicks: 30 });

    await copyLegacyEvents(driver.ctx, { pageRows: 3 });

    const reads = driver.execute.mock.calls.filter(([q]) => q.startsWith('SELECT')).map(([, , o]) => o);
    expect(reads).toEqual([
      { fetchSize: 3, pageState: undefined },
      { fetchSize: 3, pageState: '3' },
      { fetchSize: 3, pageState: '6' },
    ]);
  });

  it("writes a bucket's index row before its events, so a read never misses a copied row", async () => {
    const driver = fakeDriver(rows.slice(0, 1), { users: 3600 });

    await copyLegacyEvents(driver.ctx);

    expect(driver.writes).toEqual(['event_buckets', 'events_by_bucket']);
  });

  it('gives the same tables when run again (after a crash half way)', async () => {
    const driver = fakeDriver(rows, { users: 3600, clicks: 30 });

    await copyLegacyEvents(driver.ctx, { pageRows: 2 });
    const once = JSON.stringify([...driver.tables.events_by_bucket.entries(), ...driver.tables.event_buckets.entries()]);
    await copyLegacyEvents(driver.ctx, { pageRows: 5 });

    expect(JSON.stringify([...driver.tables.events_by_bucket.entries(), ...driver.tables.event_buckets.entries()])).toBe(once);
  });

  it('retries a write that fails, and fails the step once a write keeps failing', async () => {
    const flaky = fakeDriver(rows.slice(0, 2), { users: 3600 }, { insert: 2 });
    await copyLegacyEvents(flaky.ctx);
    expect(flaky.tables.events_by_bucket.size).toBe(2);

    const broken = fakeDriver(rows.slice(0, 2), { users: 3600 }, { insert: 100 });
    await expect(copyLegacyEvents(broken.ctx)).rejects.toThrow('write timeout');
  }, 15_000);

  it('logs its progress every few seconds while it copies', async () => {
    const many = Array.from({ length: 10 }, (_, i) => legacy(i, 'users', `2026-01-01T10:00:0${i}.000Z`));
    const driver = fakeDriver(many, { users: 3600 });
    let clock = 0;

    await copyLegacyEvents(driver.ctx, { pageRows: 2, now: () => (clock += 3000) });

    expect(driver.logs).toEqual([
      'copying events_by_source into events_by_bucket (the legacy table is kept)',
      'copied 4 rows of events_by_source so far, into 1 buckets',
      'copied 8 rows of events_by_source so far, into 1 buckets',
      'copied 10 rows of events_by_source into 1 buckets of events_by_bucket',
    ]);
  });

  it('is the data step of migration 8, after the statements that create its tables', () => {
    const eight = MIGRATIONS.find((m) => m.version === 8)!;

    expect(eight.run).toBe(copyLegacyEvents);
    expect(eight.statements.join('\n')).toMatch(/CREATE TABLE IF NOT EXISTS events_by_bucket[\s\S]*CREATE TABLE IF NOT EXISTS event_buckets/);
    expect(MIGRATIONS.filter((m) => m.version < 8).every((m) => m.run === undefined)).toBe(true);
  });
});

describe('runDataStep', () => {
  /** A leases table over a fake driver: an LWT insert applies when the name is free. */
  function leasesDriver(holderNow?: string) {
    const leases = new Map<string, string>(holderNow ? [['migration:8', holderNow]] : []);
    const execute = jest.fn(async (query: string, params: unknown[] = []) => {
      if (query.startsWith('DELETE FROM pipeline.leases')) {
        const [name, holder] = params as string[];
        if (leases.get(name) === holder) leases.delete(name);
        return { rows: [] };
      }
      if (query.startsWith('INSERT INTO pipeline.leases')) {
        const [name, holder] = params as string[];
        const current = leases.get(name);
        if (current === undefined) {
          leases.set(name, holder);
          return { rows: [{ '[applied]': true }] as unknown as types.Row[] };
        }
        return { rows: [{ '[applied]': false, holder: current }] as unknown as types.Row[] };
      }
      return { rows: [] };
    });
    const logs: string[] = [];
    const ctx: MigrationContext = { keyspace: 'pipeline', execute, bucketSecondsOf: () => undefined, log: (m) => logs.push(m) };
    return { ctx, leases, logs };
  }

  it('runs the step under the lease migration:<version> when nobody holds it', async () => {
    const { ctx, leases } = leasesDriver();
    const step = jest.fn(async () => expect(leases.get('migration:8')).toBe('me'));

    await expect(runDataStep(ctx, 8, step, { holder: 'me', isApplied: async () => false })).resolves.toBe(true);

    expect(step).toHaveBeenCalledWith(ctx);
    // handed back once done
    expect(leases.has('migration:8')).toBe(false);
  });

  it('waits while another process runs it, and does not run it once that one recorded it', async () => {
    const { ctx, logs } = leasesDriver('other:42');
    const applied = [false, false, true];
    const step = jest.fn(async () => undefined);
    const sleep = jest.fn(async () => undefined);

    await expect(runDataStep(ctx, 8, step, { holder: 'me', isApplied: async () => applied.shift()!, sleep })).resolves.toBe(false);

    expect(step).not.toHaveBeenCalled();
    expect(sleep).toHaveBeenCalledTimes(2);
    expect(logs).toEqual(['other:42 runs the data step; waiting for it']);
  });

  it('takes the step over when the lease of a process that died expires', async () => {
    const { ctx, leases } = leasesDriver('dead:1');
    const step = jest.fn(async () => undefined);
    const sleep = jest.fn(async () => {
      leases.delete('migration:8'); // the TTL ran out
    });

    await expect(runDataStep(ctx, 8, step, { holder: 'me', isApplied: async () => false, sleep })).resolves.toBe(true);

    expect(step).toHaveBeenCalledTimes(1);
  });
});
