import { ChildProcess } from 'node:child_process';
import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { Client } from 'cassandra-driver';
import { API_KEY, AUTH, cassandra, eventually, spawnApi, startApp } from './support/harness';

const headers = { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' };

describe('schedules over REST, fired exactly once across replicas', () => {
  let app: INestApplication;
  let db: Client;
  const replicas: ChildProcess[] = [];
  const api = () => request(app.getHttpServer());
  const create = (body: object) => api().post('/api/v1/schedules').set(AUTH).send(body);

  beforeAll(async () => {
    app = await startApp({ SCHEDULES_SYNC_SECONDS: '2' });
    db = await cassandra();
    await eventually('readiness', async () => ((await api().get('/health/ready')).status === 200 ? true : undefined), 180_000);
  }, 240_000);

  afterAll(async () => {
    for (const r of replicas) r.kill('SIGTERM');
    await db?.shutdown();
    await app?.close();
  });

  it.each([
    [{ name: 'x', cron: 'every minute', target: { kind: 'dag', name: 'user_profiles_ingest' } }, /cron "every minute" is not valid/],
    [{ name: 'x', cron: '* * * * *', timezone: 'Mars/Olympus', target: { kind: 'dag', name: 'user_profiles_ingest' } }, /timezone "Mars\/Olympus"/],
    [{ name: 'x', cron: '* * * * *', target: { kind: 'dag', name: 'no_such_dag' } }, /DAG "no_such_dag" does not exist/],
    [{ name: 'x', cron: '* * * * *', target: { kind: 'job', name: 'no_such_job' } }, /Unknown job "no_such_job"/],
    [{ name: 'x', cron: '* * * * *', target: { kind: 'job', name: 'daily_rollup', args: { day: 'x' } } }, /\/day/],
    [{ name: 'x', cron: '* * * * *', target: { kind: 'queue', name: 'x' } }, /kind/],
  ])('refuses an invalid schedule (%#) with 400 naming the problem', async (body, message) => {
    const res = await create(body).expect(400);
    expect(res.body.message).toMatch(message);
  });

  it('creates, reads, changes and deletes a schedule; a 6-field cron fires and records each run', async () => {
    const created = await create({
      name: 'e2e every 5 s',
      cron: '*/5 * * * * *',
      target: { kind: 'dag', name: 'user_profiles_ingest', conf: { count: 1 } },
    }).expect(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ enabled: true, timezone: 'UTC', nextFireAt: expect.any(String), target: { kind: 'dag', conf: { count: 1 } } });

    const runs = await eventually(
      'two fires recorded',
      async () => {
        const res = await api().get(`/api/v1/schedules/${id}/runs`).set(AUTH).expect(200);
        return res.body.runs.length >= 2 ? res.body.runs : undefined;
      },
      60_000,
    );
    for (const run of runs) {
      expect(run).toMatchObject({ status: 'triggered', runRef: expect.stringMatching(/^schedule__/) });
      await api()
        .get(`/api/v1/dags/user_profiles_ingest/runs/${encodeURIComponent(run.runRef)}`)
        .set(AUTH)
        .expect(200);
    }

    const disabled = await api().patch(`/api/v1/schedules/${id}`).set(AUTH).send({ enabled: false }).expect(200);
    expect(disabled.body.enabled).toBe(false);
    expect(disabled.body.nextFireAt).toBeUndefined();
    await api().get(`/api/v1/schedules/${id}`).set(AUTH).expect(200);
    await api().delete(`/api/v1/schedules/${id}`).set(AUTH).expect(204);
    await api().get(`/api/v1/schedules/${id}`).set(AUTH).expect(404);
  });

  it('two API processes on the same Cassandra fire a schedule once per fire time, not twice', async () => {
    // Two more API processes beside this test's own app: three replicas on one Cassandra.
    const started = [await spawnApi({ SCHEDULES_SYNC_SECONDS: '1' }), await spawnApi({ SCHEDULES_SYNC_SECONDS: '1' })];
    replicas.push(...started.map((r) => r.process));
    const a = started[0].url;
    const res = await fetch(`${a}/api/v1/schedules`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'e2e replicas', cron: '*/2 * * * * *', target: { kind: 'dag', name: 'user_profiles_ingest', conf: { count: 1 } } }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };

    // Let every replica pick the schedule up and fire it several times.
    await new Promise((r) => setTimeout(r, 12_000));
    await fetch(`${a}/api/v1/schedules/${id}`, { method: 'PATCH', headers, body: JSON.stringify({ enabled: false }) });
    await new Promise((r) => setTimeout(r, 3_000));

    const runs = (await (await fetch(`${a}/api/v1/schedules/${id}/runs?limit=1000`, { headers })).json()) as {
      runs: { fireTime: string; status: string; holder: string }[];
    };
    expect(runs.runs.length).toBeGreaterThanOrEqual(3);
    expect(runs.runs.every((r) => r.status === 'triggered')).toBe(true);
    // One lease per fire time, and exactly one Airflow run per fire time.
    const leases = await db.execute('SELECT name, holder FROM leases');
    const mine = leases.rows.filter((r) => String(r.name).startsWith(`schedule:${id}:`));
    expect(mine.length).toBe(runs.runs.length);
    const dagRuns = await api().get('/api/v1/dags/user_profiles_ingest/runs?limit=1000').set(AUTH).expect(200);
    const fired = dagRuns.body.runs.filter((r: { conf: { scheduleId?: string } }) => r.conf.scheduleId === id);
    expect(fired.length).toBe(runs.runs.length);
    expect(new Set(fired.map((r: { conf: { fireTime: string } }) => r.conf.fireTime)).size).toBe(fired.length);
    await fetch(`${a}/api/v1/schedules/${id}`, { method: 'DELETE', headers });
  });
});
