import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../common/config/app-config';
import { BadRequestError } from '../../common/errors/errors';
import { EventBucket, EventsRepository, StoredEvent } from '../../cassandra/events.repository';
import { SourcesRegistry } from '../../catalogs/sources.registry';
import { MAX_PAGE_LIMIT, RecordDto, RecordsPageDto, RecordsQueryDto, StatsDto } from './dto/records.dto';
import { storedPayload } from './records-json';
import { decodePageToken, encodePageToken, PageCursor, pageTokenKey } from '../../common/paging/page-token';
import { checkedRange, daysNewestFirst, TimeRange, timeRange } from '../../common/time/time-range';

/** A page of records as stored, and the token of the next one (absent on the last page). */
export interface StoredPage {
  items: StoredEvent[];
  nextPageToken?: string;
}

const WEEK_MS = 7 * 86_400_000;
const DAY_MS = 86_400_000;

@Injectable()
export class RecordsService {
  private readonly tokenKey: Buffer;

  constructor(
    private readonly events: EventsRepository,
    private readonly sources: SourcesRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.tokenKey = pageTokenKey(config.records.pageTokenSecret());
  }

  /**
   * Processed events newest first. Walks the UTC days from `to` back to `from`, and in each day the
   * non-empty buckets (event_buckets) that overlap [from, to), newest first, reading each bucket
   * partition page by page; the token carries the query, the current bucket and the driver's paging
   * state, so every row comes exactly once. A page that goes on in a bucket reads it first, and the
   * day's index only once that bucket is done.
   */
  async records(sourceName: string, query: RecordsQueryDto): Promise<RecordsPageDto> {
    const { items, nextPageToken } = await this.page(sourceName, query);
    return { items: items.map(toView), nextPageToken };
  }

  /** A page of records as stored (payloads as JSON text): what records() answers, before each payload is parsed. */
  async page(sourceName: string, query: RecordsQueryDto): Promise<StoredPage> {
    this.sources.readable(sourceName);
    let range = timeRange(query.from, query.to, WEEK_MS, this.config.records.maxRangeDays);
    let cursor: PageCursor | undefined;
    if (query.pageToken !== undefined) {
      cursor = decodePageToken(query.pageToken, this.tokenKey);
      const sameQuery =
        cursor.source === sourceName &&
        (query.from === undefined || Date.parse(query.from) === cursor.from) &&
        (query.to === undefined || Date.parse(query.to) === cursor.to);
      if (!sameQuery) throw new BadRequestError('pageToken belongs to a different query: keep source, from and to unchanged while paging');
      range = checkedRange(new Date(cursor.from), new Date(cursor.to), this.config.records.maxRangeDays);
    }

    const items: StoredEvent[] = [];
    if (cursor?.pageState !== undefined) {
      // Most pages go on in the bucket the last one stopped in: read on there before looking at the index.
      const bucket = new Date(cursor.bucket);
      const page = await this.events.eventsPage(sourceName, bucket, range.from, range.to, query.limit, cursor.pageState);
      items.push(...page.events);
      if (page.pageState !== undefined) return { items, nextPageToken: this.token(sourceName, range, cursor.day, bucket, page.pageState) };
      cursor = { ...cursor, pageState: undefined };
    }
    const days = daysNewestFirst(range).filter((d) => cursor === undefined || d <= cursor.day);
    for (let i = 0; i < days.length; i++) {
      // Buckets starting before `to`; in the cursor's day, from the cursor's bucket on (or the one after it).
      let until = range.to.getTime() - 1;
      if (cursor !== undefined && days[i] === cursor.day) until = Math.min(until, cursor.pageState ? cursor.bucket : cursor.bucket - 1);
      const buckets = overlapping(await this.events.bucketsOf(sourceName, days[i], new Date(until)), range);
      for (let j = 0; j < buckets.length; j++) {
        // Filled by the bucket read on above, with more to come.
        if (items.length >= query.limit) return { items, nextPageToken: this.token(sourceName, range, cursor!.day, new Date(cursor!.bucket)) };
        const bucket = buckets[j].start;
        const pageState = cursor?.bucket === bucket.getTime() ? cursor.pageState : undefined;
        const page = await this.events.eventsPage(sourceName, bucket, range.from, range.to, query.limit - items.length, pageState);
        items.push(...page.events);
        if (page.pageState) {
          return { items, nextPageToken: this.token(sourceName, range, days[i], bucket, page.pageState) };
        }
        if (items.length >= query.limit) {
          const more = j + 1 < buckets.length || i + 1 < days.length;
          return { items, nextPageToken: more ? this.token(sourceName, range, days[i], bucket) : undefined };
        }
      }
    }
    return { items };
  }

  /**
   * Up to `limit` stored events of a source received in [from, to), newest first as page() walks
   * them (pages of at most 1000, one after another), and whether the range holds more than that.
   */
  async newestEvents(sourceName: string, range: TimeRange, limit: number): Promise<{ events: StoredEvent[]; more: boolean }> {
    const [from, to] = [range.from.toISOString(), range.to.toISOString()];
    const events: StoredEvent[] = [];
    let pageToken: string | undefined;
    do {
      // One event past the limit, to know whether there are more.
      const page = await this.page(sourceName, { from, to, limit: Math.min(MAX_PAGE_LIMIT, limit + 1 - events.length), pageToken });
      events.push(...page.items);
      pageToken = page.nextPageToken;
    } while (pageToken !== undefined && events.length <= limit);
    return { events: events.slice(0, limit), more: events.length > limit };
  }

  /** Per-minute counts over [from, to), oldest first; the default window is the last 24 hours. */
  async stats(sourceName: string, fromText?: string, toText?: string): Promise<StatsDto> {
    this.sources.readable(sourceName);
    const range = timeRange(fromText, toText, DAY_MS, this.config.records.maxRangeDays);
    const minutes: { minute: string; count: number }[] = [];
    for (const day of daysNewestFirst(range).reverse()) {
      const counts = await this.events.minuteCounts(sourceName, day, range.from, range.to);
      minutes.push(...counts.map((c) => ({ minute: c.minute.toISOString(), count: c.count })));
    }
    return {
      source: sourceName,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      total: minutes.reduce((sum, m) => sum + m.count, 0),
      minutes,
    };
  }

  private token(source: string, range: TimeRange, day: string, bucket: Date, pageState?: string): string {
    return encodePageToken({ source, from: range.from.getTime(), to: range.to.getTime(), day, bucket: bucket.getTime(), pageState }, this.tokenKey);
  }
}

/**
 * The buckets that may hold rows of [from, to). A bucket is taken as wide as the widest bucket of
 * its day: a start shared by two sizes (the source's bucket changed that day) keeps only the size
 * written last in the index, and its partition may hold rows of the larger one.
 */
function overlapping(buckets: EventBucket[], range: TimeRange): EventBucket[] {
  const widestMs = Math.max(0, ...buckets.map((b) => b.seconds)) * 1000;
  return buckets.filter((b) => b.start < range.to && b.start.getTime() + widestMs > range.from.getTime());
}

/** A stored event as GET /records answers it (records-json.ts writes the same document directly). */
export function toView(e: StoredEvent): RecordDto {
  const payload = storedPayload(e.payload.toString('utf8'));
  return {
    eventId: e.eventId,
    source: e.source,
    receivedAt: e.receivedAt.toISOString(),
    ...(e.key === undefined ? {} : { key: e.key }),
    payload,
    ...(e.processedAt === undefined ? {} : { processedAt: e.processedAt.toISOString() }),
    ...(e.schemaVersion === undefined ? {} : { schemaVersion: e.schemaVersion }),
    ...(e.traceId === undefined ? {} : { traceId: e.traceId }),
    ...(e.headers === undefined ? {} : { headers: e.headers }),
  };
}
