import { bucketStart, DEFAULT_BUCKET_SECONDS } from '../../catalogs/buckets';
import { EventBucket, EventsRepository, MinuteCount, StoredEvent } from '../events.repository';

const utcDay = (d: Date | number) => new Date(d).toISOString().slice(0, 10);

/**
 * Unit-test stand-in for Cassandra's events_by_bucket, event_buckets and event_counts_by_minute
 * tables, as the streaming job fills them: an inserted event goes into the (source, bucket)
 * partition of its source's bucket size at that moment (1 h unless `bucketSize` said otherwise),
 * clustered newest first, and the bucket is listed in its (source, day) index row with that size (a
 * bucket start shared by two sizes keeps the size written last, as an upsert does). A page's paging
 * state is an opaque string holding the offset into the partition's matching rows.
 */
export class InMemoryEventsRepository implements Pick<EventsRepository, 'bucketsOf' | 'eventsPage' | 'newestIn' | 'minuteCounts'> {
  readonly pageCalls: { bucket: string; fetchSize: number; pageState?: string }[] = [];
  readonly bucketCalls: { day: string; until: string }[] = [];
  readonly countCalls: string[] = [];
  private readonly sizes = new Map<string, number>();
  private readonly partitions = new Map<string, StoredEvent[]>();
  private readonly index = new Map<string, Map<number, number>>();
  private readonly counts = new Map<string, MinuteCount[]>();

  /** The bucket size the events of a source inserted from now on are stored with. */
  bucketSize(source: string, seconds: number): this {
    this.sizes.set(source, seconds);
    return this;
  }

  insert(...events: StoredEvent[]): void {
    for (const event of events) {
      const seconds = this.sizes.get(event.source) ?? DEFAULT_BUCKET_SECONDS;
      const start = bucketStart(event.receivedAt, seconds);
      const partition = `${event.source}/${start}`;
      const rows = [...(this.partitions.get(partition) ?? []), event];
      rows.sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || a.eventId.localeCompare(b.eventId));
      this.partitions.set(partition, rows);
      const day = `${event.source}/${utcDay(start)}`;
      this.index.set(day, (this.index.get(day) ?? new Map<number, number>()).set(start, seconds));
    }
  }

  addCount(source: string, minute: string, count: number): void {
    const at = new Date(minute);
    const partition = `${source}/${utcDay(at)}`;
    const rows = [...(this.counts.get(partition) ?? []), { minute: at, count }];
    rows.sort((a, b) => a.minute.getTime() - b.minute.getTime());
    this.counts.set(partition, rows);
  }

  async bucketsOf(source: string, day: string, until: Date): Promise<EventBucket[]> {
    this.bucketCalls.push({ day, until: until.toISOString() });
    return [...(this.index.get(`${source}/${day}`) ?? new Map<number, number>()).entries()]
      .filter(([start]) => start <= until.getTime())
      .sort(([a], [b]) => b - a)
      .map(([start, seconds]) => ({ start: new Date(start), seconds }));
  }

  async eventsPage(source: string, bucket: Date, from: Date, to: Date, fetchSize: number, pageState?: string) {
    const partition = `${source}/${bucket.getTime()}`;
    this.pageCalls.push({ bucket: bucket.toISOString(), fetchSize, pageState });
    if (!Number.isInteger(fetchSize) || fetchSize < 1) throw new Error(`fetchSize must be a positive integer, got ${fetchSize}`);
    const rows = (this.partitions.get(partition) ?? []).filter((e) => e.receivedAt >= from && e.receivedAt < to);
    const offset = pageState === undefined ? 0 : InMemoryEventsRepository.offsetIn(pageState, partition);
    const events = rows.slice(offset, offset + fetchSize);
    const next = offset + events.length;
    return {
      events,
      pageState: next < rows.length ? Buffer.from(JSON.stringify({ partition, offset: next })).toString('base64') : undefined,
    };
  }

  /** The newest row of any bucket of the day. */
  newestIn = jest.fn(async (source: string, day: string): Promise<Date | undefined> => {
    const starts = [...(this.index.get(`${source}/${day}`) ?? new Map<number, number>()).keys()];
    const newest = starts.map((start) => this.partitions.get(`${source}/${start}`)?.[0]?.receivedAt.getTime() ?? 0);
    const at = Math.max(0, ...newest);
    return at > 0 ? new Date(at) : undefined;
  });

  async minuteCounts(source: string, day: string, from: Date, to: Date): Promise<MinuteCount[]> {
    this.countCalls.push(day);
    return (this.counts.get(`${source}/${day}`) ?? []).filter((c) => c.minute >= from && c.minute < to);
  }

  /** Like Cassandra, refuses a paging state that belongs to another partition. */
  private static offsetIn(pageState: string, partition: string): number {
    const state = JSON.parse(Buffer.from(pageState, 'base64').toString('utf8')) as { partition: string; offset: number };
    if (state.partition !== partition) throw new Error(`paging state of ${state.partition} used for ${partition}`);
    return state.offset;
  }
}
