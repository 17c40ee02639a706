import { types } from 'cassandra-driver';
import { UpstreamUnavailableError } from '../common/errors/errors';
import { NamesContract, readContract } from '../common/testing/contracts';
import { QueryPage } from './cassandra.client';
import { MIGRATIONS } from './schema.migrations';
import { MICRO_BATCH_RETENTION_DAYS, StreamHeartbeat, StreamMicroBatch, StreamRepository } from './stream.repository';
import { PagingCassandraClient } from './testing/paging-cassandra.client';

describe('StreamRepository.heartbeat', () => {
  it('reads the bucket sizes a copy reports, and none for a copy that reports none', async () => {
    const cassandra = new PagingCassandraClient();
    const repository = new StreamRepository(cassandra.client);
    cassandra.answerOnce([{ stream: 'events_stream', run_id: 'r1', topics: 'users_created', buckets: 'users=3600,clicks=30' }]);
    cassandra.answerOnce([{ stream: 'events_stream', run_id: 'r0', topics: 'users_created', buckets: null }]);

    expect((await repository.heartbeat('events_stream'))?.buckets).toEqual({ users: 3600, clicks: 30 });
    expect((await repository.heartbeat('events_stream'))?.buckets).toBeUndefined();
  });
});

/** contracts/heartbeat.json: the row spark-jobs/stream_decisions.py writes (its tests check the same row). */
interface HeartbeatContract {
  table: string;
  key: string;
  columns: Record<string, string>;
  row: Record<string, string | number | null>;
  parsed: Record<string, unknown>;
}
const HEARTBEAT = readContract<HeartbeatContract>('heartbeat.json');

/** A column's value as the driver hands it over: timestamps as Dates, dates as LocalDates, bigints as Longs. */
function driverValue(type: string, value: string | number | null): unknown {
  if (value === null) return null;
  if (type === 'timestamp') return new Date(value);
  if (type === 'date') return types.LocalDate.fromString(String(value));
  if (type === 'bigint') return types.Long.fromNumber(Number(value));
  return value;
}

/** A row of the golden file as the driver hands it over. */
const driverRow = (columns: Record<string, string>, row: Record<string, string | number | null>) =>
  Object.fromEntries(Object.entries(row).map(([column, value]) => [column, driverValue(columns[column], value)]));

describe('StreamRepository.heartbeat (contracts/heartbeat.json)', () => {
  it('reads the row the job writes as the golden heartbeat', async () => {
    const cassandra = new PagingCassandraClient();
    const repository = new StreamRepository(cassandra.client);
    cassandra.answerOnce([driverRow(HEARTBEAT.columns, HEARTBEAT.row)]);
    const times = ['startedAt', 'seenAt', 'lastBatchAt'];
    const expected = Object.fromEntries(Object.entries(HEARTBEAT.parsed).map(([k, v]) => [k, times.includes(k) ? new Date(v as string) : v]));

    const heartbeat = await repository.heartbeat(HEARTBEAT.row[HEARTBEAT.key] as string);

    expect(heartbeat).toEqual(expected as unknown as StreamHeartbeat);
    expect(cassandra.execute.mock.calls[0][0]).toMatch(new RegExp(`FROM \\S*\\b${HEARTBEAT.table} WHERE ${HEARTBEAT.key} = \\?`));
  });

  it('has the migrations create exactly the golden columns, with their types', () => {
    const statements = MIGRATIONS.flatMap((m) => m.statements);
    const columns: Record<string, string> = {};
    const create = statements.find((s) => new RegExp(`CREATE TABLE IF NOT EXISTS ${HEARTBEAT.table} \\(`).test(s));
    for (const [, name, type] of create!.replace(/^[^(]*\(/, '').matchAll(/(\w+) (\w+)(?: PRIMARY KEY)?\s*[,)]/g)) columns[name] = type;
    for (const s of statements) {
      const added = new RegExp(`^ALTER TABLE ${HEARTBEAT.table} ADD IF NOT EXISTS (\\w+) (\\w+)$`).exec(s);
      if (added) columns[added[1]] = added[2];
    }

    expect(columns).toEqual(HEARTBEAT.columns);
  });
});

describe('StreamRepository.microBatches', () => {
  const NOW = new Date('2026-01-08T00:10:00.000Z');
  /** A row of stream_micro_batches as the driver hands it over. */
  const row = (epoch: number, endedAt: string) => ({
    stream: 'events_stream',
    day: types.LocalDate.fromString(endedAt.slice(0, 10)),
    ended_at: new Date(endedAt),
    epoch: types.Long.fromNumber(epoch),
    batch_id: 'b-1',
    run_id: 'r-1',
    rows_read: types.Long.fromNumber(epoch * 10),
    duration_ms: types.Long.fromNumber(400),
  });

  /** The table's partitions by UTC day, each newest first as Cassandra hands it out; a read honours its LIMIT. */
  function table(partitions: Record<string, ReturnType<typeof row>[]>) {
    const cassandra = new PagingCassandraClient();
    cassandra.execute.mockImplementation(async (_query: string, params: unknown[]): Promise<QueryPage> => ({
      rows: (partitions[String(params[1])] ?? []).slice(0, params[2] as number) as unknown as types.Row[],
    }));
    const reads = () => cassandra.execute.mock.calls.map(([, params]) => [String(params[1]), params[2]]);
    return { repository: new StreamRepository(cassandra.client), cassandra, reads };
  }

  const PARTITIONS = {
    '2026-01-08': [row(12, '2026-01-08T00:05:00.000Z'), row(11, '2026-01-08T00:00:01.000Z')],
    '2026-01-07': [row(10, '2026-01-07T23:59:59.000Z'), row(9, '2026-01-07T23:00:00.000Z'), row(8, '2026-01-07T22:00:00.000Z')],
  };

  it("reads today's partition only, newest first, when it holds enough", async () => {
    const { repository, cassandra, reads } = table(PARTITIONS);

    const batches = await repository.microBatches('events_stream', 2, NOW);

    expect(batches.map((b) => [b.epoch, b.endedAt.toISOString()])).toEqual([
      [12, '2026-01-08T00:05:00.000Z'],
      [11, '2026-01-08T00:00:01.000Z'],
    ]);
    expect(reads()).toEqual([['2026-01-08', 2]]);
    expect(cassandra.execute.mock.calls[0][0]).toBe('SELECT * FROM pipeline.stream_micro_batches WHERE stream = ? AND day = ? LIMIT ?');
    expect(cassandra.execute.mock.calls[0][1][0]).toBe('events_stream');
  });

  it("goes on into yesterday's partition when today's is short, asking it only for what is missing", async () => {
    const { repository, reads } = table(PARTITIONS);

    const batches = await repository.microBatches('events_stream', 4, NOW);

    expect(batches.map((b) => b.epoch)).toEqual([12, 11, 10, 9]);
    expect(reads()).toEqual([
      ['2026-01-08', 4],
      ['2026-01-07', 2],
    ]);
  });

  it('walks back day by day to the oldest day a row can still live in, and no further', async () => {
    const { repository, reads } = table({ '2026-01-02': [row(3, '2026-01-02T08:00:00.000Z')], '2026-01-01': [row(2, '2026-01-01T08:00:00.000Z')] });

    const batches = await repository.microBatches('events_stream', 20, NOW);

    // A row lives 7 days: written on 2026-01-01 at the earliest, it expires before 2026-01-09.
    expect(MICRO_BATCH_RETENTION_DAYS).toBe(7);
    expect(reads().map(([day]) => day)).toEqual([
      '2026-01-08',
      '2026-01-07',
      '2026-01-06',
      '2026-01-05',
      '2026-01-04',
      '2026-01-03',
      '2026-01-02',
      '2026-01-01',
    ]);
    expect(batches.map((b) => b.epoch)).toEqual([3, 2]);
  });

  it("lets the adapter's error through (503 naming Cassandra)", async () => {
    const { repository, cassandra } = table(PARTITIONS);
    const down = new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: All host(s) tried for query failed');
    cassandra.execute.mockRejectedValueOnce(down);

    await expect(repository.microBatches('events_stream', 20, NOW)).rejects.toBe(down);
  });
});

/** contracts/micro-batch-rows.json: the row spark-jobs/stream_decisions.py builds and stream_store.py writes (its tests check the same rows). */
interface MicroBatchRowsContract {
  table: string;
  primary_key: string;
  clustering_order: string;
  default_time_to_live: number;
  columns: Record<string, string>;
  examples: { name: string; row: Record<string, string | number | null>; parsed: Record<string, unknown> }[];
}
const MICRO_BATCHES = readContract<MicroBatchRowsContract>('micro-batch-rows.json');
const NAMES = readContract<NamesContract>('names.json');

describe('StreamRepository.microBatches (contracts/micro-batch-rows.json)', () => {
  it.each(MICRO_BATCHES.examples.map((e) => [e.name, e] as const))('reads the row the job writes as the golden micro-batch: %s', async (_name, example) => {
    const cassandra = new PagingCassandraClient();
    const repository = new StreamRepository(cassandra.client);
    cassandra.answerOnce([driverRow(MICRO_BATCHES.columns, example.row)]);
    const expected = { ...example.parsed, endedAt: new Date(example.parsed.endedAt as string) };

    const batches = await repository.microBatches(example.row.stream as string, 1, new Date(example.row.ended_at as string));

    expect(batches).toEqual([expected as unknown as StreamMicroBatch]);
    const [query, params] = cassandra.execute.mock.calls[0];
    expect(query).toMatch(new RegExp(`FROM \\S*\\b${MICRO_BATCHES.table} WHERE stream = \\? AND day = \\?`));
    expect(String(params[1])).toBe(example.row.day);
  });

  it('is the table contracts/names.json names', () => {
    expect(NAMES.tables.micro_batches).toBe(MICRO_BATCHES.table);
  });

  it('has the migrations create exactly the golden columns, key, order and time to live', () => {
    const create = MIGRATIONS.flatMap((m) => m.statements).find((s) => new RegExp(`CREATE TABLE IF NOT EXISTS ${MICRO_BATCHES.table} \\(`).test(s))!;
    const definitions = create.slice(create.indexOf('(') + 1, create.indexOf('PRIMARY KEY'));
    const columns = Object.fromEntries(
      definitions
        .split(',')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d.length === 2),
    );

    expect(columns).toEqual(MICRO_BATCHES.columns);
    expect(create).toContain(`PRIMARY KEY ${MICRO_BATCHES.primary_key}`);
    expect(create).toContain(`WITH CLUSTERING ORDER BY (${MICRO_BATCHES.clustering_order})`);
    expect(create).toContain(`default_time_to_live = ${MICRO_BATCHES.default_time_to_live}`);
    expect(MICRO_BATCHES.default_time_to_live).toBe(MICRO_BATCH_RETENTION_DAYS * 86_400);
  });
});
