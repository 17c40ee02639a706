import { EventsRepository, MinuteCount, StoredEvent } from '../events.repository';

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Unit-test stand-in for Cassandra's events_by_source and event_counts_by_minute tables: rows live in
 * (source, day) partitions, clustered newest first, and a page's paging state is an opaque
 * string holding the offset into the partition's matching rows.
 */
export class InMemoryEventsRepository implements Pick<EventsRepository, 'eventsPage' | 'newestIn' | 'minuteCounts'> {
  readonly pageCalls: { day: string; fetchSize: number; pageState?: string }[] = [];
  readonly countCalls: string[] = [];
  private readonly events = new Map<string, StoredEvent[]>();
  private readonly counts = new Map<string, MinuteCount[]>();

  insert(...events: StoredEvent[]): void {
    for (const event of events) {
      const partition = `${event.source}/${utcDay(event.receivedAt)}`;
      const rows = [...(this.events.get(partition) ?? []), event];
      rows.sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || a.eventId.localeCompare(b.eventId));
      this.events.set(partition, rows);
    }
  }

  addCount(source: string, minute: string, count: number): void {
    const at = new Date(minute);
    const partition = `${source}/${utcDay(at)}`;
    const rows = [...(this.counts.get(partition) ?? []), { minute: at, count }];
    rows.sort((a, b) => a.minute.getTime() - b.minute.getTime());
    this.counts.set(partition, rows);
  }

  async eventsPage(source: string, day: string, from: Date, to: Date, fetchSize: number, pageState?: string) {
    this.pageCalls.push({ day, fetchSize, pageState });
    if (!Number.isInteger(fetchSize) || fetchSize < 1) throw new Error(`fetchSize must be a positive integer, got ${fetchSize}`);
    const rows = (this.events.get(`${source}/${day}`) ?? []).filter((e) => e.receivedAt >= from && e.receivedAt < to);
    const offset = pageState === undefined ? 0 : InMemoryEventsRepository.offsetIn(pageState, source, day);
    const events = rows.slice(offset, offset + fetchSize);
    const next = offset + events.length;
    return {
      events,
      pageState: next < rows.length ? Buffer.from(JSON.stringify({ source, day, offset: next })).toString('base64') : undefined,
    };
  }

  /** The newest row of the (source, day) partition comes first, as Cassandra's clustering order has it. */
  newestIn = jest.fn(async (source: string, day: string): Promise<Date | undefined> => this.events.get(`${source}/${day}`)?.[0]?.receivedAt);

  async minuteCounts(source: string, day: string, from: Date, to: Date): Promise<MinuteCount[]> {
    this.countCalls.push(day);
    return (this.counts.get(`${source}/${day}`) ?? []).filter((c) => c.minute >= from && c.minute < to);
  }

  /** Like Cassandra, refuses a paging state that belongs to another partition. */
  private static offsetIn(pageState: string, source: string, day: string): number {
    const state = JSON.parse(Buffer.from(pageState, 'base64').toString('utf8')) as { source: string; day: string; offset: number };
    if (state.source !== source || state.day !== day) throw new Error(`paging state of ${state.source}/${state.day} used for ${source}/${day}`);
    return state.offset;
  }
}
