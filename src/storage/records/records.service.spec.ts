import { EventsRepository, StoredEvent } from '../../cassandra/events.repository';
import { InMemoryEventsRepository } from '../../cassandra/testing/in-memory-events.repository';
import { sourcesNamed } from '../../catalogs/testing/catalogs';
import { BadRequestError, NotFoundError } from '../../common/errors/errors';
import { testConfig } from '../../common/testing/config';
import { RecordDto, RecordsQueryDto } from './dto/records.dto';
import { rejection } from '../../common/testing/rejection';
import { encodePageToken, pageTokenKey, sealPageToken } from '../../common/paging/page-token';
import { RecordsService } from './records.service';

const MINUTE_MS = 60_000;
const utcDay = (d: Date) => d.toISOString().slice(0, 10);

function setup(maxRangeDays = 31) {
  const repository = new InMemoryEventsRepository();
  const config = testConfig({ RECORDS_MAX_RANGE_DAYS: String(maxRangeDays) });
  const service = new RecordsService(repository as unknown as EventsRepository, sourcesNamed('users', 'orders'), config);
  return { repository, service };
}

let sequence = 0;
const event = (source: string, receivedAt: string): StoredEvent => ({
  eventId: `evt-${String(++sequence).padStart(4, '0')}`,
  source,
  receivedAt: new Date(receivedAt),
  payload: Buffer.from(JSON.stringify({ receivedAt })),
});

const FROM = '2026-01-01T00:00:00.000Z';
const TO = '2026-01-04T00:00:00.000Z';

const spaced = (start: string, count: number, stepMinutes: number) =>
  Array.from({ length: count }, (_, i) => new Date(Date.parse(start) + i * stepMinutes * MINUTE_MS).toISOString());

/** 30 rows of "users" across three UTC days, several right at the midnight boundaries, two at the same instant. */
function usersAcrossThreeDays(): StoredEvent[] {
  const instants = [
    // 2026-01-01: 10 rows, from the first millisecond of the range to the last of the day
    '2026-01-01T00:00:00.000Z',
    ...spaced('2026-01-01T02:00:00Z', 8, 37),
    '2026-01-01T23:59:59.999Z',
    // 2026-01-02: 12 rows
    '2026-01-02T00:00:00.000Z',
    ...spaced('2026-01-02T06:00:00Z', 8, 71),
    '2026-01-02T15:15:15.000Z',
    '2026-01-02T15:15:15.000Z',
    '2026-01-02T23:59:59.999Z',
    // 2026-01-03: 8 rows, up to the last millisecond before `to`
    '2026-01-03T00:00:00.000Z',
    ...spaced('2026-01-03T01:00:00Z', 6, 113),
    '2026-01-03T23:59:59.999Z',
  ];
  return instants.map((at) => event('users', at));
}

/** Rows the query must never return: outside [FROM, TO) or of another source. */
const outsiders = (): StoredEvent[] => [
  event('users', '2025-12-31T23:59:59.999Z'),
  event('users', '2026-01-04T00:00:00.000Z'),
  event('orders', '2026-01-02T12:00:00.000Z'),
];

/** Follows nextPageToken until the last page, as a client would. */
async function allPages(service: RecordsService, source: string, query: RecordsQueryDto) {
  const pages: { items: RecordDto[]; nextPageToken?: string }[] = [];
  let pageToken = query.pageToken;
  do {
    const page = await service.records(source, { ...query, pageToken });
    pages.push(page);
    pageToken = page.nextPageToken;
    if (pages.length > 100) throw new Error('paging does not end');
  } while (pageToken !== undefined);
  return pages;
}

const newestFirst = (rows: StoredEvent[]) => [...rows].sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime() || a.eventId.localeCompare(b.eventId));

describe('RecordsService.records', () => {
  const rows = usersAcrossThreeDays();

  it('spreads the test data as intended: 30 rows over three days, with a tie', () => {
    expect(rows).toHaveLength(30);
    expect(new Set(rows.map((r) => utcDay(r.receivedAt)))).toEqual(new Set(['2026-01-01', '2026-01-02', '2026-01-03']));
    expect(new Set(rows.map((r) => r.receivedAt.getTime())).size).toBe(29);
  });

  it('pages with limit 7 through every row exactly once, newest first, ending without a token', async () => {
    const { service, repository } = setup();
    repository.insert(...rows, ...outsiders());

    const pages = await allPages(service, 'users', { from: FROM, to: TO, limit: 7 });

    expect(pages.map((p) => p.items.length)).toEqual([7, 7, 7, 7, 2]);
    expect(pages.flatMap((p) => p.items.map((i) => i.eventId))).toEqual(newestFirst(rows).map((r) => r.eventId));
    expect(pages.slice(0, -1).every((p) => typeof p.nextPageToken === 'string')).toBe(true);
    expect(pages[pages.length - 1].nextPageToken).toBeUndefined();
    expect(repository.pageCalls.every((c) => c.fetchSize >= 1 && c.fetchSize <= 7)).toBe(true);
  });

  it.each([1, 3, 8, 10, 18, 29, 30, 31, 1000])('returns every row exactly once with limit %i', async (limit) => {
    const { service, repository } = setup();
    repository.insert(...rows, ...outsiders());

    const pages = await allPages(service, 'users', { from: FROM, to: TO, limit });

    const ids = pages.flatMap((p) => p.items.map((i) => i.eventId));
    expect(ids).toEqual(newestFirst(rows).map((r) => r.eventId));
    expect(pages.every((p) => p.items.length <= limit)).toBe(true);
    expect(pages[pages.length - 1].nextPageToken).toBeUndefined();
  });

  it('continues from the token alone when later requests leave out from and to', async () => {
    const { service, repository } = setup();
    repository.insert(...rows);

    const first = await service.records('users', { from: FROM, to: TO, limit: 10 });
    const rest = await allPages(service, 'users', { limit: 10, pageToken: first.nextPageToken });

    const ids = [first, ...rest].flatMap((p) => p.items.map((i) => i.eventId));
    expect(ids).toEqual(newestFirst(rows).map((r) => r.eventId));
  });

  it('honours from and to inside a day: from inclusive, to exclusive', async () => {
    const { service, repository } = setup();
    repository.insert(...rows);

    const { items, nextPageToken } = await service.records('users', {
      from: '2026-01-01T23:59:59.999Z',
      to: '2026-01-03T00:00:00.000Z',
      limit: 100,
    });

    expect(nextPageToken).toBeUndefined();
    expect(items.map((i) => i.receivedAt)).toEqual(
      newestFirst(rows)
        .filter((r) => r.receivedAt >= new Date('2026-01-01T23:59:59.999Z') && r.receivedAt < new Date('2026-01-03T00:00:00.000Z'))
        .map((r) => r.receivedAt.toISOString()),
    );
    expect(items[0].receivedAt).toBe('2026-01-02T23:59:59.999Z');
    expect(items[items.length - 1].receivedAt).toBe('2026-01-01T23:59:59.999Z');
    expect(repository.bucketCalls.map((c) => c.day)).toEqual(['2026-01-02', '2026-01-01']);
    // only the buckets that overlap the range: 2026-01-01T23:00 and the hours of 2026-01-02 that hold rows
    expect(repository.pageCalls[repository.pageCalls.length - 1].bucket).toBe('2026-01-01T23:00:00.000Z');
    expect(repository.pageCalls.map((c) => c.bucket).filter((b) => b.startsWith('2026-01-01'))).toEqual(['2026-01-01T23:00:00.000Z']);
  });

  it('maps a stored row to its view, parsing the JSON payload', async () => {
    const { service, repository } = setup();
    repository.insert(
      {
        eventId: 'evt-json',
        source: 'users',
        receivedAt: new Date('2026-01-02T10:00:00Z'),
        key: 'ada@example.com',
        payload: Buffer.from('{"name":"Ada"}'),
        processedAt: new Date('2026-01-02T10:00:00.850Z'),
      },
      { eventId: 'evt-text', source: 'users', receivedAt: new Date('2026-01-02T09:00:00Z'), payload: Buffer.from('not json') },
    );

    const { items } = await service.records('users', { from: FROM, to: TO, limit: 10 });

    expect(items).toEqual([
      {
        eventId: 'evt-json',
        source: 'users',
        receivedAt: '2026-01-02T10:00:00.000Z',
        key: 'ada@example.com',
        payload: { name: 'Ada' },
        processedAt: '2026-01-02T10:00:00.850Z',
      },
      { eventId: 'evt-text', source: 'users', receivedAt: '2026-01-02T09:00:00.000Z', payload: 'not json' },
    ]);
  });

  it('answers an empty page without a token when nothing was processed', async () => {
    const { service } = setup();

    await expect(service.records('users', { from: FROM, to: TO, limit: 7 })).resolves.toEqual({ items: [] });
  });

  describe('rejects', () => {
    async function firstToken() {
      const { service, repository } = setup();
      repository.insert(...rows);
      const { nextPageToken } = await service.records('users', { from: FROM, to: TO, limit: 7 });
      expect(nextPageToken).toEqual(expect.any(String));
      return { service, repository, token: nextPageToken! };
    }

    it('a token reused with a different source', async () => {
      const { service, token } = await firstToken();

      await expect(service.records('orders', { from: FROM, to: TO, limit: 7, pageToken: token })).rejects.toThrow(
        new BadRequestError('pageToken belongs to a different query: keep source, from and to unchanged while paging'),
      );
    });

    it.each([
      ['from', { from: '2026-01-02T00:00:00.000Z', to: TO }],
      ['to', { from: FROM, to: '2026-01-03T00:00:00.000Z' }],
    ])('a token reused with a different %s', async (_changed, range) => {
      const { service, token } = await firstToken();

      await expect(service.records('users', { ...range, limit: 7, pageToken: token })).rejects.toBeInstanceOf(BadRequestError);
    });

    it('a token of the API before events were bucketed (version 1, a day partition) with 400 naming pageToken', async () => {
      const { service, repository } = setup();
      const v1 = sealPageToken(
        { v: 1, s: 'users', f: Date.parse(FROM), t: Date.parse(TO), d: '2026-01-03', p: null },
        pageTokenKey(testConfig().records.pageTokenSecret()),
      );

      const err = await rejection(service.records('users', { from: FROM, to: TO, limit: 7, pageToken: v1 }));

      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).message).toMatch(/^pageToken is not valid/);
      expect((err as BadRequestError).details).toEqual([{ field: 'pageToken', message: 'not a token this API issued' }]);
      expect(repository.bucketCalls).toHaveLength(0);
    });

    it('a garbage token, without reading Cassandra', async () => {
      const { service, repository } = setup();

      await expect(service.records('users', { from: FROM, to: TO, limit: 7, pageToken: 'garbage' })).rejects.toThrow(/^pageToken is not valid/);
      expect(repository.pageCalls).toHaveLength(0);
    });

    // The cursor is only base64 JSON: one a client wrote itself never reaches Cassandra (whose answer to a bad paging state is a 502).
    it('a forged token with a garbage paging state with 400 naming pageToken, without reading Cassandra', async () => {
      const { service, repository } = setup();
      const cursor = { v: 1, s: 'users', f: Date.parse(FROM), t: Date.parse(TO), d: '2026-01-03', p: 'garbage' };
      const forged = Buffer.from(JSON.stringify(cursor)).toString('base64url');

      for (const token of [forged, `${forged}.${'A'.repeat(22)}`]) {
        await expect(service.records('users', { from: FROM, to: TO, limit: 7, pageToken: token })).rejects.toThrow(/^pageToken is not valid/);
      }
      expect(repository.pageCalls).toHaveLength(0);
    });

    // A token the API signed under another configuration (RECORDS_MAX_RANGE_DAYS lowered since) obeys the rules of from/to too.
    it.each([
      ['an instant outside the Date range', { from: 0, to: 1e20 }],
      ['a range longer than RECORDS_MAX_RANGE_DAYS', { from: Date.parse('2020-01-01T00:00:00Z'), to: Date.parse(TO) }],
    ])('a signed token carrying %s with 400', async (_case, range) => {
      const { service, repository } = setup();
      const token = encodePageToken(
        { source: 'users', from: range.from, to: range.to, day: '2026-01-03', bucket: Date.parse('2026-01-03T00:00:00Z') },
        pageTokenKey(testConfig().records.pageTokenSecret()),
      );

      await expect(service.records('users', { limit: 7, pageToken: token })).rejects.toBeInstanceOf(BadRequestError);
      expect(repository.pageCalls).toHaveLength(0);
    });

    it('from equal to or after to', async () => {
      const { service, repository } = setup();

      await expect(service.records('users', { from: TO, to: TO, limit: 7 })).rejects.toThrow(new BadRequestError('from must be earlier than to'));
      await expect(service.records('users', { from: TO, to: FROM, limit: 7 })).rejects.toBeInstanceOf(BadRequestError);
      expect(repository.pageCalls).toHaveLength(0);
    });

    it('a range beyond RECORDS_MAX_RANGE_DAYS', async () => {
      const { service, repository } = setup(2);

      await expect(service.records('users', { from: FROM, to: TO, limit: 7 })).rejects.toThrow(/spans more than 2 days/);
      expect(repository.pageCalls).toHaveLength(0);
    });

    it('an unknown source with 404', async () => {
      const { service } = setup();

      await expect(service.records('payments', { from: FROM, to: TO, limit: 7 })).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});

describe('RecordsService.records across buckets', () => {
  /** users stored in 1 h buckets on Jan 1, 10 min buckets on Jan 2 (from 10:25, and 1 h before), 30 s buckets on Jan 3. */
  function mixedSizes() {
    const { service, repository } = setup();
    const jan1 = spaced('2026-01-01T00:30:00Z', 12, 117).map((at) => event('users', at));
    const jan2Hourly = ['2026-01-02T08:00:00.000Z', '2026-01-02T09:59:59.999Z', '2026-01-02T10:00:00.000Z', '2026-01-02T10:24:59.999Z'].map((at) =>
      event('users', at),
    );
    const jan2TenMinutes = [...spaced('2026-01-02T10:25:00Z', 9, 13), '2026-01-02T23:59:59.999Z'].map((at) => event('users', at));
    const jan3 = [
      '2026-01-03T00:00:00.000Z',
      '2026-01-03T00:00:29.999Z',
      '2026-01-03T00:00:30.000Z',
      '2026-01-03T00:00:30.000Z', // a tie, in the same bucket
      ...spaced('2026-01-03T07:00:00Z', 5, 1),
    ].map((at) => event('users', at));
    repository.bucketSize('users', 3600).insert(...jan1, ...jan2Hourly);
    repository.bucketSize('users', 600).insert(...jan2TenMinutes);
    repository.bucketSize('users', 30).insert(...jan3);
    const rows = [...jan1, ...jan2Hourly, ...jan2TenMinutes, ...jan3];
    return { service, repository, rows };
  }

  it('spreads the test data as intended: buckets of three sizes, one day holding two', async () => {
    const { repository, rows } = mixedSizes();

    expect(rows).toHaveLength(35);
    const sizes = async (day: string) => new Set((await repository.bucketsOf('users', day, new Date(TO))).map((b) => b.seconds));
    expect(await sizes('2026-01-01')).toEqual(new Set([3600]));
    expect(await sizes('2026-01-02')).toEqual(new Set([3600, 600]));
    expect(await sizes('2026-01-03')).toEqual(new Set([30]));
  });

  it.each([1, 2, 3, 4, 5, 7, 9, 10, 34, 35, 36, 1000])('returns every row exactly once, newest first, with limit %i', async (limit) => {
    const { service, rows } = mixedSizes();

    const pages = await allPages(service, 'users', { from: FROM, to: TO, limit });

    expect(pages.flatMap((p) => p.items.map((i) => i.eventId))).toEqual(newestFirst(rows).map((r) => r.eventId));
    expect(pages.every((p) => p.items.length <= limit)).toBe(true);
    expect(pages.slice(0, -1).every((p) => p.items.length === limit)).toBe(true);
    expect(pages[pages.length - 1].nextPageToken).toBeUndefined();
  });

  it('reads each bucket partition once from its start, and goes on in it only with its own paging state', async () => {
    const { service, repository } = mixedSizes();

    await allPages(service, 'users', { from: FROM, to: TO, limit: 4 });

    const starts = repository.pageCalls.filter((c) => c.pageState === undefined).map((c) => c.bucket);
    expect(new Set(starts).size).toBe(starts.length);
    // the fake refuses a paging state of another partition, so reaching here means none was misused
    expect(repository.pageCalls.some((c) => c.pageState !== undefined)).toBe(true);
  });

  it('reads only the buckets the index lists: a week of 1 s buckets holding three events costs three partition reads', async () => {
    const { service, repository } = setup();
    repository
      .bucketSize('users', 1)
      .insert(event('users', '2026-01-02T12:00:00.500Z'), event('users', '2026-01-05T00:00:00.000Z'), event('users', '2026-01-07T23:59:59.999Z'));

    const page = await service.records('users', { from: '2026-01-01', to: '2026-01-08', limit: 100 });

    expect(page.items.map((i) => i.receivedAt)).toEqual(['2026-01-07T23:59:59.999Z', '2026-01-05T00:00:00.000Z', '2026-01-02T12:00:00.500Z']);
    expect(page.nextPageToken).toBeUndefined();
    expect(repository.pageCalls.map((c) => c.bucket)).toEqual(['2026-01-07T23:59:59.000Z', '2026-01-05T00:00:00.000Z', '2026-01-02T12:00:00.000Z']);
    expect(repository.bucketCalls.map((c) => c.day)).toEqual([
      '2026-01-07',
      '2026-01-06',
      '2026-01-05',
      '2026-01-04',
      '2026-01-03',
      '2026-01-02',
      '2026-01-01',
    ]);
  });

  it('skips the buckets of a day that end before from or start at or after to', async () => {
    const { service, repository } = setup();
    repository.bucketSize('users', 600).insert(...spaced('2026-01-02T09:00:00Z', 24, 10).map((at) => event('users', at)));

    const { items } = await service.records('users', { from: '2026-01-02T10:05:00Z', to: '2026-01-02T11:00:00Z', limit: 100 });

    expect(items.map((i) => i.receivedAt)).toEqual(spaced('2026-01-02T10:10:00Z', 5, 10).reverse());
    expect(repository.bucketCalls).toEqual([{ day: '2026-01-02', until: '2026-01-02T10:59:59.999Z' }]);
    expect(repository.pageCalls.map((c) => c.bucket)).toEqual(spaced('2026-01-02T10:00:00Z', 6, 10).reverse());
  });

  it('reads a bucket whose start two sizes share as wide as the widest of its day', async () => {
    const { service, repository } = setup();
    // 1 h buckets until 10:40, then 10 min ones: the 10:00 bucket's index row now says 600 s
    repository.bucketSize('users', 3600).insert(event('users', '2026-01-02T09:30:00Z'), event('users', '2026-01-02T10:30:00Z'));
    repository.bucketSize('users', 600).insert(event('users', '2026-01-02T10:00:00Z'), event('users', '2026-01-02T10:45:00Z'));

    const { items } = await service.records('users', { from: '2026-01-02T10:20:00Z', to: '2026-01-02T11:00:00Z', limit: 100 });

    expect(items.map((i) => i.receivedAt)).toEqual(['2026-01-02T10:45:00.000Z', '2026-01-02T10:30:00.000Z']);
  });

  it('resumes after the bucket a page ended with, in the same day or the next', async () => {
    const { service, repository } = setup();
    repository.insert(event('users', '2026-01-02T10:30:00Z'), event('users', '2026-01-02T10:10:00Z'), event('users', '2026-01-01T23:10:00Z'));

    const first = await service.records('users', { from: FROM, to: TO, limit: 2 });
    const second = await service.records('users', { limit: 2, pageToken: first.nextPageToken });

    expect(first.items.map((i) => i.receivedAt)).toEqual(['2026-01-02T10:30:00.000Z', '2026-01-02T10:10:00.000Z']);
    expect(second).toEqual({ items: [expect.objectContaining({ receivedAt: '2026-01-01T23:10:00.000Z' })] });
    expect(repository.pageCalls.map((c) => c.bucket)).toEqual(['2026-01-02T10:00:00.000Z', '2026-01-01T23:00:00.000Z']);
    // the second page asked the index of 2026-01-02 only for buckets before the one the first page ended with
    expect(repository.bucketCalls.slice(2, 3)).toEqual([{ day: '2026-01-02', until: '2026-01-02T09:59:59.999Z' }]);
  });

  it('goes on in the bucket a page stopped in without reading the index, and reads it once that bucket is done', async () => {
    const { service, repository } = setup();
    repository.insert(...spaced('2026-01-02T10:00:00Z', 5, 1).map((at) => event('users', at)), event('users', '2026-01-02T09:00:00Z'));

    const first = await service.records('users', { from: FROM, to: TO, limit: 2 });
    const indexReads = repository.bucketCalls.length;
    const second = await service.records('users', { limit: 2, pageToken: first.nextPageToken });
    expect(repository.bucketCalls).toHaveLength(indexReads);
    expect(repository.pageCalls.slice(-1)).toEqual([expect.objectContaining({ bucket: '2026-01-02T10:00:00.000Z', pageState: expect.any(String) })]);
    const rest = await allPages(service, 'users', { limit: 2, pageToken: second.nextPageToken });

    expect([...first.items, ...second.items, ...rest.flatMap((p) => p.items)].map((i) => i.receivedAt)).toEqual([
      ...spaced('2026-01-02T10:00:00Z', 5, 1).reverse(),
      '2026-01-02T09:00:00.000Z',
    ]);
    expect(repository.bucketCalls[indexReads]).toEqual({ day: '2026-01-02', until: '2026-01-02T09:59:59.999Z' });
  });

  it('ends a page filled by the rest of a bucket with a token only when another bucket follows', async () => {
    const { service, repository } = setup();
    repository.insert(...spaced('2026-01-01T10:00:00Z', 4, 1).map((at) => event('users', at)));
    const range = { from: '2026-01-01', to: '2026-01-02', limit: 2 };

    const first = await service.records('users', range);
    const second = await service.records('users', { ...range, pageToken: first.nextPageToken });
    repository.insert(event('users', '2026-01-01T08:00:00Z'));
    const again = await service.records('users', { ...range, pageToken: first.nextPageToken });
    const last = await service.records('users', { ...range, pageToken: again.nextPageToken });

    expect(second.items).toHaveLength(2);
    expect(second.nextPageToken).toBeUndefined();
    expect(again.items).toEqual(second.items);
    expect(last.items.map((i) => i.receivedAt)).toEqual(['2026-01-01T08:00:00.000Z']);
    expect(last.nextPageToken).toBeUndefined();
  });

  it('answers no token when the page ends with the last bucket of the range', async () => {
    const { service, repository } = setup();
    repository.insert(event('users', '2026-01-01T10:30:00Z'), event('users', '2026-01-01T10:10:00Z'));

    await expect(service.records('users', { from: '2026-01-01', to: '2026-01-02', limit: 2 })).resolves.toEqual({
      items: [expect.objectContaining({ receivedAt: '2026-01-01T10:30:00.000Z' }), expect.objectContaining({ receivedAt: '2026-01-01T10:10:00.000Z' })],
    });
  });
});

describe('RecordsService.newestEvents', () => {
  const range = { from: new Date(FROM), to: new Date(TO) };

  it('reads up to the limit, newest first, and says whether the range held more', async () => {
    const rows = usersAcrossThreeDays();
    const { service, repository } = setup();
    repository.insert(...rows, ...outsiders());

    const some = await service.newestEvents('users', range, 12);
    const exactly = await service.newestEvents('users', range, 30);
    const more = await service.newestEvents('users', range, 1000);

    expect(some.events.map((e) => e.eventId)).toEqual(
      newestFirst(rows)
        .slice(0, 12)
        .map((r) => r.eventId),
    );
    expect(some.more).toBe(true);
    expect(exactly).toEqual({ events: newestFirst(rows), more: false });
    expect(more).toEqual({ events: newestFirst(rows), more: false });
  });

  it('reads past 1000 events a page of at most 1000 after another', async () => {
    const { service, repository } = setup();
    repository.bucketSize('users', 60);
    const start = Date.parse('2026-01-02T00:00:00Z');
    const rows = Array.from({ length: 2500 }, (_, i) => event('users', new Date(start + i * 1000).toISOString()));
    repository.insert(...rows);

    const some = await service.newestEvents('users', range, 2100);
    const all = await service.newestEvents('users', range, 2500);

    expect(some.events.map((e) => e.eventId)).toEqual(
      newestFirst(rows)
        .slice(0, 2100)
        .map((r) => r.eventId),
    );
    expect(some.more).toBe(true);
    expect(all.events).toHaveLength(2500);
    expect(all.more).toBe(false);
    expect(repository.pageCalls.every((c) => c.fetchSize <= 1000)).toBe(true);
  });

  it('refuses an unknown source with 404', async () => {
    const { service } = setup();

    expect(await rejection(service.newestEvents('nope', range, 10))).toBeInstanceOf(NotFoundError);
  });
});

describe('RecordsService.stats', () => {
  it('sums the minute counts of every day in the range, oldest first', async () => {
    const { service, repository } = setup();
    repository.addCount('users', '2026-01-03T00:01:00Z', 4);
    repository.addCount('users', '2026-01-01T23:58:00Z', 1);
    repository.addCount('users', '2026-01-02T12:00:00Z', 7);
    repository.addCount('users', '2026-01-01T23:59:00Z', 2);
    repository.addCount('users', '2026-01-03T00:00:00Z', 3);
    repository.addCount('users', '2026-01-03T00:02:00Z', 100); // at `to`: excluded
    repository.addCount('users', '2026-01-01T23:57:00Z', 100); // before `from`: excluded
    repository.addCount('orders', '2026-01-02T12:00:00Z', 100); // another source

    const stats = await service.stats('users', '2026-01-01T23:58:00Z', '2026-01-03T00:02:00Z');

    expect(stats).toEqual({
      source: 'users',
      from: '2026-01-01T23:58:00.000Z',
      to: '2026-01-03T00:02:00.000Z',
      total: 17,
      minutes: [
        { minute: '2026-01-01T23:58:00.000Z', count: 1 },
        { minute: '2026-01-01T23:59:00.000Z', count: 2 },
        { minute: '2026-01-02T12:00:00.000Z', count: 7 },
        { minute: '2026-01-03T00:00:00.000Z', count: 3 },
        { minute: '2026-01-03T00:01:00.000Z', count: 4 },
      ],
    });
    expect(repository.countCalls).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
  });

  it('covers the last 24 hours by default', async () => {
    const { service, repository } = setup();

    const stats = await service.stats('users');

    expect(Date.parse(stats.to) - Date.parse(stats.from)).toBe(86_400_000);
    expect(stats).toMatchObject({ total: 0, minutes: [] });
    expect(repository.countCalls.length).toBeGreaterThanOrEqual(1);
    expect(repository.countCalls.length).toBeLessThanOrEqual(2);
  });

  it('rejects an invalid range and an unknown source', async () => {
    const { service } = setup(1);

    await expect(service.stats('users', TO, FROM)).rejects.toBeInstanceOf(BadRequestError);
    await expect(service.stats('users', FROM, TO)).rejects.toThrow(/spans more than 1 days/);
    await expect(service.stats('payments', FROM, TO)).rejects.toBeInstanceOf(NotFoundError);
  });
});
