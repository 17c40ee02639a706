import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AUTH, eventually, startApp } from './support/harness';

/** Airflow 3 driven through the control plane: DAGs, runs with conf, task instances. */
describe('orchestration through the real Airflow', () => {
  let app: INestApplication;
  const api = () => request(app.getHttpServer());
  const unpause = (dagId: string, isPaused: boolean) => api().patch(`/api/v1/dags/${dagId}`).set(AUTH).send({ isPaused }).expect(200);

  beforeAll(async () => {
    app = await startApp();
    await eventually('readiness', async () => ((await api().get('/health/ready')).status === 200 ? true : undefined), 180_000);
    await api().post('/api/v1/streaming/start').set(AUTH).expect(200);
  }, 240_000);

  afterAll(async () => {
    for (const dag of ['user_profiles_ingest', 'spark_daily_rollup']) await api().patch(`/api/v1/dags/${dag}`).set(AUTH).send({ isPaused: true });
    await app?.close();
  });

  it('lists both DAGs, paused by default, with their schedules', async () => {
    const res = await api().get('/api/v1/dags').set(AUTH).expect(200);
    const ids = res.body.dags.map((d: { dagId: string }) => d.dagId);
    expect(ids).toEqual(expect.arrayContaining(['user_profiles_ingest', 'spark_daily_rollup']));
    const one = await api().get('/api/v1/dags/user_profiles_ingest').set(AUTH).expect(200);
    expect(one.body).toMatchObject({ dagId: 'user_profiles_ingest', isPaused: expect.any(Boolean) });
  });

  it('refuses to wait on a paused DAG, naming the fix', async () => {
    await unpause('user_profiles_ingest', true);
    const res = await api().post('/api/v1/dags/user_profiles_ingest/runs?wait=true').set(AUTH).send({}).expect(409);
    expect(res.body.message).toMatch(/paused.*PATCH/);
  });

  it('runs user_profiles_ingest to success, and its users are readable through GET /records/users', async () => {
    await unpause('user_profiles_ingest', false);
    const since = Date.now();
    const res = await api()
      .post('/api/v1/dags/user_profiles_ingest/runs?wait=true&timeoutSeconds=300')
      .set(AUTH)
      .send({ conf: { count: 3 } })
      .expect(200);
    expect(res.body).toMatchObject({ dagId: 'user_profiles_ingest', state: 'success', finished: true, conf: { count: 3 } });

    const tasks = await api()
      .get(`/api/v1/dags/user_profiles_ingest/runs/${encodeURIComponent(res.body.runId)}/tasks`)
      .set(AUTH)
      .expect(200);
    expect(tasks.body.tasks.length).toBeGreaterThanOrEqual(2);
    for (const t of tasks.body.tasks) expect(t).toMatchObject({ state: 'success', tryNumber: expect.any(Number) });

    const run = await api()
      .get(`/api/v1/dags/user_profiles_ingest/runs/${encodeURIComponent(res.body.runId)}`)
      .set(AUTH)
      .expect(200);
    expect(run.body.state).toBe('success');

    await eventually(
      'the DAG run users in GET /records/users',
      async () => {
        const records = await api()
          .get(`/api/v1/records/users?from=${new Date(since - 60_000).toISOString()}&limit=1000`)
          .set(AUTH)
          .expect(200);
        const profiles = records.body.items.filter((r: { payload: { first_name?: string; email?: string } }) => r.payload.first_name && r.payload.email);
        return profiles.length >= 3 ? profiles : undefined;
      },
      120_000,
    );
  });

  it('runs spark_daily_rollup (the daily_rollup job of the control plane, through Airflow) to success', async () => {
    await unpause('spark_daily_rollup', false);
    const res = await api()
      .post('/api/v1/dags/spark_daily_rollup/runs?wait=true&timeoutSeconds=400')
      .set(AUTH)
      .send({ conf: { day: new Date().toISOString().slice(0, 10) } })
      .expect(200);
    expect(res.body).toMatchObject({ state: 'success', finished: true });
  });

  it('answers 409 for a duplicate run id, 404 for an unknown DAG, 400 for a bad body', async () => {
    const runId = `e2e-dup-${Date.now()}`;
    await api()
      .post('/api/v1/dags/spark_daily_rollup/runs')
      .set(AUTH)
      .send({ runId, conf: { day: '2026-01-01' } })
      .expect(201);
    await api().patch('/api/v1/dags/spark_daily_rollup').set(AUTH).send({ isPaused: true }).expect(200);
    const dup = await api().post('/api/v1/dags/spark_daily_rollup/runs').set(AUTH).send({ runId }).expect(409);
    expect(dup.body.statusCode).toBe(409);
    await api().get('/api/v1/dags/nope').set(AUTH).expect(404);
    await api().post('/api/v1/dags/nope/runs').set(AUTH).send({}).expect(404);
    await api().post('/api/v1/dags/spark_daily_rollup/runs').set(AUTH).send({ conf: 'x' }).expect(400);
    await api().patch('/api/v1/dags/spark_daily_rollup').set(AUTH).send({ isPaused: 'yes' }).expect(400);
  });
});
