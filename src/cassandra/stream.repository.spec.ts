import { types } from 'cassandra-driver';
import { readContract } from '../common/testing/contracts';
import { MIGRATIONS } from './schema.migrations';
import { StreamHeartbeat, StreamRepository } from './stream.repository';
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

/** A column's value as the driver hands it over: timestamps as Dates, bigints as Longs. */
function driverValue(type: string, value: string | number | null): unknown {
  if (value === null) return null;
  if (type === 'timestamp') return new Date(value);
  if (type === 'bigint') return types.Long.fromNumber(Number(value));
  return value;
}

describe('StreamRepository.heartbeat (contracts/heartbeat.json)', () => {
  it('reads the row the job writes as the golden heartbeat', async () => {
    const cassandra = new PagingCassandraClient();
    const repository = new StreamRepository(cassandra.client);
    cassandra.answerOnce([Object.fromEntries(Object.entries(HEARTBEAT.row).map(([column, value]) => [column, driverValue(HEARTBEAT.columns[column], value)]))]);
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
