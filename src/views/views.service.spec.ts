import { EventsRepository, StoredEvent } from '../cassandra/events.repository';
import { InMemoryEventsRepository } from '../cassandra/testing/in-memory-events.repository';
import { InMemoryViewsRepository } from '../cassandra/testing/in-memory-views.repository';
import { sourcesRegistry } from '../catalogs/testing/catalogs';
import { AppError, BadRequestError, ConflictError, NotFoundError, PreconditionFailedError, UpstreamUnavailableError } from '../common/errors/errors';
import { fakeClockAndQuietLogs } from '../common/testing/clock';
import { testConfig } from '../common/testing/config';
import { RecordsService } from '../storage/records/records.service';
import { ViewDefinitionDto, ViewPreviewRequestDto, ViewResultDto, ViewResultsQueryDto } from './dto/views.dto';
import { ViewsService } from './views.service';

const NOW = new Date('2026-12-07T12:00:30Z');
const SOURCES = `sources:
  orders:
    schema: { type: object, properties: { amount: { type: number }, currency: { type: string } } }
  clicks: {}
  legacy: {}
`;

fakeClockAndQuietLogs(NOW);

function setup() {
  const repository = new InMemoryViewsRepository();
  const registry = sourcesRegistry(SOURCES);
  const events = new InMemoryEventsRepository();
  const config = testConfig();
  const records = new RecordsService(events as unknown as EventsRepository, registry, config);
  const service = new ViewsService(repository.repository, registry, records, config);
  return { repository, registry, events, service };
}

const definition = (extra: Record<string, unknown> = {}): ViewDefinitionDto => ({
  name: 'revenue',
  source: 'orders',
  window: '1m',
  groupBy: ['/currency'],
  aggregates: [{ fn: 'count' }],
  ...extra,
});

async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected a failure');
}

const query = (q: Partial<ViewResultsQueryDto> = {}): ViewResultsQueryDto => ({ limit: 100, ...q });

describe('ViewsService', () => {
  describe('create', () => {
    it('stores the definition exactly as given, under a new id, with its creator; the view is pending', async () => {
      const { repository, service } = setup();
      const body = definition({ lateness: '5m', filter: [{ field: '/status', op: 'in', value: ['paid', 1, true] }] });

      const view = await service.create(body, '3f9a0c1b2d4e');

      const row = repository.rows.get('revenue')!;
      expect(JSON.stringify(row.definition)).toBe(JSON.stringify(body));
      expect(row).toMatchObject({ name: 'revenue', source: 'orders', createdAt: NOW, createdBy: '3f9a0c1b2d4e' });
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(view).toEqual({
        name: 'revenue',
        id: row.id,
        source: 'orders',
        definition: body,
        createdAt: NOW.toISOString(),
        createdBy: '3f9a0c1b2d4e',
        state: 'pending',
        lateEvents: 0,
      });
    });

    it('refuses a definition that breaks rules with one 400 naming each, and stores nothing', async () => {
      const { repository, service } = setup();

      const err = await failure(service.create(definition({ window: '7m', aggregates: [{ fn: 'sum', field: '/currency' }] }), 'k'));

      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.details).toEqual([
        { field: 'window', message: expect.stringContaining('divide a day') },
        { field: 'aggregates/0/field', message: "the source's schema says /currency is a string; sum needs a number" },
      ]);
      expect(err.message).toContain('aggregates/0/field the source');
      expect(repository.create).not.toHaveBeenCalled();
    });

    it('refuses an unknown source, and an archived one, at source', async () => {
      const { registry, service } = setup();
      registry.replace(
        registry.list().filter((s) => s.name !== 'legacy'),
        registry.list().filter((s) => s.name === 'legacy'),
      );

      expect((await failure(service.create(definition({ source: 'nowhere' }), 'k'))).details).toEqual([
        { field: 'source', message: expect.stringContaining('names no source') },
      ]);
      expect((await failure(service.create(definition({ source: 'legacy' }), 'k'))).details).toEqual([
        { field: 'source', message: expect.stringContaining('archived') },
      ]);
    });

    it('answers 409 for a taken name and keeps the view that has it', async () => {
      const { repository, service } = setup();
      const first = await service.create(definition(), 'a');

      const err = await failure(service.create(definition({ source: 'clicks', groupBy: [] }), 'b'));

      expect(err).toBeInstanceOf(ConflictError);
      expect(err.details).toEqual([{ field: 'name', message: '"revenue" is taken' }]);
      expect(repository.rows.get('revenue')).toMatchObject({ id: first.id, source: 'orders', createdBy: 'a' });
    });

    it('gives a view created again after a delete a new id', async () => {
      const { service } = setup();
      const first = await service.create(definition(), 'a');
      await service.delete('revenue');

      const second = await service.create(definition(), 'a');

      expect(second.id).not.toBe(first.id);
    });

    it('answers 503 naming Cassandra while it is down', async () => {
      const { repository, service } = setup();
      repository.down = true;

      const err = await failure(service.create(definition(), 'a'));

      expect(err).toBeInstanceOf(UpstreamUnavailableError);
      expect(err.upstream).toBe('Cassandra');
    });
  });

  describe('replace', () => {
    it('stores the new definition under a new id, by its new author, over the id it replaced; the view is pending again', async () => {
      const { repository, service } = setup();
      const first = await service.create(definition(), 'k1');
      repository.status.set(first.id, { viewId: first.id, state: 'running', lateEvents: 4 });
      const body = definition({ window: '5m', aggregates: [{ fn: 'sum', field: '/amount', as: 'revenue' }] });

      const view = await service.replace('revenue', body, 'k2', `"${first.id}"`);

      const row = repository.rows.get('revenue')!;
      expect(row.id).not.toBe(first.id);
      expect(JSON.stringify(row.definition)).toBe(JSON.stringify(body));
      expect(row).toMatchObject({ source: 'orders', createdBy: 'k2', createdAt: NOW });
      expect(view).toMatchObject({ id: row.id, definition: body, state: 'pending', lateEvents: 0 });
      expect(repository.replace).toHaveBeenCalledWith(expect.objectContaining({ id: row.id }), first.id);
    });

    it('answers 412 for an If-Match that is not the current ETag, and when another change wins the race, keeping the winner', async () => {
      const { repository, service } = setup();
      const first = await service.create(definition(), 'k1');
      const second = await service.replace('revenue', definition({ window: '5m' }), 'k1');

      const stale = await failure(service.replace('revenue', definition({ window: '10m' }), 'k1', `"${first.id}"`));
      expect(stale).toBeInstanceOf(PreconditionFailedError);
      expect(stale.details).toEqual([{ field: 'If-Match', message: `expected "${second.id}"` }]);

      // Another process replaces the view between this one's read and its write.
      repository.replace.mockImplementationOnce(async () => false);
      const raced = await failure(service.replace('revenue', definition({ window: '10m' }), 'k1'));
      expect(raced).toBeInstanceOf(PreconditionFailedError);
      expect(repository.rows.get('revenue')!.id).toBe(second.id);
    });

    it('refuses a body naming another view, a broken definition and an unknown view, changing nothing', async () => {
      const { repository, service } = setup();
      const first = await service.create(definition(), 'k1');

      expect(await failure(service.replace('revenue', definition({ name: 'other' }), 'k1'))).toBeInstanceOf(BadRequestError);
      const broken = await failure(service.replace('revenue', definition({ window: '7m' }), 'k1'));
      expect(broken.details).toEqual([{ field: 'window', message: expect.any(String) }]);
      expect(await failure(service.replace('nothing', definition({ name: 'nothing' }), 'k1'))).toBeInstanceOf(NotFoundError);
      expect(repository.rows.get('revenue')!.id).toBe(first.id);
      expect(repository.replace).not.toHaveBeenCalled();
    });
  });

  describe('get, list and delete', () => {
    it('shows what the streaming job reports of a view', async () => {
      const { repository, service } = setup();
      const { id } = await service.create(definition(), 'a');
      repository.status.set(id, {
        viewId: id,
        state: 'failed',
        error: 'StreamingQueryException: boom',
        lateEvents: 4,
        lastEpoch: 9,
        offsetsRead: 1200,
        offsetsAvailable: 1210,
        watermark: new Date('2026-12-07T11:59:00Z'),
        runId: 'r1',
        updatedAt: new Date('2026-12-07T12:00:20Z'),
      });

      expect(await service.get('revenue')).toMatchObject({
        state: 'failed',
        error: 'StreamingQueryException: boom',
        lateEvents: 4,
        watermark: '2026-12-07T11:59:00.000Z',
        progress: { offsetsRead: 1200, offsetsAvailable: 1210 },
        updatedAt: '2026-12-07T12:00:20.000Z',
      });
    });

    it('shows pending, with no late events, before the job reports a state it knows', async () => {
      const { repository, service } = setup();
      const { id } = await service.create(definition(), 'a');
      repository.status.set(id, { viewId: id, state: 'warming-up', offsetsRead: 3 });

      const view = await service.get('revenue');

      expect(view).toMatchObject({ state: 'pending', lateEvents: 0 });
      expect(view).not.toHaveProperty('progress');
      expect(view).not.toHaveProperty('error');
    });

    it('answers 404 for an unknown view, without asking Cassandra for a name no view can have', async () => {
      const { repository, service } = setup();

      expect(await failure(service.get('nothing'))).toBeInstanceOf(NotFoundError);
      expect(await failure(service.get('../etc'))).toBeInstanceOf(NotFoundError);
      expect(repository.get).toHaveBeenCalledTimes(1);
    });

    it('lists every view by name, each with its state', async () => {
      const { repository, service } = setup();
      for (const name of ['zeta', 'alpha', 'mid']) await service.create(definition({ name }), 'a');
      const alpha = repository.rows.get('alpha')!;
      repository.status.set(alpha.id, { viewId: alpha.id, state: 'running', lateEvents: 2 });

      const { items } = await service.list();

      expect(items.map((v) => [v.name, v.state, v.lateEvents])).toEqual([
        ['alpha', 'running', 2],
        ['mid', 'pending', 0],
        ['zeta', 'pending', 0],
      ]);
    });

    it('deletes a view; a second delete, or one of an unknown name, is 404', async () => {
      const { repository, service } = setup();
      await service.create(definition(), 'a');

      await service.delete('revenue');

      expect(repository.rows.has('revenue')).toBe(false);
      expect(await failure(service.delete('revenue'))).toBeInstanceOf(NotFoundError);
      expect(await failure(service.delete('Not-A-Name'))).toBeInstanceOf(NotFoundError);
    });
  });

  describe('results', () => {
    /** A view and its results: one row per (minute, currency) from `first` to `last` (inclusive), counts as given. */
    async function withResults(starts: string[], currencies: (string | null)[] = ['EUR', 'USD'], extra: Record<string, unknown> = {}) {
      const ctx = setup();
      const view = await ctx.service.create(definition(extra), 'a');
      for (const start of starts) {
        for (const currency of currencies) {
          const windowStart = new Date(start);
          ctx.repository.results.push({
            viewId: view.id,
            windowStart,
            windowEnd: new Date(windowStart.getTime() + 60_000),
            groupKey: JSON.stringify([currency]),
            groupJson: JSON.stringify(currency === null ? {} : { '/currency': currency }),
            valuesJson: JSON.stringify({ count: windowStart.getUTCMinutes() }),
          });
        }
      }
      return { ...ctx, view };
    }

    async function everyPage(service: ViewsService, q: Partial<ViewResultsQueryDto>): Promise<{ items: ViewResultDto[]; pages: number }> {
      const items: ViewResultDto[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const page = await service.results('revenue', query({ ...q, pageToken }));
        items.push(...page.items);
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken);
      return { items, pages };
    }

    it('answers each window and group newest window first, with its group and values, by default over the 24 hours before the current window ends', async () => {
      const { service } = await withResults([
        '2026-12-06T11:59:00Z', // older than 24 h before the default end (12:01:30): out
        '2026-12-06T12:02:00Z',
        '2026-12-07T00:00:00Z',
        '2026-12-07T12:00:00Z', // the current window: in
      ]);

      const page = await service.results('revenue', query());

      expect(page.items.map((i) => [i.windowStart, i.group['/currency']])).toEqual([
        ['2026-12-07T12:00:00.000Z', 'EUR'],
        ['2026-12-07T12:00:00.000Z', 'USD'],
        ['2026-12-07T00:00:00.000Z', 'EUR'],
        ['2026-12-07T00:00:00.000Z', 'USD'],
        ['2026-12-06T12:02:00.000Z', 'EUR'],
        ['2026-12-06T12:02:00.000Z', 'USD'],
      ]);
      expect(page.items[0]).toEqual({
        windowStart: '2026-12-07T12:00:00.000Z',
        windowEnd: '2026-12-07T12:01:00.000Z',
        group: { '/currency': 'EUR' },
        values: { count: 0 },
      });
      expect(page.nextPageToken).toBeUndefined();
    });

    it('shows a groupBy field the job left out as null', async () => {
      const { service } = await withResults(['2026-12-07T10:00:00Z'], [null]);

      expect((await service.results('revenue', query())).items[0].group).toEqual({ '/currency': null });
    });

    it('takes from and to (window_start in [from, to)) as dates or date-times with a zone', async () => {
      const { service } = await withResults(['2026-12-01T00:00:00Z', '2026-12-01T23:59:00Z', '2026-12-02T00:00:00Z'], ['EUR']);

      const page = await service.results('revenue', query({ from: '2026-12-01', to: '2026-12-02T01:00:00+01:00' }));

      expect(page.items.map((i) => i.windowStart)).toEqual(['2026-12-01T23:59:00.000Z', '2026-12-01T00:00:00.000Z']);
    });

    it('pages through a range of days, every item once, in order, whatever the limit', async () => {
      const starts = Array.from({ length: 9 }, (_, i) => new Date(Date.UTC(2026, 11, 1 + (i % 3), 6 + i, 0)).toISOString());
      const { service } = await withResults(starts);
      const range = { from: '2026-11-30T00:00:00Z', to: '2026-12-05T00:00:00Z' };
      const all = (await service.results('revenue', query({ ...range, limit: 1000 }))).items;

      for (const limit of [1, 2, 3, 5, 17]) {
        const { items, pages } = await everyPage(service, { ...range, limit });
        expect(items).toEqual(all);
        expect(pages).toBeGreaterThanOrEqual(Math.ceil(all.length / limit));
      }
      expect(all).toHaveLength(18);
      expect([...all].sort((a, b) => b.windowStart.localeCompare(a.windowStart))).toEqual(all);
    });

    it('keeps the default range of the first page on the next ones, as the token holds it', async () => {
      // 12:30 the day before is within 24 hours of the first page's default end, and no longer an hour later.
      const { service } = await withResults(['2026-12-07T11:00:00Z', '2026-12-06T12:30:00Z']);
      const first = await service.results('revenue', query({ limit: 2 }));
      jest.setSystemTime(new Date(NOW.getTime() + 3_600_000));

      const next = await service.results('revenue', query({ limit: 2, pageToken: first.nextPageToken }));

      expect([...first.items, ...next.items].map((i) => i.windowStart)).toEqual([
        '2026-12-07T11:00:00.000Z',
        '2026-12-07T11:00:00.000Z',
        '2026-12-06T12:30:00.000Z',
        '2026-12-06T12:30:00.000Z',
      ]);
      expect((await service.results('revenue', query())).items).toHaveLength(2);
    });

    it('filters by group, comparing as text; null matches a field the group lacks', async () => {
      const { service } = await withResults(['2026-12-07T10:00:00Z', '2026-12-07T11:00:00Z'], ['EUR', 'USD', '7', null]);

      const eur = await service.results('revenue', query({ group: '{"/currency":"EUR"}' }));
      const seven = await service.results('revenue', query({ group: '{"/currency":7}' }));
      const none = await service.results('revenue', query({ group: '{"/currency":null}' }));
      const all = await service.results('revenue', query({ group: '{}' }));

      expect(eur.items.map((i) => i.group)).toEqual([{ '/currency': 'EUR' }, { '/currency': 'EUR' }]);
      expect(seven.items.map((i) => i.group)).toEqual([{ '/currency': '7' }, { '/currency': '7' }]);
      expect(none.items.map((i) => i.group)).toEqual([{ '/currency': null }, { '/currency': null }]);
      expect(all.items).toHaveLength(8);
    });

    it('pages through a group filter that matches little: short pages, then every match once', async () => {
      const starts = Array.from({ length: 60 }, (_, i) => new Date(Date.UTC(2026, 11, 7, 10, i)).toISOString());
      const { service } = await withResults(starts, ['EUR', 'USD', 'GBP', 'CHF', 'JPY']);

      const { items } = await everyPage(service, { group: '{"/currency":"JPY"}', limit: 7 });

      expect(items).toHaveLength(60);
      expect(new Set(items.map((i) => i.windowStart)).size).toBe(60);
      expect(items.every((i) => i.group['/currency'] === 'JPY')).toBe(true);
    });

    it.each([
      ['not JSON', '{"/currency":'],
      ['an array', '["EUR"]'],
      ['a pointer the view does not group by', '{"/status":"paid"}'],
      ['an object value', '{"/currency":{"code":"EUR"}}'],
    ])('refuses a group that is %s, at group', async (_case, group) => {
      const { service } = await withResults([]);

      const err = await failure(service.results('revenue', query({ group })));

      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.details).toEqual([{ field: 'group', message: expect.any(String) }]);
    });

    it.each([
      ['from after to', { from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'from'],
      ['from equal to to', { from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'from'],
      ['a range over 31 days', { from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:01Z' }, 'from'],
      ['a from over 31 days before the default to', { from: '2026-11-01T00:00:00Z' }, 'from'],
      ['a to without a zone', { to: '2026-12-01T00:00:00' }, 'to'],
      ['a day the calendar does not have', { from: '2026-02-30' }, 'from'],
    ])('refuses %s', async (_case, q, field) => {
      const { service } = await withResults([]);

      const err = await failure(service.results('revenue', query(q)));

      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.details).toEqual([expect.objectContaining({ field })]);
    });

    it('takes a range of exactly 31 days', async () => {
      const { service } = await withResults(['2026-10-01T00:00:00Z'], ['EUR']);

      expect((await service.results('revenue', query({ from: '2026-10-01T00:00:00Z', to: '2026-11-01T00:00:00Z' }))).items).toHaveLength(1);
    });

    it('refuses a token of another query, of a view created again, or forged, at pageToken', async () => {
      const starts = ['2026-12-07T11:00:00Z', '2026-12-07T10:00:00Z', '2026-12-07T09:00:00Z'];
      const { service, repository } = await withResults(starts);
      const { nextPageToken } = await service.results('revenue', query({ limit: 1, group: '{"/currency":"EUR"}' }));
      const again = (q: Partial<ViewResultsQueryDto>) => failure(service.results('revenue', query({ limit: 1, pageToken: nextPageToken, ...q })));

      for (const err of [
        await again({}),
        await again({ group: '{"/currency":"USD"}' }),
        await again({ group: '{"/currency":"EUR"}', from: '2026-12-01T00:00:00Z' }),
        // Its MAC's last two characters changed (to other ones than it has: never the token itself).
        await again({ group: '{"/currency":"EUR"}', pageToken: `${nextPageToken!.slice(0, -2)}${nextPageToken!.endsWith('AA') ? 'BA' : 'AA'}` }),
      ]) {
        expect(err).toBeInstanceOf(BadRequestError);
        expect(err.details).toEqual([expect.objectContaining({ field: 'pageToken' })]);
      }
      await expect(service.results('revenue', query({ limit: 1, group: '{"/currency":"EUR"}', pageToken: nextPageToken }))).resolves.toBeDefined();

      await service.delete('revenue');
      await service.create(definition(), 'a');
      expect(repository.rows.get('revenue')).toBeDefined();
      const err = await failure(service.results('revenue', query({ limit: 1, group: '{"/currency":"EUR"}', pageToken: nextPageToken })));
      expect(err.details).toEqual([expect.objectContaining({ field: 'pageToken' })]);
    });

    it('answers 404 for an unknown view', async () => {
      const { service } = setup();

      expect(await failure(service.results('nothing', query()))).toBeInstanceOf(NotFoundError);
    });
  });

  describe('preview', () => {
    let sequence = 0;
    const stored = (source: string, receivedAt: string, payload: object, eventId?: string): StoredEvent => ({
      eventId: eventId ?? `evt-${String(++sequence).padStart(5, '0')}`,
      source,
      receivedAt: new Date(receivedAt),
      payload: Buffer.from(JSON.stringify(payload)),
    });
    const preview = (service: ViewsService, body: Omit<Partial<ViewPreviewRequestDto>, 'definition'> & { definition: unknown }) =>
      service.preview(body as ViewPreviewRequestDto);

    it("computes the definition over the source's events received in the last hour, as the view would, and creates nothing", async () => {
      const { events, repository, service } = setup();
      events.insert(
        stored('orders', '2026-12-07T11:59:10Z', { currency: 'EUR', amount: 10 }),
        stored('orders', '2026-12-07T11:59:50Z', { currency: 'EUR', amount: 2.5 }),
        stored('orders', '2026-12-07T11:59:55Z', { currency: 'USD', amount: 'n/a' }),
        stored('orders', '2026-12-07T11:30:05Z', { currency: 'EUR', amount: 1 }),
        stored('orders', '2026-12-07T11:00:29Z', { currency: 'EUR', amount: 100 }),
        stored('clicks', '2026-12-07T11:59:00Z', { currency: 'EUR', amount: 1000 }),
      );

      const answer = await preview(service, { definition: definition({ aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }] }) });

      expect(answer).toEqual({
        items: [
          {
            windowStart: '2026-12-07T11:59:00.000Z',
            windowEnd: '2026-12-07T12:00:00.000Z',
            group: { '/currency': 'EUR' },
            values: { count: 2, revenue: 12.5 },
          },
          {
            windowStart: '2026-12-07T11:59:00.000Z',
            windowEnd: '2026-12-07T12:00:00.000Z',
            group: { '/currency': 'USD' },
            values: { count: 1, revenue: null },
          },
          { windowStart: '2026-12-07T11:30:00.000Z', windowEnd: '2026-12-07T11:31:00.000Z', group: { '/currency': 'EUR' }, values: { count: 1, revenue: 1 } },
        ],
        events: 4,
        truncated: false,
        from: '2026-12-07T11:00:30.000Z',
        to: NOW.toISOString(),
      });
      expect(repository.create).not.toHaveBeenCalled();
    });

    it('reads [from, to) as given, and windows each event read by its event time, outside the range too', async () => {
      const { events, service } = setup();
      events.insert(
        stored('orders', '2026-12-06T10:00:00Z', { paid_at: '2026-12-01T08:00:10Z' }),
        stored('orders', '2026-12-06T10:59:59.999Z', { paid_at: 1796112010000 }),
        stored('orders', '2026-12-06T11:00:00Z', { paid_at: '2026-12-06T11:00:00Z' }),
        stored('orders', '2026-12-06T09:59:59Z', { paid_at: '2026-12-06T09:59:59Z' }),
      );

      const answer = await preview(service, {
        definition: definition({ groupBy: [], timeField: '/paid_at', window: '1h' }),
        from: '2026-12-06T11:00:00+01:00',
        to: '2026-12-06T11:00:00Z',
      });

      expect(answer.items).toEqual([{ windowStart: '2026-12-01T08:00:00.000Z', windowEnd: '2026-12-01T09:00:00.000Z', group: {}, values: { count: 2 } }]);
      expect(answer).toMatchObject({ events: 2, truncated: false, from: '2026-12-06T10:00:00.000Z', to: '2026-12-06T11:00:00.000Z' });
    });

    it('takes a name already taken, since nothing is created', async () => {
      const { service } = setup();
      await service.create(definition(), 'a');

      await expect(preview(service, { definition: definition() })).resolves.toMatchObject({ items: [], events: 0, truncated: false });
    });

    it('refuses with one 400 naming every broken rule of the definition under definition/, and of the range', async () => {
      const { service } = setup();

      const err = await failure(
        preview(service, {
          definition: { ...definition({ window: '7m', aggregates: [{ fn: 'sum', field: '/currency' }] }), colour: 'red' },
          from: 'yesterday',
          to: '2026-12-07',
        }),
      );

      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.details).toEqual([
        { field: 'definition/colour', message: expect.stringContaining('is not a setting here') },
        { field: 'definition/window', message: expect.stringContaining('divide a day') },
        { field: 'definition/aggregates/0/field', message: "the source's schema says /currency is a string; sum needs a number" },
        { field: 'to', message: 'must be an RFC 3339 date-time with a zone, such as 2026-12-07T11:00:00Z' },
        { field: 'from', message: 'must be an RFC 3339 date-time with a zone, such as 2026-12-07T11:00:00Z' },
      ]);
      expect(err.message).toContain('definition/window must divide a day');
      expect((await failure(preview(service, { definition: definition({ source: 'nowhere' }) }))).details).toEqual([
        { field: 'definition/source', message: expect.stringContaining('names no source') },
      ]);
      expect((await failure(preview(service, { definition: ['not', 'a', 'definition'] }))).details).toEqual([
        { field: 'definition', message: expect.stringContaining('must be a JSON object') },
      ]);
    });

    it('refuses a range of more than 24 hours, or one that ends before it starts, at from', async () => {
      const { service } = setup();
      const range = async (from: string, to: string) => (await failure(preview(service, { definition: definition(), from, to }))).details;

      expect(await range('2026-12-06T11:59:59Z', '2026-12-07T12:00:00Z')).toEqual([{ field: 'from', message: 'must be at most 24 hours before to' }]);
      expect(await range('2026-12-07T12:00:00Z', '2026-12-07T12:00:00Z')).toEqual([{ field: 'from', message: 'must be earlier than to' }]);
      await expect(preview(service, { definition: definition(), from: '2026-12-06T12:00:00Z', to: '2026-12-07T12:00:00Z' })).resolves.toBeDefined();
      expect((await failure(preview(service, { definition: definition(), to: '2026-12-07T12:00:00' }))).details).toEqual([
        { field: 'to', message: expect.stringContaining('with a zone') },
      ]);
    });

    it('reads at most so many events, newest first, and then says so, from the oldest one read', async () => {
      const { events, service } = setup();
      // 1-minute buckets: the read walks many partitions, a page after another.
      events.bucketSize('orders', 60);
      const start = Date.parse('2026-12-07T11:10:00Z');
      events.insert(...Array.from({ length: 1700 }, (_, i) => stored('orders', new Date(start + i * 1000).toISOString(), { currency: 'EUR' })));

      // A 1-minute window sliding by 1 s puts each event in 60 windows: 100,000 pairs are 1,666 events.
      const answer = await preview(service, { definition: definition({ slide: '1s' }) });

      expect(answer).toMatchObject({ events: 1666, truncated: true, from: new Date(start + (1700 - 1666) * 1000).toISOString(), to: NOW.toISOString() });
      expect(answer.items).toHaveLength(1666 + 59);
      expect(answer.items[0]).toMatchObject({ windowStart: '2026-12-07T11:38:19.000Z', values: { count: 1 } });
      expect(answer.items.find((i) => i.windowStart === '2026-12-07T11:37:00.000Z')!.values).toEqual({ count: 60 });

      const all = await preview(service, { definition: definition({ slide: '1s' }), from: '2026-12-07T11:30:00Z' });
      expect(all).toMatchObject({ events: 500, truncated: false, from: '2026-12-07T11:30:00.000Z' });
    });

    it('counts no more events than make 10,000 items, newest first, and then says so', async () => {
      const { events, service } = setup();
      events.bucketSize('orders', 60);
      const start = Date.parse('2026-12-07T10:00:00Z');
      events.insert(...Array.from({ length: 6000 }, (_, i) => stored('orders', new Date(start + i * 1000).toISOString(), { currency: `c${i}` })));

      // Each event is in 2 windows of its own group: 2 items an event.
      const answer = await preview(service, { definition: definition({ window: '2m', slide: '1m' }), from: '2026-12-07T10:00:00Z' });

      expect(answer.items).toHaveLength(10_000);
      expect(answer).toMatchObject({ events: 5000, truncated: true, from: new Date(start + 1000 * 1000).toISOString() });
    });

    it('refuses at definition/slide a definition that puts each event in more windows than a preview answers items', async () => {
      const { service } = setup();

      expect((await failure(preview(service, { definition: definition({ window: '1d', slide: '5s' }) }))).details).toEqual([
        {
          field: 'definition/slide',
          message: 'puts each event in 17280 windows (window / slide); a preview computes at most 10000: preview with a larger slide',
        },
      ]);
      await expect(preview(service, { definition: definition({ window: '1d', slide: '10s' }) })).resolves.toBeDefined();
    });

    it('counts an event stored twice once', async () => {
      const { events, service } = setup();
      events.insert(
        stored('orders', '2026-12-07T11:59:01Z', { currency: 'EUR' }, 'same'),
        stored('orders', '2026-12-07T11:59:02Z', { currency: 'EUR' }, 'same'),
      );

      const answer = await preview(service, { definition: definition() });

      expect(answer).toMatchObject({ events: 2, items: [{ values: { count: 1 } }] });
    });
  });
});
