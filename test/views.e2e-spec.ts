import { INestApplication } from '@nestjs/common';
import { AUTH, eventually, startApp, streamDrivers, streamJvms } from './support/harness';
import { pipelineOf } from './support/pipeline';

const FAST = { STREAMING_SUPERVISE_SECONDS: '2', STREAMING_MAX_BACKOFF_SECONDS: '8' };

interface ResultItem {
  windowStart: string;
  windowEnd: string;
  group: Record<string, string | null>;
  values: Record<string, number | null>;
}

interface ViewState {
  name: string;
  state: string;
  error?: string;
  lateEvents: number;
  updatedAt?: string;
}

/**
 * Streaming views on the real stack: defined over the API, computed by the streaming job (one Spark
 * query per view, its state in a checkpoint), read from Cassandra through GET /views/{name}/results.
 * Every view here filters on this run's marker, so events of other tests (or of earlier runs, which
 * the topic still holds: a new view reads it from its earliest offset) never reach its results.
 */
describe('streaming views', () => {
  let app: INestApplication;
  let flow: ReturnType<typeof pipelineOf>;
  const run = `views-${Date.now()}`;
  const created: string[] = [];
  const CURRENCIES = ['EUR', 'USD', 'GBP'];

  const order = (i: number, extra: object = {}) => ({
    order_id: `${run}-${i}`,
    amount: (i % 7) + 0.25,
    currency: CURRENCIES[i % 3],
    run,
    ...extra,
  });

  async function createView(definition: Record<string, unknown>): Promise<void> {
    const name = `${definition.name as string}`;
    await flow
      .api()
      .post('/api/v1/views')
      .set(AUTH)
      .send({ source: 'orders', filter: [{ field: '/run', op: '=', value: run }], ...definition })
      .expect(201);
    created.push(name);
  }

  /**
   * Deletes a view a test is done with: each view is a streaming query of its own on the job's two
   * cores, and the ones left running would slow the next tests' views (afterAll deletes what a failed
   * test left).
   */
  async function dropView(name: string): Promise<void> {
    await flow.api().delete(`/api/v1/views/${name}`).set(AUTH).expect(204);
    created.splice(created.indexOf(name), 1);
  }

  const viewState = async (name: string) => (await flow.api().get(`/api/v1/views/${name}`).set(AUTH).expect(200)).body as ViewState;

  async function results(name: string): Promise<ResultItem[]> {
    const items: ResultItem[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ limit: '1000' });
      if (token) query.set('pageToken', token);
      const res = await flow.api().get(`/api/v1/views/${name}/results?${query}`).set(AUTH).expect(200);
      items.push(...(res.body.items as ResultItem[]));
      token = res.body.nextPageToken;
    } while (token);
    return items;
  }

  /** count and sum of /amount per currency over every window, from the view's results. */
  async function totals(name: string): Promise<Record<string, { count: number; sum: number }>> {
    return sumByCurrency(await results(name));
  }

  function sumByCurrency(items: ResultItem[]): Record<string, { count: number; sum: number }> {
    const out: Record<string, { count: number; sum: number }> = {};
    for (const item of items) {
      const currency = item.group['/currency'] ?? 'none';
      out[currency] ??= { count: 0, sum: 0 };
      out[currency].count += item.values.count ?? 0;
      out[currency].sum += item.values.revenue ?? 0;
    }
    return out;
  }

  function expected(orders: { amount: number; currency: string }[]) {
    const out: Record<string, { count: number; sum: number }> = {};
    for (const o of orders) {
      out[o.currency] ??= { count: 0, sum: 0 };
      out[o.currency].count += 1;
      out[o.currency].sum += o.amount;
    }
    return out;
  }

  /** Waits until the view's totals are exactly `want` (any other value meanwhile is a partial view). */
  const totalsBecome = (name: string, want: Record<string, { count: number; sum: number }>, timeoutMs = 180_000) =>
    eventually(
      `view ${name} to hold ${JSON.stringify(want)}`,
      async () => {
        const got = await totals(name);
        return JSON.stringify(sorted(got)) === JSON.stringify(sorted(want)) ? got : undefined;
      },
      timeoutMs,
      1000,
    );

  beforeAll(async () => {
    app = await startApp(FAST);
    flow = pipelineOf(app.getHttpServer());
    await flow.api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    await flow.streamIn(['running'], 240_000);
  }, 300_000);

  afterAll(async () => {
    for (const name of created) await flow.api().delete(`/api/v1/views/${name}`).set(AUTH);
    await app?.close();
  });

  it('refuses an invalid definition with a 400 at each wrong field, before Spark sees it', async () => {
    const res = await flow
      .api()
      .post('/api/v1/views')
      .set(AUTH)
      .send({
        name: `${run.replace(/-/g, '_')}_bad`,
        source: 'orders',
        window: '7m',
        groupBy: ['/currency'],
        aggregates: [
          { fn: 'median', field: '/amount' },
          { fn: 'sum', field: '/currency' },
        ],
      })
      .expect(400);
    const fields = (res.body.details as { field: string }[]).map((d) => d.field.replace(/^\//, ''));
    expect(fields).toEqual(expect.arrayContaining(['window', 'aggregates/0/fn', 'aggregates/1/field']));
  });

  it('counts and sums 200 orders per currency exactly, and still exactly after the driver is SIGKILLed and restarted', async () => {
    const name = `revenue_${Date.now()}`;
    await createView({
      name,
      window: '1m',
      groupBy: ['/currency'],
      aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }],
    });
    const orders = Array.from({ length: 200 }, (_, i) => order(i));
    for (let i = 0; i < orders.length; i += 20) await flow.ingest('orders', orders.slice(i, i + 20));
    await totalsBecome(name, expected(orders));
    expect(['running', 'backfilling']).toContain((await viewState(name)).state);

    // The same definition previewed over the stored events: the same values, and nothing created.
    const definition = {
      name: `${name}_preview`,
      source: 'orders',
      filter: [{ field: '/run', op: '=', value: run }],
      window: '1m',
      groupBy: ['/currency'],
      aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }],
    };
    await eventually(
      'the preview over the stored orders to match',
      async () => {
        const res = await flow.api().post('/api/v1/views/preview').set(AUTH).send({ definition }).expect(200);
        return JSON.stringify(sorted(sumByCurrency(res.body.items as ResultItem[]))) === JSON.stringify(sorted(expected(orders))) ? true : undefined;
      },
      120_000,
      1000,
    );
    await flow.api().get(`/api/v1/views/${name}_preview`).set(AUTH).expect(404);

    const before = await flow.streaming();
    for (const pid of [...streamDrivers(), ...streamJvms()]) process.kill(pid, 'SIGKILL');
    await eventually(
      'a new copy of the stream running',
      async () => {
        const s = await flow.streaming();
        return s.state === 'running' && s.runId !== before.runId ? s : undefined;
      },
      240_000,
      1000,
    );
    const more = Array.from({ length: 30 }, (_, i) => order(1000 + i));
    await flow.ingest('orders', more);
    // The restarted query resumes from its checkpoint: the 200 are not counted again.
    await totalsBecome(name, expected([...orders, ...more]));
    await new Promise((r) => setTimeout(r, 5000));
    expect(sorted(await totals(name))).toEqual(sorted(expected([...orders, ...more])));
    expect(streamDrivers()).toHaveLength(1);
    await dropView(name);
  }, 600_000);

  it('a view created after its events were stored includes them (backfill), then goes on live', async () => {
    const since = Date.now();
    const orders = Array.from({ length: 30 }, (_, i) => order(2000 + i));
    const ids = await flow.ingest('orders', orders);
    await flow.expectStored('orders', ids, since, { counts: false });
    const name = `backfilled_${Date.now()}`;
    await createView({
      name,
      window: '1h',
      groupBy: ['/currency'],
      filter: [
        { field: '/run', op: '=', value: run },
        { field: '/order_id', op: 'in', value: orders.map((o) => o.order_id).concat(`${run}-live`) },
      ],
      aggregates: [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }],
    });
    await totalsBecome(name, expected(orders));
    const live = { order_id: `${run}-live`, amount: 3, currency: 'EUR', run };
    await flow.ingest('orders', [live]);
    await totalsBecome(name, expected([...orders, live]));
    const state = await eventually(
      `view ${name} running`,
      async () => {
        const s = await viewState(name);
        return s.state === 'running' ? s : undefined;
      },
      60_000,
      1000,
    );
    expect(state.updatedAt).toBeDefined();
    await dropView(name);
  }, 300_000);

  it('a view redefined with PUT is computed afresh under its new definition, and the old results are not shown', async () => {
    const since = Date.now();
    const orders = Array.from({ length: 30 }, (_, i) => order(6000 + i));
    await flow.expectStored('orders', await flow.ingest('orders', orders), since, { counts: false });
    const name = `redefined_${Date.now()}`;
    const mine = { field: '/order_id', op: 'in', value: orders.map((o) => o.order_id) };
    const aggregates = [{ fn: 'count' }, { fn: 'sum', field: '/amount', as: 'revenue' }];
    await createView({ name, window: '1h', groupBy: ['/currency'], filter: [{ field: '/run', op: '=', value: run }, mine], aggregates });
    await totalsBecome(name, expected(orders));
    const before = await flow.api().get(`/api/v1/views/${name}`).set(AUTH).expect(200);

    const put = await flow
      .api()
      .put(`/api/v1/views/${name}`)
      .set(AUTH)
      .set('If-Match', before.headers.etag)
      .send({
        name,
        source: 'orders',
        window: '1h',
        groupBy: ['/currency'],
        filter: [{ field: '/run', op: '=', value: run }, mine, { field: '/currency', op: '=', value: 'EUR' }],
        aggregates,
      })
      .expect(200);

    expect(put.body.id).not.toBe(before.body.id);
    await totalsBecome(name, expected(orders.filter((o) => o.currency === 'EUR')));
    // The ETag read before the change no longer applies.
    await flow.api().put(`/api/v1/views/${name}`).set(AUTH).set('If-Match', before.headers.etag).send(put.body.definition).expect(412);
    await dropView(name);
  }, 300_000);

  it('an event later than the lateness leaves its window unchanged and counts in lateEvents', async () => {
    const name = `late_${Date.now()}`;
    await createView({
      name,
      window: '1m',
      timeField: '/placedAt',
      lateness: '1m',
      filter: [
        { field: '/run', op: '=', value: run },
        { field: '/placedAt', op: 'exists' },
      ],
      aggregates: [{ fn: 'count' }],
    });
    const now = Date.now();
    await flow.ingest('orders', [order(3000, { placedAt: new Date(now).toISOString() })]);
    await eventually(`view ${name} to count the on-time event`, async () => ((await results(name)).length === 1 ? true : undefined), 180_000, 1000);
    // An hour older than the watermark (the on-time event's time minus a minute).
    await flow.ingest('orders', [order(3001, { placedAt: new Date(now - 3_600_000).toISOString() })]);
    const state = await eventually(
      `view ${name} to report a late event`,
      async () => {
        const s = await viewState(name);
        return s.lateEvents >= 1 ? s : undefined;
      },
      120_000,
      1000,
    );
    expect(state.lateEvents).toBe(1);
    const items = await results(name);
    expect(items).toHaveLength(1);
    expect(items[0].values).toEqual({ count: 1 });
    expect(Date.parse(items[0].windowStart)).toBe(Math.floor(now / 60_000) * 60_000);
    await dropView(name);
  }, 300_000);

  it('a view that fails at run time shows failed with the error, while raw events and the other views go on', async () => {
    const failing = `failing_${Date.now()}`;
    const healthy = `healthy_${Date.now()}`;
    const marker = `${run}-fail`;
    const filter = [{ field: '/run', op: '=', value: marker }];
    // A group value over Cassandra's 64 KiB limit for a clustering key: the view's write fails.
    await createView({ name: failing, window: '1m', groupBy: ['/note'], filter, aggregates: [{ fn: 'count' }] });
    await createView({ name: healthy, window: '1m', filter, aggregates: [{ fn: 'count' }] });
    const since = Date.now();
    const first = await flow.ingest('orders', [{ order_id: `${marker}-1`, amount: 1, currency: 'EUR', run: marker, note: 'x'.repeat(70_000) }]);
    const state = await eventually(
      `view ${failing} failed`,
      async () => {
        const s = await viewState(failing);
        return s.state === 'failed' ? s : undefined;
      },
      180_000,
      1000,
    );
    expect(state.error).toBeTruthy();
    const second = await flow.ingest('orders', [{ order_id: `${marker}-2`, amount: 1, currency: 'EUR', run: marker }]);
    await flow.expectStored('orders', [...first, ...second], since, { counts: false });
    await eventually(
      `view ${healthy} to count both events`,
      async () => ((await results(healthy)).reduce((n, i) => n + (i.values.count ?? 0), 0) === 2 ? true : undefined),
      120_000,
      1000,
    );
    expect((await viewState(failing)).state).toBe('failed');
    await dropView(failing);
    await dropView(healthy);
  }, 300_000);

  it('GET /stats counts every stored event once with the minute counts kept by the built-in view (minute_counts: view)', async () => {
    const restart = async (args: Record<string, string>) => {
      const before = await flow.streaming();
      await flow.api().post('/api/v1/streaming/stop').set(AUTH).expect(200);
      await flow.streamIn(['stopped'], 120_000);
      await flow.api().post('/api/v1/streaming/start').set(AUTH).send({ args }).expect(200);
      await eventually(
        'the stream running again',
        async () => {
          const s = await flow.streaming();
          return s.state === 'running' && s.runId !== before.runId ? s : undefined;
        },
        240_000,
        1000,
      );
    };
    await restart({ minute_counts: 'view' });
    try {
      const batch = await flow
        .api()
        .get(`/api/v1/batches/${(await flow.streaming()).batchId}`)
        .set(AUTH)
        .expect(200);
      expect(batch.body.args.join(' ')).toContain('--minute-counts view');
      const since = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++)
        ids.push(
          ...(await flow.ingest(
            'orders',
            Array.from({ length: 10 }, (_, j) => order(4000 + i * 10 + j)),
          )),
        );
      // Stored once each, and GET /stats's total over the range equals the rows GET /records lists.
      await flow.expectStored('orders', ids, since);
    } finally {
      await restart({});
    }
  }, 600_000);
});

function sorted<T>(record: Record<string, T>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}
