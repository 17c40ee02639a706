import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { BadRequestError } from '../common/errors/errors';
import { EventsRepository, StoredEvent } from '../cassandra/events.repository';
import { SourcesRegistry } from '../catalogs/sources.registry';
import { RecordDto, RecordsPageDto, RecordsQueryDto, StatsDto } from './dto/records.dto';
import { decodePageToken, encodePageToken, pageTokenKey } from './page-token';
import { checkedRange, daysNewestFirst, timeRange } from './time-range';

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
    this.tokenKey = pageTokenKey(config.http.apiKeys);
  }

  /**
   * Processed events newest first. Walks the day partitions from `to` back to `from`; the token
   * carries the query, the current day and the driver's paging state, so every row comes exactly once.
   */
  async records(sourceName: string, query: RecordsQueryDto): Promise<RecordsPageDto> {
    this.sources.get(sourceName);
    let range = timeRange(query.from, query.to, WEEK_MS, this.config.records.maxRangeDays);
    let days = daysNewestFirst(range);
    let pageState: string | undefined;
    if (query.pageToken !== undefined) {
      const cursor = decodePageToken(query.pageToken, this.tokenKey);
      const sameQuery =
        cursor.source === sourceName &&
        (query.from === undefined || Date.parse(query.from) === cursor.from) &&
        (query.to === undefined || Date.parse(query.to) === cursor.to);
      if (!sameQuery) throw new BadRequestError('pageToken belongs to a different query: keep source, from and to unchanged while paging');
      range = checkedRange(new Date(cursor.from), new Date(cursor.to), this.config.records.maxRangeDays);
      days = daysNewestFirst(range).filter((d) => d <= cursor.day);
      pageState = cursor.pageState;
    }

    const items: StoredEvent[] = [];
    for (let i = 0; i < days.length; i++) {
      const wanted = query.limit - items.length;
      const page = await this.events.eventsPage(sourceName, days[i], range.from, range.to, wanted, pageState);
      items.push(...page.events);
      pageState = undefined;
      if (page.pageState) {
        return { items: items.map(toView), nextPageToken: this.token(sourceName, range, days[i], page.pageState) };
      }
      if (items.length >= query.limit) {
        const next = days[i + 1];
        return { items: items.map(toView), nextPageToken: next ? this.token(sourceName, range, next) : undefined };
      }
    }
    return { items: items.map(toView) };
  }

  /** Per-minute counts over [from, to), oldest first; the default window is the last 24 hours. */
  async stats(sourceName: string, fromText?: string, toText?: string): Promise<StatsDto> {
    this.sources.get(sourceName);
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

  private token(source: string, range: { from: Date; to: Date }, day: string, pageState?: string): string {
    return encodePageToken({ source, from: range.from.getTime(), to: range.to.getTime(), day, pageState }, this.tokenKey);
  }
}

function toView(e: StoredEvent): RecordDto {
  let payload: unknown;
  try {
    payload = JSON.parse(e.payload);
  } catch {
    payload = e.payload;
  }
  return {
    eventId: e.eventId,
    source: e.source,
    receivedAt: e.receivedAt.toISOString(),
    ...(e.key === undefined ? {} : { key: e.key }),
    payload,
    ...(e.processedAt === undefined ? {} : { processedAt: e.processedAt.toISOString() }),
  };
}
