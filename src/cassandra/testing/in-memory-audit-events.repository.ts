import { AuditEvent, AuditEventsPage, AuditEventsRepository } from '../audit-events.repository';
import { UpstreamUnavailableError } from '../../common/errors/errors';

const copy = (e: AuditEvent): AuditEvent => ({ ...e, at: new Date(e.at) });
const newestFirst = (a: AuditEvent, b: AuditEvent) => b.at.getTime() - a.at.getTime() || a.id.localeCompare(b.id);

/**
 * Unit-test stand-in for the audit_events table: one partition per day clustered newest first, a
 * row per (day, at, id) (an insert of the same key overwrites it), a row gone once its TTL passed
 * (by `now()`), a page's paging state an opaque string holding the offset into the day's matching
 * rows and refused for another day. `down = true` fails every call as the adapter does.
 */
export class InMemoryAuditEventsRepository implements Pick<AuditEventsRepository, 'insert' | 'page'> {
  private readonly rows = new Map<string, { event: AuditEvent; expiresAt: number }[]>();
  down = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** Every live event, newest first. */
  get events(): AuditEvent[] {
    return [...this.rows.values()]
      .flat()
      .filter((r) => r.expiresAt > this.now())
      .map((r) => copy(r.event))
      .sort(newestFirst);
  }

  insert = jest.fn(async (e: AuditEvent, ttlSeconds: number): Promise<void> => {
    this.reachable();
    const partition = (this.rows.get(e.day) ?? []).filter((r) => !(r.event.at.getTime() === e.at.getTime() && r.event.id === e.id));
    partition.push({ event: copy(e), expiresAt: this.now() + ttlSeconds * 1000 });
    this.rows.set(
      e.day,
      partition.sort((a, b) => newestFirst(a.event, b.event)),
    );
  });

  page = jest.fn(async (day: string, from: Date, to: Date, fetchSize: number, pageState?: string): Promise<AuditEventsPage> => {
    this.reachable();
    if (!Number.isInteger(fetchSize) || fetchSize < 1) throw new Error(`fetchSize must be a positive integer, got ${fetchSize}`);
    const rows = (this.rows.get(day) ?? []).filter((r) => r.expiresAt > this.now() && r.event.at >= from && r.event.at < to);
    let offset = 0;
    if (pageState !== undefined) {
      const state = JSON.parse(Buffer.from(pageState, 'base64').toString('utf8')) as { day: string; offset: number };
      if (state.day !== day) throw new Error(`paging state of ${state.day} used for ${day}`);
      offset = state.offset;
    }
    const events = rows.slice(offset, offset + fetchSize).map((r) => copy(r.event));
    const next = offset + events.length;
    return { events, pageState: next < rows.length ? Buffer.from(JSON.stringify({ day, offset: next })).toString('base64') : undefined };
  });

  get repository(): AuditEventsRepository {
    return this as unknown as AuditEventsRepository;
  }

  private reachable(): void {
    if (this.down) throw new UpstreamUnavailableError('Cassandra', 'Cassandra is unavailable: no host answered');
  }
}
