import { INestApplication } from '@nestjs/common';
import { Client } from 'cassandra-driver';
import { AUTH, cassandra, eventually, startApp } from './support/harness';
import { pipelineOf } from './support/pipeline';

const MINUTE = 60_000;

/**
 * The pipeline end to end: POST /ingest → Kafka → the Spark streaming job (submitted through Livy)
 * → Cassandra → GET /records and /stats.
 */
describe('the streaming job through Livy, from POST /ingest to GET /records', () => {
  let app: INestApplication;
  let db: Client;
  let wasRunning = false;
  let flow: ReturnType<typeof pipelineOf>;
  const api = () => flow.api();
  const ingest = (source: string, events: object[]) => flow.ingest(source, events);
  const expectStored = (source: string, ids: string[], since: number) => flow.expectStored(source, ids, since);

  async function waitForBatch(id: string, done: (state: string) => boolean, timeoutMs = 180_000): Promise<{ state: string }> {
    return eventually(
      `batch ${id} to finish`,
      async () => {
        const res = await api().get(`/api/v1/batches/${id}`).set(AUTH).expect(200);
        return done(res.body.state) ? res.body : undefined;
      },
      timeoutMs,
      1000,
    );
  }

  beforeAll(async () => {
    app = await startApp();
    flow = pipelineOf(app.getHttpServer());
    db = await cassandra();
    await eventually('readiness', async () => ((await api().get('/health/ready')).status === 200 ? true : undefined), 120_000);
    wasRunning = (await api().get('/api/v1/streaming').set(AUTH).expect(200)).body.running;
    const started = await api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    expect(started.body.running).toBe(true);
    expect(started.body.topics).toEqual(expect.arrayContaining(['users_created', 'ingest.orders', 'ingest.clicks']));
    await flow.streamIn(['running', 'running-unmanaged']);
  }, 240_000);

  afterAll(async () => {
    if (!wasRunning) await api().post('/api/v1/streaming/stop').set(AUTH);
    await db?.shutdown();
    await app?.close();
  });

  it('starting again is idempotent: the same batch, never a second copy', async () => {
    const first = await api().get('/api/v1/streaming').set(AUTH).expect(200);
    const again = await api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    expect(again.body.batchId).toBe(first.body.batchId);
    const live = (await api().get('/api/v1/batches').set(AUTH).expect(200)).body.batches.filter(
      (b: { job?: string; state: string }) => b.job === 'events_stream' && ['starting', 'running', 'not_started'].includes(b.state),
    );
    expect(live.length).toBeLessThanOrEqual(1);
  });

  it('refuses to submit the streaming job as a batch (409), pointing to /streaming/start', async () => {
    const res = await api().post('/api/v1/jobs/events_stream/batches').set(AUTH).send({}).expect(409);
    expect(res.body.message).toMatch(/\/api\/v1\/streaming\/start/);
  });

  it('stores every ingested event exactly once and counts it per minute', async () => {
    const since = Date.now();
    const clicks = await ingest(
      'clicks',
      Array.from({ length: 60 }, (_, i) => ({ page: `/p/${i}` })),
    );
    const orders = await ingest(
      'orders',
      Array.from({ length: 15 }, (_, i) => ({ order_id: `e2e-${since}-${i}`, amount: i, currency: 'EUR' })),
    );
    await expectStored('clicks', clicks, since);
    await expectStored('orders', orders, since);

    const res = await api()
      .get(`/api/v1/records/orders?from=${new Date(since - MINUTE).toISOString()}&limit=1000`)
      .set(AUTH)
      .expect(200);
    const one = res.body.items.find((r: { eventId: string }) => r.eventId === orders[3]);
    expect(one).toMatchObject({ source: 'orders', key: `e2e-${since}-3`, payload: { order_id: `e2e-${since}-3`, amount: 3, currency: 'EUR' } });
    expect(Date.parse(one.processedAt)).toBeGreaterThanOrEqual(Date.parse(one.receivedAt));
  });

  it('records each micro-batch in Cassandra, kept 7 days: GET /streaming/micro-batches lists those that stored the events, newest first', async () => {
    const since = Date.now();
    const clicks = await ingest(
      'clicks',
      Array.from({ length: 30 }, (_, i) => ({ page: `/mb/${i}` })),
    );
    await expectStored('clicks', clicks, since);
    const stream = (await api().get('/api/v1/streaming').set(AUTH).expect(200)).body;

    type MicroBatch = { epoch: number; at: string; rows: number; durationMs: number; batchId?: string };
    const page = await eventually(
      'the micro-batches that stored the events',
      async () => {
        const body = (await api().get('/api/v1/streaming/micro-batches?limit=200').set(AUTH).expect(200)).body as {
          batchId?: string;
          microBatches: MicroBatch[];
        };
        const recent = body.microBatches.filter((b) => Date.parse(b.at) >= since);
        return recent.reduce((n, b) => n + b.rows, 0) >= clicks.length ? body : undefined;
      },
      60_000,
      1000,
    );

    const ends = page.microBatches.map((b) => Date.parse(b.at));
    expect(ends).toEqual([...ends].sort((a, b) => b - a));
    expect(page.batchId).toBe(stream.batchId);
    expect(page.microBatches[0]).toMatchObject({ batchId: stream.batchId, durationMs: expect.any(Number) });
    const day = new Date(page.microBatches[0].at).toISOString().slice(0, 10);
    const { rows } = await db.execute(
      'SELECT epoch, TTL(run_id) AS ttl FROM stream_micro_batches WHERE stream = ? AND day = ? LIMIT 1',
      ['events_stream', day],
      {
        prepare: true,
      },
    );
    expect(Number(rows[0].epoch)).toBe(page.microBatches[0].epoch);
    expect(rows[0].ttl).toBeGreaterThan(7 * 86_400 - 300);
    expect(rows[0].ttl).toBeLessThanOrEqual(7 * 86_400);
  });

  it('projects events of source users into created_users', async () => {
    const since = Date.now();
    const ids = await ingest('users', [
      { first_name: 'Ada', last_name: 'Lovelace', email: `ada-${since}@example.com`, gender: 'female' },
      { name: 'Grace Brewster Hopper', email: `grace-${since}@example.com` },
    ]);
    await expectStored('users', ids, since);
    const rows = await eventually('users in created_users', async () => {
      const rs = await db.execute('SELECT id, first_name, last_name, email, gender FROM created_users WHERE id IN ?', [ids], { prepare: true });
      return rs.rows.length === 2 ? rs.rows : undefined;
    });
    const byId = new Map(rows.map((r) => [r.id.toString(), r]));
    expect(byId.get(ids[0])).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace', gender: 'female' });
    expect(byId.get(ids[1])).toMatchObject({ first_name: 'Grace', last_name: 'Brewster Hopper', email: `grace-${since}@example.com` });
  });

  it('loses and duplicates nothing when the job is stopped and started while events keep arriving', async () => {
    const since = Date.now();
    const ids: string[] = [];
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        ids.push(...(await ingest('clicks', [{ during: 'restart', i }])));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    const stopped = await api().post('/api/v1/streaming/stop').set(AUTH).expect(200);
    expect(stopped.body).toMatchObject({ state: 'stopped', running: false });
    await new Promise((r) => setTimeout(r, 3000));
    const restarted = await api().post('/api/v1/streaming/start').set(AUTH).expect(200);
    expect(restarted.body.running).toBe(true);
    expect(restarted.body.batchId).not.toBe(stopped.body.batchId);
    await new Promise((r) => setTimeout(r, 3000));
    sending = false;
    await sender;
    expect(ids.length).toBeGreaterThan(30);
    await expectStored('clicks', ids, since);
  });

  it('runs the batch job to success through Livy, with a readable log', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const submitted = await api()
      .post('/api/v1/jobs/daily_rollup/batches')
      .set(AUTH)
      .send({ args: { day, sources: ['clicks', 'orders'] } })
      .expect(201);
    expect(submitted.body).toMatchObject({ job: 'daily_rollup', args: expect.arrayContaining(['--day', day]) });
    const done = await waitForBatch(submitted.body.id, (s) => ['success', 'dead', 'killed', 'error'].includes(s));
    expect(done).toMatchObject({ state: 'success', submittedAt: expect.any(String), finishedAt: expect.any(String) });
    const log = await api().get(`/api/v1/batches/${submitted.body.id}/log?from=0&size=1000`).set(AUTH).expect(200);
    expect(log.body.lines.join('\n')).toMatch(/rollup source=clicks/);
  });

  it('kills a running batch: it ends killed, and stays listed', async () => {
    const submitted = await api()
      .post('/api/v1/jobs/daily_rollup/batches')
      .set(AUTH)
      .send({ args: { day: '2026-01-01', sources: ['clicks'] } })
      .expect(201);
    await waitForBatch(submitted.body.id, (s) => s === 'running', 60_000);
    const killed = await api().delete(`/api/v1/batches/${submitted.body.id}`).set(AUTH).expect(200);
    expect(killed.body.state).toBe('killed');
    const after = await api().get(`/api/v1/batches/${submitted.body.id}`).set(AUTH).expect(200);
    expect(['killed', 'dead']).toContain(after.body.state);
    const listed = (await api().get('/api/v1/batches').set(AUTH).expect(200)).body.batches.map((b: { id: string }) => b.id);
    expect(listed).toContain(submitted.body.id);
  });

  it('refuses Spark settings the job does not allow with 400 naming the key, and submits nothing to Livy', async () => {
    const listed = async () => (await api().get('/api/v1/batches').set(AUTH).expect(200)).body.batches.map((b: { id: string }) => b.id).sort();
    const before = await listed();
    const args = { day: '2026-01-01', sources: ['clicks'] };

    const jvm = await api()
      .post('/api/v1/jobs/daily_rollup/batches')
      .set(AUTH)
      .send({ args, conf: { 'spark.driver.extraJavaOptions': '-XX:OnOutOfMemoryError=touch /tmp/pwned' } })
      .expect(400);
    expect(jvm.body.message).toContain('conf.spark.driver.extraJavaOptions');
    expect(jvm.body.details).toEqual([{ field: 'conf.spark.driver.extraJavaOptions', message: expect.stringContaining('is never accepted') }]);
    const packages = await api()
      .post('/api/v1/jobs/daily_rollup/batches')
      .set(AUTH)
      .send({ args, conf: { 'spark.jars.packages': 'evil:evil:1' } })
      .expect(400);
    expect(packages.body.details).toEqual([{ field: 'conf.spark.jars.packages', message: expect.stringContaining('is never accepted') }]);

    expect(await listed()).toEqual(before);
  });

  it('refuses an unknown job with 404 and bad args with 400 naming the field', async () => {
    const unknown = await api().post('/api/v1/jobs/nope/batches').set(AUTH).send({}).expect(404);
    expect(unknown.body.message).toMatch(/daily_rollup/);
    const bad = await api()
      .post('/api/v1/jobs/daily_rollup/batches')
      .set(AUTH)
      .send({ args: { day: 'yesterday' } })
      .expect(400);
    expect(bad.body.message).toMatch(/\/day/);
    expect(bad.body.message).toMatch(/sources/);
    const jobs = await api().get('/api/v1/jobs').set(AUTH).expect(200);
    expect(jobs.body.jobs.map((j: { name: string }) => j.name)).toEqual(expect.arrayContaining(['events_stream', 'daily_rollup']));
  });
});
