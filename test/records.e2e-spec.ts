import { INestApplication } from '@nestjs/common';
import { Client, types } from 'cassandra-driver';
import request from 'supertest';
import { AUTH, cassandra, eventually, startApp } from './support/harness';

describe('GET /api/v1/records and /stats against a real Cassandra', () => {
  let app: INestApplication;
  let db: Client;
  // Rows in a fixed past window (cleared first), so live traffic and earlier runs cannot interfere.
  const source = 'clicks';
  const base = Date.UTC(2026, 0, 10, 23, 58, 0); // two minutes before a UTC day boundary
  const rows = Array.from({ length: 25 }, (_, i) => ({
    eventId: types.Uuid.random().toString(),
    receivedAt: new Date(base + i * 10_000), // 25 rows over 4 minutes, crossing midnight
  }));
  const from = new Date(base - 60_000).toISOString();
  const to = new Date(base + 10 * 60_000).toISOString();

  /** The clicks source's bucket size (config/sources.yaml: small, so these rows span several buckets), from GET /sources. */
  let bucketMs: number;
  const bucketOf = (at: Date) => new Date(Math.floor(at.getTime() / bucketMs) * bucketMs);
  /** A row of another bucket size: stored before the source's bucket changed, listed in the index with its own size. */
  const older = {
    eventId: types.Uuid.random().toString(),
    receivedAt: new Date(Date.UTC(2026, 0, 10, 22, 30, 0)),
    bucket: new Date(Date.UTC(2026, 0, 10, 22)),
  };

  beforeAll(async () => {
    app = await startApp();
    // The app creates the schema at start-up; wait until it answers ready.
    await eventually('readiness', async () => {
      const res = await request(app.getHttpServer()).get('/health/ready');
      return res.status === 200 ? true : undefined;
    });
    const sources = await request(app.getHttpServer()).get('/api/v1/sources').set(AUTH).expect(200);
    bucketMs = (sources.body.sources as { name: string; bucketSeconds: number }[]).find((s) => s.name === source)!.bucketSeconds * 1000;
    db = await cassandra();
    for (const day of ['2026-01-10', '2026-01-11']) {
      const listed = await db.execute('SELECT bucket FROM event_buckets WHERE source = ? AND day = ?', [source, day], { prepare: true });
      for (const { bucket } of listed.rows) {
        await db.execute('DELETE FROM events_by_bucket WHERE source = ? AND bucket = ?', [source, bucket], { prepare: true });
      }
      await db.execute('DELETE FROM event_buckets WHERE source = ? AND day = ?', [source, day], { prepare: true });
      await db.execute('DELETE FROM event_counts_by_minute WHERE source = ? AND day = ?', [source, day], { prepare: true });
    }
    // As the streaming job writes them: each bucket listed in the index of its day, then its rows.
    const stored = [...rows.map((r) => ({ ...r, bucket: bucketOf(r.receivedAt), seconds: bucketMs / 1000 })), { ...older, seconds: 3600 }];
    for (const r of stored) {
      await db.execute(
        'INSERT INTO event_buckets (source, day, bucket, bucket_seconds) VALUES (?, ?, ?, ?)',
        [source, r.bucket.toISOString().slice(0, 10), r.bucket, r.seconds],
        { prepare: true },
      );
      await db.execute(
        'INSERT INTO events_by_bucket (source, bucket, received_at, event_id, key, payload, processed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [source, r.bucket, r.receivedAt, r.eventId, null, JSON.stringify({ n: r.eventId }), new Date()],
        { prepare: true },
      );
    }
    // The counts the streaming job would write for those rows: six per minute, one in the last.
    const minutes: [string, number][] = [
      ['2026-01-10T23:58:00Z', 6],
      ['2026-01-10T23:59:00Z', 6],
      ['2026-01-11T00:00:00Z', 6],
      ['2026-01-11T00:01:00Z', 6],
      ['2026-01-11T00:02:00Z', 1],
    ];
    for (const [minute, count] of minutes) {
      await db.execute(
        'INSERT INTO event_counts_by_minute (source, day, minute, count) VALUES (?, ?, ?, ?)',
        [source, minute.slice(0, 10), new Date(minute), types.Long.fromNumber(count)],
        { prepare: true },
      );
    }
  });
  afterAll(async () => {
    await db?.shutdown();
    await app?.close();
  });

  const get = (path: string) => request(app.getHttpServer()).get(path).set(AUTH);

  it('stores the test rows in several buckets of each day', () => {
    const buckets = (day: string) => new Set(rows.filter((r) => r.receivedAt.toISOString().startsWith(day)).map((r) => bucketOf(r.receivedAt).getTime()));
    expect(buckets('2026-01-10').size).toBeGreaterThanOrEqual(2);
    expect(buckets('2026-01-11').size).toBeGreaterThanOrEqual(2);
  });

  it('returns every row exactly once across pages, newest first, across buckets and the day boundary', async () => {
    const seen: { eventId: string; receivedAt: string }[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ from, to, limit: '4', ...(token ? { pageToken: token } : {}) });
      const res = await get(`/api/v1/records/${source}?${query}`).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(4);
      seen.push(...res.body.items);
      token = res.body.nextPageToken;
      pages++;
    } while (token && pages < 50);

    expect(seen.map((r) => r.eventId)).toEqual([...rows].reverse().map((r) => r.eventId));
    expect(new Set(seen.map((r) => r.eventId)).size).toBe(rows.length);
    expect(pages).toBeGreaterThanOrEqual(7);
    expect(seen[0]).toMatchObject({ source, payload: { n: rows[rows.length - 1].eventId } });
  });

  it("reads a bucket of another size the index lists (the source's bucket changed), in its place newest first", async () => {
    const wider = new Date(Date.UTC(2026, 0, 10, 22, 0, 0)).toISOString();
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ from: wider, to, limit: '7', ...(token ? { pageToken: token } : {}) });
      const res = await get(`/api/v1/records/${source}?${query}`).expect(200);
      seen.push(...res.body.items.map((r: { eventId: string }) => r.eventId));
      token = res.body.nextPageToken;
    } while (token && seen.length < 100);

    expect(seen).toEqual([...[...rows].reverse().map((r) => r.eventId), older.eventId]);
  });

  it('filters by the time range', async () => {
    const res = await get(`/api/v1/records/${source}?from=2026-01-11T00:00:00Z&to=${encodeURIComponent(to)}&limit=100`).expect(200);
    expect(res.body.items.map((r: { receivedAt: string }) => r.receivedAt.slice(0, 10))).toEqual(Array(13).fill('2026-01-11'));
    expect(res.body.nextPageToken).toBeUndefined();
  });

  it('sums per-minute counts across days in time order', async () => {
    const res = await get(`/api/v1/stats/${source}?from=${from}&to=${to}`).expect(200);
    expect(res.body.total).toBe(25);
    expect(res.body.minutes.map((m: { count: number }) => m.count)).toEqual([6, 6, 6, 6, 1]);
    expect(res.body.minutes[0].minute).toBe('2026-01-10T23:58:00.000Z');
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=abc', /limit/],
    ['from=yesterday', /from must be a real calendar date/],
    ['from=2026-02-30', /from must be a real calendar date/],
    ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', /earlier/],
    ['from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', /more than 31 days/],
    ['pageToken=garbage', /pageToken/],
    ['color=red', /color/],
  ])('answers 400 for %s', async (query, message) => {
    const res = await get(`/api/v1/records/${source}?${query}`).expect(400);
    expect(res.body.message).toMatch(message);
  });

  it('refuses a forged page token with 400 naming pageToken, before Cassandra sees its paging state', async () => {
    const cursor = { v: 2, s: source, f: Date.parse(from), t: Date.parse(to), d: '2026-01-11', b: Date.parse('2026-01-11T00:00:00Z'), p: 'garbage' };
    const forged = Buffer.from(JSON.stringify(cursor)).toString('base64url');
    const res = await get(`/api/v1/records/${source}?from=${from}&to=${to}&pageToken=${forged}`).expect(400);
    expect(res.body).toMatchObject({ message: expect.stringMatching(/^pageToken is not valid/), details: [{ field: 'pageToken' }] });
  });

  it('refuses a page token used for another source', async () => {
    const first = await get(`/api/v1/records/${source}?from=${from}&to=${to}&limit=2`).expect(200);
    const res = await get(`/api/v1/records/users?pageToken=${first.body.nextPageToken}`).expect(400);
    expect(res.body.message).toMatch(/different query/);
  });

  it('answers 404 for an unknown source', async () => {
    await get('/api/v1/records/nope').expect(404);
    await get('/api/v1/stats/nope').expect(404);
  });
});
