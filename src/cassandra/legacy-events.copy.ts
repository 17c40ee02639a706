import { types } from 'cassandra-driver';
import { bucketStart, DEFAULT_BUCKET_SECONDS } from '../catalogs/buckets';
import { mapLimited } from '../common/async/map-limited';
import { MigrationContext, withRetries } from './migration.context';

/** Rows read from the legacy table per page (~1 KB each). */
export const COPY_PAGE_ROWS = 1000;
/** Writes in flight at once: enough to keep a node busy, few enough not to time it out. */
export const COPY_CONCURRENCY = 32;
const PROGRESS_EVERY_MS = 5000;
const WRITE_ATTEMPTS = 3;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** A missing value left unset rather than written as null (a tombstone). */
const orUnset = (value: unknown) => (value === null || value === undefined ? types.unset : value);

/**
 * Migration 8's data step: copies every row of the legacy events_by_source ((source, day)
 * partitions) into events_by_bucket ((source, bucket) partitions), each in the bucket of its
 * source's configured size (1 h for a source no longer configured), and writes the index rows of
 * event_buckets. A paged full scan with bounded concurrency; every write is an upsert of the same
 * values, so running it again (after a crash half way) is harmless. A bucket's index row is written
 * before its rows, so a read never misses a copied row. The legacy table is left as it is.
 */
export async function copyLegacyEvents(ctx: MigrationContext, options: { pageRows?: number; now?: () => number } = {}): Promise<void> {
  const { pageRows = COPY_PAGE_ROWS, now = Date.now } = options;
  const ks = ctx.keyspace;
  const select = `SELECT source, day, received_at, event_id, key, payload, processed_at FROM ${ks}.events_by_source`;
  const insertEvent =
    `INSERT INTO ${ks}.events_by_bucket (source, bucket, received_at, event_id, key, payload, processed_at) ` + 'VALUES (?, ?, ?, ?, ?, ?, ?)';
  const insertBucket = `INSERT INTO ${ks}.event_buckets (source, day, bucket, bucket_seconds) VALUES (?, ?, ?, ?)`;
  const write = (query: string, params: unknown[]) => withRetries(WRITE_ATTEMPTS, () => ctx.execute(query, params));

  const indexed = new Set<string>();
  let pageState: string | undefined;
  let copied = 0;
  let lastReport = now();
  ctx.log('copying events_by_source into events_by_bucket (the legacy table is kept)');
  do {
    const page = await ctx.execute(select, [], { fetchSize: pageRows, pageState });
    const buckets = new Map<string, unknown[]>();
    const events = page.rows.map((r) => {
      const source = String(r.source);
      const seconds = ctx.bucketSecondsOf(source) ?? DEFAULT_BUCKET_SECONDS;
      const start = bucketStart(r.received_at as Date, seconds);
      const key = `${source}/${start}/${seconds}`;
      if (!indexed.has(key)) buckets.set(key, [source, types.LocalDate.fromString(dayOf(start)), new Date(start), seconds]);
      return [source, new Date(start), r.received_at, r.event_id, orUnset(r.key), r.payload, orUnset(r.processed_at)];
    });
    await mapLimited([...buckets.values()], COPY_CONCURRENCY, (params) => write(insertBucket, params));
    for (const key of buckets.keys()) indexed.add(key);
    await mapLimited(events, COPY_CONCURRENCY, (params) => write(insertEvent, params));
    copied += events.length;
    pageState = page.pageState;
    if (pageState && now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = now();
      ctx.log(`copied ${copied} rows of events_by_source so far, into ${indexed.size} buckets`);
    }
  } while (pageState);
  ctx.log(`copied ${copied} rows of events_by_source into ${indexed.size} buckets of events_by_bucket`);
}
