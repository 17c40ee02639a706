import { dag, dagRun, FakeAirflow } from '../airflow/testing/fake-airflow';
import { testConfig } from '../common/testing/config';
import { rejection } from '../common/testing/rejection';
import { BadRequestError, ConflictError, NotFoundError, UpstreamUnavailableError } from '../common/errors/errors';
import { OrchestrationService } from './orchestration.service';

function setup(env: Record<string, string> = {}) {
  const airflow = new FakeAirflow();
  const service = new OrchestrationService(airflow, testConfig(env));
  return { service, airflow };
}

/** Tracks whether a promise has settled, so a test can check it has not yet. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false };
  void promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe('OrchestrationService reading DAGs', () => {
  it('lists every DAG with its newest run as lastRun, and none for a DAG that never ran', async () => {
    const { service, airflow } = setup();

    const dags = await service.listDags();

    expect(dags.map((d) => [d.dagId, d.lastRun?.runId])).toEqual([
      ['user_profiles_ingest', 'scheduled__2'],
      ['never_ran', undefined],
      ['paused_dag', undefined],
    ]);
    expect(dags[0]).toMatchObject({ schedule: '*/5 * * * *', tags: ['ingest'], lastRun: { state: 'running' } });
    expect(airflow.listRuns.mock.calls).toEqual([
      ['user_profiles_ingest', 1],
      ['never_ran', 1],
      ['paused_dag', 1],
    ]);
  });

  // LATENT BUG (fixed): GET /dags asked Airflow for every DAG's last run at once, one request per
  // DAG with no bound, so a few hundred DAGs meant a few hundred simultaneous calls to Airflow.
  it("asks for at most 8 DAGs' last runs at a time, and still gives every DAG its own, in order", async () => {
    const { service, airflow } = setup();
    const ids = Array.from({ length: 40 }, (_, i) => `dag_${String(i).padStart(2, '0')}`);
    airflow.dags = new Map(ids.map((id) => [id, dag(id)]));
    airflow.runs = new Map(ids.map((id) => [id, [dagRun(id, `old_of_${id}`, 'success'), dagRun(id, `last_of_${id}`, 'success')]]));
    const answer = airflow.listRuns.getMockImplementation()!;
    const held: (() => void)[] = [];
    let inFlight = 0;
    let most = 0;
    airflow.listRuns.mockImplementation(async (dagId, limit) => {
      most = Math.max(most, ++inFlight);
      await new Promise<void>((release) => held.push(release));
      inFlight--;
      return answer(dagId, limit);
    });

    const listing = service.listDags();
    const progress = track(listing);
    while (!progress.settled) {
      await new Promise((r) => setImmediate(r));
      // Answer the held calls newest first, so answers arrive in another order than the DAGs.
      for (const release of held.splice(0).reverse()) release();
    }
    const dags = await listing;

    expect(most).toBeLessThanOrEqual(8);
    expect(most).toBeGreaterThan(1); // bounded, not one at a time
    expect(airflow.listRuns).toHaveBeenCalledTimes(40);
    expect(dags.map((d) => [d.dagId, d.lastRun?.runId])).toEqual(ids.map((id) => [id, `last_of_${id}`]));
  });

  it('fails the listing when Airflow fails to list runs', async () => {
    const { service, airflow } = setup();
    airflow.listRuns.mockRejectedValueOnce(new UpstreamUnavailableError('Airflow', 'Airflow is unavailable'));

    await expect(service.listDags()).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });

  it('returns one DAG with its last run', async () => {
    const { service } = setup();

    await expect(service.getDag('user_profiles_ingest')).resolves.toMatchObject({ dagId: 'user_profiles_ingest', lastRun: { runId: 'scheduled__2' } });
  });

  it("leaves out where the DAG's file lives on Airflow's machine, in the listing and for one DAG", async () => {
    const { service, airflow } = setup();
    airflow.dags.get('user_profiles_ingest')!.fileloc = '/opt/airflow/dags/user_profiles_ingest.py';
    await expect(airflow.getDag('user_profiles_ingest')).resolves.toHaveProperty('fileloc');

    const [listed] = await service.listDags();
    const one = await service.getDag('user_profiles_ingest');

    expect(listed.dagId).toBe('user_profiles_ingest');
    expect(listed).not.toHaveProperty('fileloc');
    expect(one).not.toHaveProperty('fileloc');
    expect(one).toMatchObject({ schedule: '*/5 * * * *', tags: ['ingest'], isPaused: false });
  });

  it('answers 404 for an unknown DAG without asking for its runs', async () => {
    const { service, airflow } = setup();

    const err = await rejection(service.getDag('x'));

    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('DAG "x" does not exist in Airflow');
    expect(airflow.listRuns).not.toHaveBeenCalled();
  });

  it('answers 404 for an unknown run and returns a known one', async () => {
    const { service } = setup();

    await expect(service.getRun('user_profiles_ingest', 'scheduled__1')).resolves.toMatchObject({ state: 'success' });
    await expect(service.getRun('user_profiles_ingest', 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('OrchestrationService.trigger', () => {
  afterEach(() => jest.useRealTimers());

  it('without wait, returns the queued run as not finished and never polls', async () => {
    const { service, airflow } = setup();

    const result = await service.trigger('user_profiles_ingest', { conf: { count: 3 } });

    expect(result).toEqual({ run: expect.objectContaining({ runId: 'manual__1', state: 'queued', conf: { count: 3 } }), finished: false });
    expect(airflow.trigger).toHaveBeenCalledWith('user_profiles_ingest', { conf: { count: 3 } });
    expect(airflow.getDag).not.toHaveBeenCalled();
    expect(airflow.getRun).not.toHaveBeenCalled();
  });

  it('without wait, reports a run Airflow already ended as finished', async () => {
    const { service, airflow } = setup();
    airflow.trigger.mockResolvedValueOnce(dagRun('user_profiles_ingest', 'r', 'success'));

    await expect(service.trigger('user_profiles_ingest', {})).resolves.toMatchObject({ finished: true });
  });

  it('with wait, polls about once a second until the run ends, and returns it finished', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.progression = ['running', 'running', 'success'];

    const promise = service.trigger('user_profiles_ingest', { runId: 'r1' }, 30);
    const progress = track(promise);
    await jest.advanceTimersByTimeAsync(2000);
    expect(progress.settled).toBe(false);
    expect(airflow.getRun).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1000);

    await expect(promise).resolves.toEqual({ run: expect.objectContaining({ runId: 'r1', state: 'success' }), finished: true });
    expect(airflow.getRun).toHaveBeenCalledTimes(3);
    expect(airflow.getRun).toHaveBeenLastCalledWith('user_profiles_ingest', 'r1');
  });

  it('with wait, treats a failed run as finished too', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.progression = ['failed'];

    const promise = service.trigger('user_profiles_ingest', {}, 30);
    await jest.advanceTimersByTimeAsync(1000);

    await expect(promise).resolves.toMatchObject({ run: { state: 'failed' }, finished: true });
  });

  it('with wait, returns the last state seen, not finished, when the bound elapses', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.progression = ['running'];

    const promise = service.trigger('user_profiles_ingest', {}, 3);
    await jest.advanceTimersByTimeAsync(3000);

    await expect(promise).resolves.toEqual({ run: expect.objectContaining({ state: 'running' }), finished: false });
    expect(airflow.getRun).toHaveBeenCalledTimes(3);
  });

  it('keeps the last state seen when the run is gone from Airflow while waiting', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.getRun.mockRejectedValue(new NotFoundError('Run "manual__1" of DAG "user_profiles_ingest" does not exist in Airflow'));

    const promise = service.trigger('user_profiles_ingest', {}, 2);
    await jest.advanceTimersByTimeAsync(2000);

    await expect(promise).resolves.toMatchObject({ run: { runId: 'manual__1', state: 'queued' }, finished: false });
    expect(airflow.getRun).toHaveBeenCalledTimes(2);
  });

  it('fails, rather than report a stale state, when Airflow fails while waiting', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup();
    airflow.getRun.mockRejectedValueOnce(new UpstreamUnavailableError('Airflow', 'Airflow is unavailable'));

    const promise = service.trigger('user_profiles_ingest', {}, 30);
    const failure = rejection(promise);
    await jest.advanceTimersByTimeAsync(1000);

    expect(await failure).toBeInstanceOf(UpstreamUnavailableError);
  });

  it('caps the wait at AIRFLOW_WAIT_MAX_SECONDS', async () => {
    jest.useFakeTimers();
    const { service, airflow } = setup({ AIRFLOW_WAIT_MAX_SECONDS: '1' });

    const promise = service.trigger('user_profiles_ingest', {}, 600);
    const progress = track(promise);
    await jest.advanceTimersByTimeAsync(1000);

    expect(progress.settled).toBe(true);
    await expect(promise).resolves.toMatchObject({ run: { state: 'running' }, finished: false });
    expect(airflow.getRun).toHaveBeenCalledTimes(1);
  });

  it('refuses to wait on a paused DAG with 409 saying how to unpause, and triggers nothing', async () => {
    const { service, airflow } = setup();

    const err = await rejection(service.trigger('paused_dag', {}, 30));

    expect(err).toBeInstanceOf(ConflictError);
    expect(err.statusCode).toBe(409);
    expect(err.message).toContain('PATCH /api/v1/dags/paused_dag');
    expect(airflow.trigger).not.toHaveBeenCalled();
  });

  it('triggers a paused DAG when not asked to wait (Airflow queues the run)', async () => {
    const { service, airflow } = setup();

    await expect(service.trigger('paused_dag', {})).resolves.toMatchObject({ run: { state: 'queued' }, finished: false });
    expect(airflow.trigger).toHaveBeenCalledTimes(1);
  });

  it('answers 404 when asked to wait on an unknown DAG, and triggers nothing', async () => {
    const { service, airflow } = setup();

    const err = await rejection(service.trigger('x', {}, 30));

    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toBe('DAG "x" does not exist in Airflow');
    expect(airflow.trigger).not.toHaveBeenCalled();
  });

  it.each(['yesterday', '2026-13-45T00:00:00Z', '', '2026-02-30T00:00:00Z', '2026-03-01', '2026-03-01T00:00:00'])(
    'answers 400 for the logicalDate %p before calling Airflow',
    async (logicalDate) => {
      const { service, airflow } = setup();

      const err = await rejection(service.trigger('user_profiles_ingest', { logicalDate }, 30));

      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.message).toContain('logicalDate');
      expect(airflow.getDag).not.toHaveBeenCalled();
      expect(airflow.trigger).not.toHaveBeenCalled();
    },
  );

  it('passes a valid logicalDate on to Airflow', async () => {
    const { service, airflow } = setup();

    await service.trigger('user_profiles_ingest', { logicalDate: '2026-03-01T00:00:00Z' });

    expect(airflow.trigger).toHaveBeenCalledWith('user_profiles_ingest', { logicalDate: '2026-03-01T00:00:00Z' });
  });
});

describe('OrchestrationService pass-throughs', () => {
  it('pauses through Airflow and returns the changed DAG, without its file location', async () => {
    const { service, airflow } = setup();
    airflow.dags.get('user_profiles_ingest')!.fileloc = '/opt/airflow/dags/user_profiles_ingest.py';

    const paused = await service.setPaused('user_profiles_ingest', true);

    expect(paused).toMatchObject({ dagId: 'user_profiles_ingest', isPaused: true });
    expect(paused).not.toHaveProperty('fileloc');
    expect(airflow.setPaused).toHaveBeenCalledWith('user_profiles_ingest', true);
  });

  it('lists runs with the limit, and task instances, from Airflow', async () => {
    const { service, airflow } = setup();

    await expect(service.listRuns('user_profiles_ingest', 1)).resolves.toEqual([expect.objectContaining({ runId: 'scheduled__2' })]);
    await expect(service.taskInstances('user_profiles_ingest', 'scheduled__1')).resolves.toEqual([expect.objectContaining({ taskId: 'fetch_users' })]);
    expect(airflow.listRuns).toHaveBeenCalledWith('user_profiles_ingest', 1);
    expect(airflow.taskInstances).toHaveBeenCalledWith('user_profiles_ingest', 'scheduled__1');
  });

  it("passes Airflow's 404s on: a pause, the runs or the task instances of what Airflow does not know", async () => {
    const { service } = setup();

    for (const [call, message] of [
      [() => service.setPaused('x', true), 'DAG "x" does not exist in Airflow'],
      [() => service.listRuns('x', 5), 'DAG "x" does not exist in Airflow'],
      [() => service.taskInstances('user_profiles_ingest', 'nope'), 'Run "nope" of DAG "user_profiles_ingest" does not exist in Airflow'],
    ] as const) {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.message).toBe(message);
    }
  });
});
